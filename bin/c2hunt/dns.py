"""DNS names: split a query into the registered domain and the labels left of it.

The registered domain (eTLD+1) comes from the Public Suffix List through the maintained
``publicsuffixlist`` package (vendored with the app), never from a hand-written list.
Unknown top-level domains follow the list's default rule "*" (``a.b.internal`` ->
``b.internal``). Addresses and single labels have no registered domain.
"""
import re

import numpy as np

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


# ------------------------------------------------------------------ many names at once

# Every rule of the list with its "!" / "*." marks removed, and every label suffix of those:
# a name's public suffix only depends on its longest suffix in this set (and on whether
# labels remain left of it), so names are grouped by that suffix before asking the list.
_RULE_SUFFIXES = None
_PUBLIC_LABELS = {}
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(c) for c in " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"]] = True
_DOT = 46


def _rule_suffixes():
    global _RULE_SUFFIXES
    if _RULE_SUFFIXES is None:
        rules = getattr(_PSL, "_publicsuffix", None)
        if rules is None:
            return None
        suffixes = set()
        for rule in rules:
            rule = rule.lstrip("!")
            if rule.startswith("*."):
                rule = rule[2:]
            labels = rule.split(".")
            for start in range(len(labels)):
                suffixes.add(".".join(labels[start:]))
        _RULE_SUFFIXES = frozenset(suffixes)
    return _RULE_SUFFIXES


class SplitColumn(object):
    """:func:`split_name` of every cell of a column, as arrays.

    Attributes
    ----------
    missing : ndarray of bool
        Empty cells (no outputs).
    symbols, sample_lengths : ndarray
        The labels left of the registered domain, dots removed, row after row (uint8), or
        None when some name needed the per-name path (``samples`` then holds every row's
        text, for :func:`~c2hunt.entropy.entropy_profile`).
    n_labels, longest : ndarray of int64
    registered_flat, registered_offsets, has_registered :
        The registered domains' bytes (lower case) and which rows have one.
    """


