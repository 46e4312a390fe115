"""DNS names: split a query into the registered domain and the labels left of it.

The registered domain (eTLD+1) comes from the Public Suffix List through the maintained
``publicsuffixlist`` package (vendored with the app), never from a hand-written list.
Unknown top-level domains follow the list's default rule "*" (``a.b.internal`` ->
``b.internal``). Addresses and single labels have no registered domain.
"""
import re

from publicsuffixlist import PublicSuffixList

_PSL = PublicSuffixList()
# No rule is longer than this many labels, so the registered domain only depends on the
# last _TAIL_LABELS labels of a name: the cache key (many queries share a domain).
_TAIL_LABELS = int(getattr(_PSL, "_maxlabel", 15)) + 2
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_cache = {}


class SplitName(object):
    """Parts of one DNS name: ``registered`` (str or None), ``labels`` (list of str)."""

    __slots__ = ("registered", "labels")

    def __init__(self, registered, labels):
        self.registered = registered
        self.labels = labels


def normalise(name):
    """Lower-case, surrounding whitespace and the root dot removed."""
    return name.strip().rstrip(".").lower()


def registered_domain(name):
    """The registered domain of a normalised name, or None (address, single label, suffix)."""
    if not name or ":" in name or _IPV4.match(name):
        return None
    parts = name.split(".")
    if "" in parts:
        return None
    tail = ".".join(parts[-_TAIL_LABELS:])
    try:
        return _cache[tail]
    except KeyError:
        pass
    result = _PSL.privatesuffix(tail)
    if len(_cache) < 200000:
        _cache[tail] = result
    return result


def split_name(name):
    """Split a DNS name into its registered domain and the labels left of it.

    Parameters
    ----------
    name : str
        A query name, any case, with or without the trailing root dot.

    Returns
    -------
    SplitName
        With no registered domain, ``labels`` is every label of the name (what a
        tunnel would encode data into cannot be told apart from the domain then).
    """
    name = normalise(name)
    registered = registered_domain(name)
    if registered is None:
        labels = [label for label in name.split(".") if label] if not _IPV4.match(name) else []
        return SplitName(None, labels)
    left = name[:-len(registered)].rstrip(".")
    return SplitName(registered, left.split(".") if left else [])
