"""DNS names: split a query into the registered domain and the labels left of it.

The registered domain (eTLD+1) comes from the Public Suffix List through the maintained
``publicsuffixlist`` package (vendored with the app), never from a hand-written list.
Unknown top-level domains follow the list's default rule "*" (``a.b.internal`` ->
``b.internal``). Addresses and single labels have no registered domain.
"""
import re

import numpy as np

from publicsuffixlist import PublicSuffixList

from c2hunt.byteranges import factorize_ranges
from c2hunt.memo import BoundedCache

_PSL = PublicSuffixList()
# No rule is longer than this many labels, so the registered domain only depends on the
# last _TAIL_LABELS labels of a name: the cache key (many queries share a domain).
_TAIL_LABELS = int(getattr(_PSL, "_maxlabel", 15)) + 2
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
# Cached answers of the list, per name tail and per rule suffix: distinct domains of a busy
# network's DNS traffic (a cleared cache costs a few list lookups per name again).
DOMAIN_CACHE_LIMIT = 200000
_cache = BoundedCache(DOMAIN_CACHE_LIMIT)


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
    return _cache.put(tail, _PSL.privatesuffix(tail))


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
        tunnel would encode data into cannot be told apart from the domain then). A name
        with an empty label (``a..b.example.org``) has the registered domain of the part
        right of its last empty label.
    """
    name = normalise(name)
    if ".." in name:
        # An empty label cannot be on the wire: a label that carried a dot byte (iodine's
        # base128 does). The resolver routes on the labels right of it, so the domain is
        # there; the labels left of it (dots included) are data.
        head, _, tail = name.rpartition("..")
        split = split_name(tail)
        if split.registered is not None:
            labels = [label for label in head.split(".") if label] + split.labels
            return SplitName(split.registered, labels)
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
_PUBLIC_LABELS = BoundedCache(DOMAIN_CACHE_LIMIT)
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
        None when some of them are not ASCII (``samples`` then holds every row's text, for
        :func:`~c2hunt.entropy.entropy_profile`).
    n_labels, longest : ndarray of int64
        Labels left of the registered domain, and the longest one's length.
    registered_bytes, registered_starts, registered_ends, has_registered :
        Row i's registered domain (lower case) is
        ``registered_bytes[registered_starts[i]:registered_ends[i]]`` where
        ``has_registered[i]``.
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

    Notes
    -----
    Names are worked label by label from the right. A name's public suffix only depends
    on its longest suffix that is in the rule-suffix set; that suffix grows one label per
    step, and each step numbers the distinct (suffix so far, next label) pairs, so the
    set and the list are asked once per distinct suffix, however many names share it.
    Names that :func:`split_name` treats specially (addresses, non-ASCII, ':', empty
    labels, surrounding whitespace) are split by it, one by one.
    """
    closure = _rule_suffixes()
    if closure is None:
        return None
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(offsets) and (offsets[0] != 0 or offsets[-1] != len(flat)):
        # The names inside a larger buffer: the byte-wise passes see the names only.
        flat, offsets = flat[offsets[0]:offsets[-1]], offsets - offsets[0]
    n = len(offsets) - 1
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    # Byte-wise arithmetic rather than table lookups: SIMD loops over the column's bytes.
    # 8 zero bytes follow, so that labels can be read as 8-byte words.
    padded = np.zeros(len(flat) + 8, dtype=np.uint8)
    lowered = padded[:len(flat)]
    np.add(flat, ((flat - 65) < 26).view(np.uint8) << 5, out=lowered)
    dots = np.flatnonzero(flat == _DOT)
    # The dots of name i are dots[first_dot[i]:dot_end[i]] (names are contiguous).
    dot_index = np.searchsorted(dots, offsets)
    first_dot, dot_end = dot_index[:-1], dot_index[1:]
    n_dots = dot_end - first_dot
    simple, name_ends = _simple_names(flat, offsets, dots)
    rows = np.flatnonzero(simple)
    result = SplitColumn()
    result.missing = lengths == 0

    # From here a name is its bytes before any root dot.
    row_start, row_end = starts[rows], name_ends[rows]
    row_first, row_dots = first_dot[rows], n_dots[rows] - (ends[rows] - row_end)
    depth, suffix_id, suffix_texts = _rule_suffix_depth(padded, closure, dots, row_start,
                                                        row_end, row_first, row_dots)
    # Labels in the public suffix: one lookup per (that suffix, labels left of it?) pair.
    n_labels_all = row_dots + 1
    more = n_labels_all > depth
    public = _public_label_counts(lowered, row_start, row_end, suffix_id, more, suffix_texts)
    registered = n_labels_all >= public + 1
    # The registered domain starts after the dot left of its first label (if any).
    reg_dot = row_first + row_dots - 1 - public
    reg_start = row_start
    if len(dots):
        reg_start = np.where(reg_dot >= row_first, dots[np.maximum(reg_dot, 0)] + 1, reg_start)
    reg_start = np.where(registered, reg_start, row_end)
    # Left of the registered domain (the whole name when there is none).
    left_labels = np.where(registered, n_labels_all - public - 1, n_labels_all)
    left_end = np.where(registered, np.maximum(reg_start - 1, row_start), row_end)
    n_labels = np.zeros(n, dtype=np.int64)
    n_labels[rows] = left_labels
    longest = np.zeros(n, dtype=np.int64)
    longest[rows] = _longest_label(dots, row_start, row_end, row_first, row_dots, left_labels)
    sample_lengths = np.zeros(n, dtype=np.int64)
    sample_lengths[rows] = left_end - row_start - np.maximum(left_labels - 1, 0)
    has_registered = np.zeros(n, dtype=bool)
    has_registered[rows] = registered
    reg_starts = np.zeros(n, dtype=np.int64)
    reg_ends = np.zeros(n, dtype=np.int64)
    reg_starts[rows] = np.where(registered, reg_start, 0)
    reg_ends[rows] = np.where(registered, row_end, 0)
    symbols = _left_symbols(lowered, offsets, rows, left_end)

    others = np.flatnonzero(~simple & (lengths > 0))
    result.symbols, result.samples = symbols, None
    if len(others):  # what split_name alone decides, one name at a time
        raw = flat.tobytes()
        extra = []
        extra_base = len(lowered)
        other_samples = []
        for row in others.tolist():
            split = split_name(raw[starts[row]:ends[row]].decode("utf-8", "replace"))
            other_samples.append("".join(split.labels))
            n_labels[row] = len(split.labels)
            longest[row] = max([len(label) for label in split.labels] or [0])
            sample_lengths[row] = len(other_samples[-1])
            if split.registered is not None:
                encoded = split.registered.encode("utf-8")
                has_registered[row] = True
                reg_starts[row] = extra_base
                reg_ends[row] = extra_base + len(encoded)
                extra_base += len(encoded)
                extra.append(encoded)
        if extra:
            lowered = np.concatenate((lowered, np.frombuffer(b"".join(extra), dtype=np.uint8)))
        if all(sample.isascii() for sample in other_samples):
            # ASCII samples' symbols are their bytes (as entropy_profile reads them too).
            result.symbols = _insert_samples(symbols, sample_lengths, simple, others,
                                             other_samples)
        else:  # code points: every sample as text, for entropy_profile
            samples = [""] * n
            sizes = np.where(simple, sample_lengths, 0)
            for row, sample_start, size in zip(rows.tolist(), (np.cumsum(sizes) - sizes)[rows]
                                               .tolist(), sizes[rows].tolist()):
                samples[row] = symbols[sample_start:sample_start + size].tobytes().decode()
            for row, sample in zip(others.tolist(), other_samples):
                samples[row] = sample
            result.symbols, result.samples = None, samples
    result.sample_lengths = sample_lengths
    result.n_labels, result.longest = n_labels, longest
    result.registered_bytes, result.has_registered = lowered, has_registered
    result.registered_starts, result.registered_ends = reg_starts, reg_ends
    return result