def split_names(flat, offsets):
    """:func:`split_name` of many names given as bytes; same results name by name.

    Parameters
    ----------
    flat : ndarray of uint8
        UTF-8 bytes of the names, concatenated.
    offsets : ndarray of int64, shape (n_names + 1,)

    Returns
    -------
    SplitColumn or None
        None when the Public Suffix List's rules cannot be read (use :func:`split_name`).
    """
    from .values import factorize_cells, gather_ranges
    closure = _rule_suffixes()
    if closure is None:
        return None
    n = len(offsets) - 1
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    # Byte-wise arithmetic rather than table lookups: SIMD loops over the column's bytes.
    upper = (flat >= 65) & (flat <= 90)
    lowered = flat + (upper.view(np.uint8) << 5)

    def row_of(positions):
        return np.searchsorted(offsets, positions, side="right") - 1

    # Names with anything split_name treats specially go to the per-name path.
    is_dot = flat == _DOT
    odd = (flat >= 128) | (flat == 58)                                   # non-ASCII, ':'
    odd[:-1] |= is_dot[:-1] & is_dot[1:]                                 # an empty label
    simple = (lengths > 0) & (lengths <= 253)
    simple[row_of(np.flatnonzero(odd))] = False
    nonempty = np.flatnonzero(lengths > 0)
    # Only digits and dots: an address, or what split_name alone decides.
    digit_or_dot = ((flat - 48) < 10) | is_dot
    digits_or_dots = np.add.reduceat(digit_or_dot, starts[nonempty],
                                     dtype=np.int64) if len(nonempty) else nonempty
    simple[nonempty[digits_or_dots == lengths[nonempty]]] = False
    first, last = flat[starts[nonempty]], flat[ends[nonempty] - 1]
    edge = _WHITESPACE[first] | _WHITESPACE[last] | (first == _DOT) | (last == _DOT)
    simple[nonempty[edge]] = False
    rows = np.flatnonzero(simple)
    result = SplitColumn()
    result.missing = lengths == 0

    # Dots of the simple names, and each name's number of dots.
    dots = np.flatnonzero(is_dot)
    dots = dots[simple[row_of(dots)]]
    dot_rows = row_of(dots)
    n_dots = np.bincount(dot_rows, minlength=n)
    dot_end = np.cumsum(n_dots)         # the name's dots are dots[dot_end - n_dots:dot_end]

    def suffix_start(depth, where):
        """Start of the last ``depth`` labels (``depth`` <= n_dots + 1) of names ``where``."""
        inner = (depth >= 1) & (depth <= n_dots[where])
        position = dots[np.where(inner, dot_end[where] - depth, 0)] + 1 if len(dots) else 0
        return np.where(inner, position, starts[where])

    # Longest suffix of each name that is in the rule-suffix set (0 labels: none): each
    # depth's distinct suffixes are looked up once.
    depth = np.zeros(n, dtype=np.int64)
    active = rows
    step = 1
    while len(active):
        begin = suffix_start(step, active)
        cell_flat, cell_offsets = gather_ranges(lowered, begin, ends[active] - begin)
        ids, firsts = factorize_cells(cell_flat, cell_offsets)
        texts = _texts(cell_flat, cell_offsets, firsts)
        known = np.array([text in closure for text in texts], dtype=bool)[ids]
        depth[active[known]] = step
        active = active[known & (step < n_dots[active] + 1)]
        step += 1
    # Labels in the public suffix: one lookup per (that suffix, labels left of it?) pair.
    n_labels_all = n_dots + 1
    begin = suffix_start(depth[rows], rows)
    begin = np.where(depth[rows] == 0, ends[rows], begin)
    cell_flat, cell_offsets = gather_ranges(lowered, begin, ends[rows] - begin)
    ids, _ = factorize_cells(cell_flat, cell_offsets)
    more = n_labels_all[rows] > depth[rows]
    _, pair_first, pair_ids = np.unique(ids * 2 + more, return_index=True, return_inverse=True)
    name_texts = _texts(*gather_ranges(lowered, starts[rows][pair_first],
                                       lengths[rows][pair_first]),
                        np.arange(len(pair_first)))
    suffix_texts = _texts(cell_flat, cell_offsets, pair_first)
    public = np.array([_public_labels(suffix, bool(has_more), name) for suffix, has_more, name
                       in zip(suffix_texts, more[pair_first].tolist(), name_texts)],
                      dtype=np.int64)[pair_ids.ravel()]
    registered = n_labels_all[rows] >= public + 1
    reg_start = np.where(registered, suffix_start(np.minimum(public + 1, n_labels_all[rows]),
                                                  rows), ends[rows])
    # Left of the registered domain (the whole name when there is none).
    left_labels = np.where(registered, n_labels_all[rows] - public - 1, n_labels_all[rows])
    left_end = np.where(registered, np.maximum(reg_start - 1, starts[rows]), ends[rows])
    n_labels = np.zeros(n, dtype=np.int64)
    n_labels[rows] = left_labels
    # Label lengths, and the longest of the first left_labels labels of each name: a
    # label ends at a dot (its rank among the name's dots) or at the end of the name.
    longest = np.zeros(n, dtype=np.int64)
    if len(dots):
        first_dot = dot_end - n_dots
        rank = np.arange(len(dots)) - first_dot[dot_rows]
        previous = np.empty(len(dots), dtype=np.int64)
        previous[0] = 0
        previous[1:] = dots[:-1] + 1
        label_start = np.where(rank == 0, starts[dot_rows], previous)
        counted = rank < n_labels[dot_rows]
        np.maximum.at(longest, dot_rows[counted], (dots - label_start)[counted])
    # The last label counts when the name has no registered domain.
    whole = rows[~registered]
    if len(whole):
        last_start = suffix_start(np.ones(len(whole), dtype=np.int64), whole)
        longest[whole] = np.maximum(longest[whole], ends[whole] - last_start)
    left_flat, left_offsets = gather_ranges(lowered, starts[rows], left_end - starts[rows])
    keep = left_flat != _DOT
    sample_lengths = np.zeros(n, dtype=np.int64)
    sample_lengths[rows] = np.diff(left_offsets) - np.maximum(left_labels - 1, 0)
    has_registered = np.zeros(n, dtype=bool)
    has_registered[rows] = registered
    reg_starts = np.zeros(n, dtype=np.int64)
    reg_ends = np.zeros(n, dtype=np.int64)
    reg_starts[rows], reg_ends[rows] = np.where(registered, reg_start, 0), \
        np.where(registered, ends[rows], 0)
    symbols = left_flat[keep]

    others = np.flatnonzero(~simple & (lengths > 0))
    if len(others):  # the per-name path, and every sample as text for the entropy
        raw = flat.tobytes()
        extra = []
        samples = [""] * n
        for row, sample_start, size in zip(rows.tolist(), (np.cumsum(sample_lengths[rows])
                                                            - sample_lengths[rows]).tolist(),
                                           sample_lengths[rows].tolist()):
            samples[row] = symbols[sample_start:sample_start + size].tobytes().decode("ascii")
        extra_base = len(lowered)
        for row in others.tolist():
            split = split_name(raw[starts[row]:ends[row]].decode("utf-8", "replace"))
            samples[row] = "".join(split.labels)
            n_labels[row] = len(split.labels)
            longest[row] = max([len(label) for label in split.labels] or [0])
            sample_lengths[row] = len(samples[row])
            if split.registered is not None:
                encoded = split.registered.encode("utf-8")
                has_registered[row] = True
                reg_starts[row] = extra_base
                reg_ends[row] = extra_base + len(encoded)
                extra_base += len(encoded)
                extra.append(encoded)
        if extra:
            lowered = np.concatenate((lowered, np.frombuffer(b"".join(extra), dtype=np.uint8)))
        result.symbols, result.samples = None, samples
    else:
        result.symbols, result.samples = symbols, None
    result.sample_lengths = sample_lengths
    result.n_labels, result.longest = n_labels, longest
    result.registered_bytes, result.has_registered = lowered, has_registered
    result.registered_starts, result.registered_ends = reg_starts, reg_ends
    return result


def _texts(flat, offsets, rows):
    raw = flat.tobytes()
    return [raw[offsets[row]:offsets[row + 1]].decode("ascii") for row in np.asarray(rows).tolist()]


def _public_labels(suffix, has_more, name):
    """Labels in the public suffix of any name whose longest rule suffix is ``suffix``."""
    key = (suffix, has_more)
    count = _PUBLIC_LABELS.get(key)
    if count is None:
        count = len(_PSL.publicsuffix(name).split("."))
        if len(_PUBLIC_LABELS) < 200000:
            _PUBLIC_LABELS[key] = count
    return count
