"""Byte ranges of a buffer as numpy arrays: gather them, number equal ones, read words.

Shared by the chunk reader (bin/c2hunt/scp/) and the kernels (dns.py): cells of a chunk
and labels of DNS names are both ranges ``[start, start + length)`` of one uint8 buffer.
"""
import numpy as np


def gather_ranges(data, starts, lengths):
    """``(flat, offsets)``: the byte ranges ``[starts, starts + lengths)`` concatenated."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] == 0:
        return np.empty(0, dtype=np.uint8), offsets
    return data[range_indices(starts, lengths)], offsets


def range_indices(starts, lengths):
    """Every index of the ranges ``[starts[i], starts[i] + lengths[i])``, in order (a
    negative length counts as 0)."""
    lengths = np.maximum(lengths, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    index = np.repeat(starts - offsets, lengths)
    index += np.arange(total)
    return index


def factorize_cells(flat, offsets, max_width=512):
    """:func:`factorize_ranges` of cells given as ``flat[offsets[i]:offsets[i + 1]]``."""
    return factorize_ranges(flat, offsets[:-1], np.diff(offsets), max_width)


def factorize_ranges(data, starts, lengths, max_width=512, prefix=None):
    """Value ids of byte cells (equal bytes, equal id) and one cell of each id.

    Parameters
    ----------
    data : ndarray of uint8
        A buffer holding the cells.
    starts, lengths : ndarray of int64, shape (n_cells,)
        Cell i is ``data[starts[i]:starts[i] + lengths[i]]``.
    max_width : int
        Longer cells are not factorized here.
    prefix : ndarray of integers, shape (n_cells,), optional
        A key that is part of each cell's identity (cells are equal when their prefix and
        bytes both are), e.g. the id of what precedes the cell.

    Returns
    -------
    ids, first : ndarray of int64, or (None, None) when a cell is longer than ``max_width``
        ``ids[i]`` numbers cell i in sorted key order; ``first[k]`` is a cell with id k
        (which one is unspecified: they hold the same bytes).

    Notes
    -----
    Each cell is read as 8-byte words straight from ``data``. Up to 7 bytes the length
    fits in the word's free top byte, and a lone word is the key itself, numbered exactly.
    Otherwise a 64-bit hash of the words (and the length) is numbered instead, every cell
    is compared word by word with its id's representative, and on any collision the words
    are numbered exactly.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_cells = len(lengths)
    width = int(lengths.max()) if n_cells else 0
    if width > max_width:
        return None, None
    words = [] if prefix is None else [np.asarray(prefix).astype(np.uint64)]
    words += [words_at(data, starts + 8 * k, lengths - 8 * k) for k in range((width + 7) // 8)]
    if 0 < width <= 7:
        words[-1] |= lengths.astype(np.uint64) << np.uint64(56)  # "a" and "a\0" differ
    else:
        words.append(lengths.astype(np.uint64))
    if len(words) == 1:
        return _dense_ids(words[0])
    hashed = words[0]
    for word in words[1:]:
        hashed = hashed * _HASH_MULTIPLIER + (word ^ (word >> np.uint64(29)))
    ids, first = _dense_ids(hashed)
    representative = first[ids]
    if not all(np.array_equal(word, word[representative]) for word in words):
        rows = np.ascontiguousarray(np.stack(words, axis=1)).view("V%d" % (8 * len(words)))
        _, first, ids = np.unique(rows.ravel(), return_index=True, return_inverse=True)
        ids = ids.ravel().astype(np.int64)
    return ids, first


def first_ids(keys):
    """The id of each key (0..k-1 in sorted order) and the first position of each id: the
    inverse and index of ``np.unique(keys, return_index=True, return_inverse=True)``, in
    about half the time (an unstable sort, then the first positions by ``minimum.at``)."""
    ids, _ = _dense_ids(keys)
    first = np.full(int(ids.max()) + 1 if len(ids) else 0, len(keys), dtype=np.int64)
    np.minimum.at(first, ids, np.arange(len(keys)))
    return ids, first


def _dense_ids(keys):
    """Ids 0..k-1 of the distinct values of ``keys`` (integers) in sorted order, and a
    position of each."""
    if len(keys) == 0:
        return keys.astype(np.int64), keys.astype(np.int64)
    order = np.argsort(keys)  # unstable is fine: any position of a value represents it
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ids = np.empty(len(keys), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids, order[new]


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: a bijection of uint64
LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1],
                      dtype=np.uint64)


def words_at(data, positions, remaining):
    """Little-endian uint64 of the ``min(remaining, 8)`` bytes at each position (0 padded)."""
    n = len(data)
    if n < 8:
        padded = np.zeros(8, dtype=np.uint8)
        padded[:n] = data
        data, n = padded, 8
    data = np.ascontiguousarray(data, dtype=np.uint8)
    taken = np.clip(remaining, 0, 8)
    # Whole aligned words of the buffer: a position's 8 bytes are the end of one word and
    # the start of the next (reading unaligned words one by one is several times slower).
    skip = -data.ctypes.data % 8
    aligned = data[skip:skip + (n - skip) // 8 * 8].view("<u8")
    relative = positions - skip
    inside = (relative >= 0) & ((relative >> 3) + 1 < len(aligned))
    if inside.all():
        word = _aligned_words_at(aligned, relative)
    else:  # positions near the buffer's ends: unaligned reads, clipped
        word = np.empty(len(positions), dtype=np.uint64)
        word[inside] = _aligned_words_at(aligned, relative[inside])
        edge = np.flatnonzero(~inside)
        view = np.ndarray(shape=(n - 7,), dtype="<u8", buffer=data, strides=(1,))
        at = np.clip(positions[edge], 0, n - 8)
        word[edge] = view[at] >> ((positions[edge] - at) * 8).astype(np.uint64)
    word &= LOW_BYTES[taken]
    return word


def _aligned_words_at(aligned, relative):
    """The uint64 at each byte offset ``relative`` of the aligned words ``aligned``."""
    index = relative >> 3
    shift = (relative & 7).astype(np.uint64) * np.uint64(8)
    word = aligned[index] >> shift
    word |= aligned[index + 1] << (np.uint64(64) - shift)  # a shift by 64 gives 0
    return word