def _simple_names(flat, offsets, dots):
    """Names the array path handles; the rest are what :func:`split_name` treats specially.

    A name is simple when it has 1 to 253 bytes, all ASCII, no ':', no empty label, no
    surrounding whitespace or dot (bar one root dot at the end), and is not made of digits
    and dots only.

    Returns
    -------
    simple : ndarray of bool
    name_ends : ndarray of int64
        Where each name ends without its root dot (split_name strips it).
    """
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    simple = (lengths > 0) & (lengths <= 253)
    odd = (flat >= 128) | (flat == 58)                                   # non-ASCII, ':'
    if odd.any():
        simple[np.searchsorted(offsets, np.flatnonzero(odd), side="right") - 1] = False
    # An empty label: two dots in a row (a pair across names has a dot at an edge).
    adjacent = np.flatnonzero(dots[1:] - dots[:-1] == 1)
    simple[np.searchsorted(offsets, dots[adjacent], side="right") - 1] = False
    name_ends = ends.copy()
    rooted = np.flatnonzero(simple)
    rooted = rooted[flat[ends[rooted] - 1] == _DOT]
    name_ends[rooted] -= 1
    simple[rooted[name_ends[rooted] == starts[rooted]]] = False           # "." alone
    nonempty = np.flatnonzero(simple)
    first, last = flat[starts[nonempty]], flat[name_ends[nonempty] - 1]
    edge = _WHITESPACE[first] | _WHITESPACE[last] | (first == _DOT) | (last == _DOT)
    simple[nonempty[edge]] = False
    # Only digits and dots (an address, or what split_name alone decides): such a name
    # ends in a digit, so only those names are counted byte by byte.
    ends_in_digit = nonempty[~edge & ((last - 48) < 10)]
    if len(ends_in_digit):
        other = np.append((flat - 48 >= 10) & (flat != _DOT), False)
        bounds = np.empty(2 * len(ends_in_digit), dtype=np.int64)
        bounds[0::2], bounds[1::2] = starts[ends_in_digit], ends[ends_in_digit]
        letters = np.add.reduceat(other, bounds, dtype=np.int64)[0::2]
        simple[ends_in_digit[letters == 0]] = False
    return simple, name_ends


def _rule_suffix_depth(padded, closure, dots, row_start, row_end, row_first, row_dots):
    """Labels in each name's longest suffix that is in the rule-suffix set ``closure``.

    Parameters
    ----------
    padded : ndarray of uint8
        The lower-cased names and 8 more bytes (labels are read as words).
    closure : frozenset of str
    dots : ndarray of int64
        Positions of the dots in ``padded``.
    row_start, row_end, row_first, row_dots : ndarray of int64
        Each name's range, index of its first dot in ``dots`` and number of dots.

    Returns
    -------
    depth : ndarray of int64
    suffix_id : ndarray of int64
        Id of that suffix: equal suffixes, equal ids (0: the empty suffix).
    suffix_texts : list of str
        The suffix of each id.
    """
    n_rows = len(row_start)
    depth = np.zeros(n_rows, dtype=np.int64)
    suffix_id = np.zeros(n_rows, dtype=np.int64)
    suffix_texts = [""]
    # Per name still growing its suffix: the dot left of its next label (none when below
    # the name's first dot), where that label ends, and the id of the suffix so far.
    active = np.arange(n_rows)
    dot = row_first + row_dots - 1
    label_end = row_end
    previous = None
    step = 1
    while len(active):
        has_dot = dot >= row_first[active]
        begin = row_start[active]
        if len(dots):
            begin = np.where(has_dot, dots[np.maximum(dot, 0)] + 1, begin)
        # Ids of the pairs (suffix so far, this label): equal pairs, equal ids.
        ids, firsts = factorize_ranges(padded, begin, label_end - begin,
                                       max_width=len(padded), prefix=previous)
        texts = _ascii_texts(padded, begin[firsts], row_end[active[firsts]])
        known = np.array([text in closure for text in texts], dtype=bool)
        new_ids = len(suffix_texts) + np.cumsum(known) - 1   # ids for the known suffixes
        suffix_texts.extend(text for text, ok in zip(texts, known.tolist()) if ok)
        hit = known[ids]
        growing = hit & has_dot
        if hit.all():   # the usual case: no compress
            depth[active] = step
            suffix_id[active] = new_ids[ids]
        else:
            depth[active[hit]] = step
            suffix_id[active[hit]] = new_ids[ids[hit]]
        if not growing.all():
            keep = np.flatnonzero(growing)
            active, dot, begin, ids = active[keep], dot[keep], begin[keep], ids[keep]
        dot = dot - 1
        label_end = begin - 1
        previous = ids
        step += 1
    return depth, suffix_id, suffix_texts


def _ascii_texts(data, begins, ends):
    """``data[begins[i]:ends[i]]`` as str, for each i (a few distinct texts, no copy of data)."""
    view = memoryview(data)
    return [str(view[b:e], "ascii") for b, e in zip(begins.tolist(), ends.tolist())]


def _public_label_counts(lowered, starts, ends, suffix_id, more, suffix_texts):
    """Labels in the public suffix of each name, one list lookup per distinct key."""
    key = suffix_id * 2 + more
    # Any name with a key represents it (the count depends on the key alone): a scatter,
    # whichever of the writes to a slot lands, rather than a sort.
    representative = np.full(2 * len(suffix_texts), -1, dtype=np.int64)
    representative[key] = np.arange(len(key))
    present = np.flatnonzero(representative >= 0)
    names = _ascii_texts(lowered, starts[representative[present]],
                         ends[representative[present]])
    table = np.zeros(len(representative), dtype=np.int64)
    for k, name in zip(present.tolist(), names):
        table[k] = _public_labels(suffix_texts[k // 2], bool(k % 2), name)
    return table[key]


def _longest_label(dots, row_start, row_end, row_first, row_dots, n_labels):
    """Length of the longest of the first ``n_labels`` labels of each name.

    Label r of a name ends at its r-th dot, the last label at the name's end. One step per
    label rank, over the names that have that many labels: names have few labels.
    """
    longest = np.zeros(len(row_start), dtype=np.int64)
    where = np.flatnonzero(n_labels > 0)
    begin, dot = row_start[where], row_first[where]
    rank = 0
    while len(where):
        end = row_end[where]
        if len(dots):
            end = np.where(rank < row_dots[where], dots[np.minimum(dot, len(dots) - 1)], end)
        longest[where] = np.maximum(longest[where], end - begin)
        rank += 1
        more = n_labels[where] > rank
        if not more.all():
            keep = np.flatnonzero(more)
            where, end, dot = where[keep], end[keep], dot[keep]
        begin, dot = end + 1, dot + 1
    return longest


def _left_symbols(lowered, offsets, rows, left_end):
    """The bytes of ``[start, left_end)`` of each of ``rows``, dots removed, row after row."""
    starts, ends = offsets[:-1], offsets[1:]
    # A mask of the column's bytes from runs: each name is a kept run, then a dropped one.
    runs = np.zeros(2 * len(starts), dtype=np.int64)
    runs[1::2] = ends - starts
    runs[2 * rows] = left_end - starts[rows]
    runs[2 * rows + 1] -= runs[2 * rows]
    kept = np.repeat(np.tile(np.array([True, False]), len(starts)), runs)
    kept &= lowered != _DOT
    return lowered[kept]


def _insert_samples(symbols, sample_lengths, simple, others, texts):
    """``symbols`` (the simple rows' samples, row after row) with ``texts`` (ASCII, the
    samples of rows ``others``) put in their rows' places."""
    sizes = np.where(simple, sample_lengths, 0)
    before = np.cumsum(sizes) - sizes          # simple rows' symbols ahead of each row
    encoded = [text.encode("ascii") for text in texts]
    at = np.repeat(before[others], [len(item) for item in encoded])
    return np.insert(symbols, at, np.frombuffer(b"".join(encoded), dtype=np.uint8))


def _public_labels(suffix, has_more, name):
    """Labels in the public suffix of any name whose longest rule suffix is ``suffix``."""
    key = (suffix, has_more)
    count = _PUBLIC_LABELS.get(key)
    if count is None:
        count = _PUBLIC_LABELS.put(key, len(_PSL.publicsuffix(name).split(".")))
    return count
