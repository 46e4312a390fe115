"""Shannon entropy of many strings at once, and decoding of hex/base64 payloads.

Entropy is the plug-in estimate H = -sum p log2 p in bits per symbol. A short string
cannot reach a high value: n symbols from an alphabet of K reach at most log2(min(n, K))
bits. The normalised entropy divides by that maximum, so "abc" (1.58 bits, the most three
distinct symbols can carry) scores 1.0 rather than looking "low entropy" next to a long
random string. Strings of fewer than two symbols have no normalised entropy.
"""
import base64
import binascii
import re

import numpy as np

#: Alphabet sizes used to normalise: bytes, DNS labels (a-z, 0-9, '-', '_'), printable ASCII.
BYTE_ALPHABET = 256
DNS_ALPHABET = 38
TEXT_ALPHABET = 95

_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+\Z")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}\Z")
# Block size for the per-string symbol histograms: rows x alphabet cells per block. 2**16
# int64 cells are 512 KiB: a block's histogram stays in L2 cache while it is read back.
_CELLS_PER_BLOCK = 1 << 16
# Up to this many distinct symbols the histogram is summed column-wise (a Python step per
# 8 symbols); more (code points of many scripts) are summed row by row in C.
_MAX_COLUMN_SYMBOLS = 256
_PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: the unrolled pairwise-sum block


def shannon_entropy(samples):
    """Entropy in bits per symbol of each sample (NaN for an empty one).

    Parameters
    ----------
    samples : list of str or list of bytes

    Returns
    -------
    ndarray of float64, shape (n_samples,)
    """
    return entropy_profile(samples)[0]


def entropy_profile(samples):
    """Entropy, distinct symbols and length of each sample, computed over all at once.

    Parameters
    ----------
    samples : list of str or list of bytes
        Strings are read as Unicode code points, bytes as octets.

    Returns
    -------
    entropy : ndarray of float64, shape (n_samples,)
        Bits per symbol; NaN for an empty sample.
    n_distinct : ndarray of int64
        Distinct symbols in each sample.
    length : ndarray of int64
        Symbols in each sample.
    """
    n_samples = len(samples)
    length = np.fromiter(map(len, samples), dtype=np.int64, count=n_samples)
    if n_samples == 0 or length.sum() == 0:
        return np.full(n_samples, np.nan), np.zeros(n_samples, dtype=np.int64), length
    return segment_entropy(_symbols(samples), length)


def segment_entropy(symbols, length):
    """Entropy, distinct symbols and length of consecutive segments of a symbol array.

    Parameters
    ----------
    symbols : ndarray of uint8 or uint32
        Every sample's symbols (bytes or code points), sample after sample.
    length : ndarray of int64, shape (n_samples,)
        Symbols in each sample; they add up to ``len(symbols)``.

    Returns
    -------
    entropy, n_distinct, length : ndarray
        As :func:`entropy_profile`.

    Notes
    -----
    Each block of samples gets a dense histogram, one row per symbol actually used and one
    column per sample, so that the sum over symbols is a few whole-row additions. Those
    additions follow numpy's pairwise order for a row sum (:func:`_pairwise_column_sum`):
    the results are the same doubles as ``c_log_c[histogram].sum(axis=1)`` per sample.
    """
    length = np.asarray(length, dtype=np.int64)
    n_samples = len(length)
    entropy = np.full(n_samples, np.nan)
    n_distinct = np.zeros(n_samples, dtype=np.int64)
    if n_samples == 0 or len(symbols) == 0:
        return entropy, n_distinct, length
    # Dense symbol ids: histograms are (symbols actually used) x rows, not 0x110000 x rows.
    if symbols.dtype == np.uint8:
        dense = (np.cumsum(_used_bytes(symbols)) - 1).astype(np.intp)
        n_symbols = int(dense[-1]) + 1
    else:
        unique, symbols = np.unique(symbols, return_inverse=True)
        symbols = symbols.ravel().astype(np.intp)
        dense = None
        n_symbols = len(unique)
    c_log_c = _c_log_c(int(length.max()))
    offsets = np.concatenate(([0], np.cumsum(length)))
    by_columns = n_symbols <= _MAX_COLUMN_SYMBOLS
    block = max(1, _CELLS_PER_BLOCK // n_symbols)
    sum_c_log_c = np.zeros(n_samples)
    for first in range(0, n_samples, block):
        last = min(first + block, n_samples)
        lo, hi = offsets[first], offsets[last]
        if hi == lo:
            continue
        n_rows = last - first
        row = np.repeat(np.arange(n_rows, dtype=np.intp), length[first:last])
        if by_columns:  # key = symbol * n_rows + row: one histogram column per sample
            scale, step = n_rows, 1
        else:           # key = row * n_symbols + symbol: one histogram row per sample
            scale, step = 1, n_symbols
        if dense is not None:
            key = np.take(dense * scale, symbols[lo:hi])
        else:
            key = symbols[lo:hi] * scale
        key += row * step if step != 1 else row
        counts = np.bincount(key, minlength=n_rows * n_symbols)
        terms = np.take(c_log_c, counts)
        if by_columns:
            sum_c_log_c[first:last] = _pairwise_column_sum(terms.reshape(n_symbols, n_rows))
            # Distinct symbols <= 256 here: byte-wide adds down the columns.
            present = (counts != 0).view(np.uint8).reshape(n_symbols, n_rows)
            n_distinct[first:last] = np.add.reduce(present, axis=0, dtype=np.uint16)
        else:
            sum_c_log_c[first:last] = terms.reshape(n_rows, n_symbols).sum(axis=1)
            n_distinct[first:last] = np.count_nonzero(counts.reshape(n_rows, n_symbols), axis=1)
    nonempty = length > 0
    n = length[nonempty].astype(np.float64)
    entropy[nonempty] = np.maximum(np.log2(n) - sum_c_log_c[nonempty] / n, 0.0)
    return entropy, n_distinct, length


# Byte histograms are counted a few samples at a time, so that the bincount keys of a step
# (8 bytes per payload byte) stay in the CPU cache: about 64 KiB of payload per step.
_BYTES_PER_STEP = 1 << 16
_ROWS_PER_STEP = 256
_ROW_BASES = np.arange(0, 256 * _ROWS_PER_STEP, 256, dtype=np.uint16)


def byte_sample_entropy(samples):
    """:func:`segment_entropy` of a list of byte strings (bytes, bytearray or any bytes-like
    object) as one array of byte symbols, with the same results; faster on long samples
    (packet payloads).

    Every sample's 256-bin histogram is counted in cache-sized steps into one table, the
    symbols used anywhere are read off that table, and the sums over those symbols are
    :func:`segment_entropy`'s (same terms, same order: each sample's sum is independent of
    how samples are grouped into blocks). The table holds 256 counts per sample (2 bytes
    each for samples shorter than 64 KiB, else 4). The samples are not joined into one array
    first: each step joins its own, so the bytes are copied once, into memory that is read
    back at once (joining tens of MB first costs a pass over fresh pages).
    """
    length = np.fromiter(map(len, samples), np.int64, count=len(samples))
    if len(length) == 0 or not length.any():
        return _no_entropy(length)
    offsets = np.concatenate(([0], np.cumsum(length)))
    join = b"".join
    table = _byte_histograms(
        length, offsets, lambda first, last: np.frombuffer(join(samples[first:last]), np.uint8))
    return _histogram_entropy(table, length)


def _no_entropy(length):
    return np.full(len(length), np.nan), np.zeros(len(length), dtype=np.int64), length


def _byte_histograms(length, offsets, step_symbols):
    """The (256, n_samples) table of each sample's byte counts; ``step_symbols(first,
    last)`` gives the bytes of samples first..last-1, one after the other."""
    n_samples = len(length)
    longest = int(length.max())
    table = np.zeros((256, n_samples), np.uint16 if longest < (1 << 16)
                     else np.int32 if longest < (1 << 31) else np.int64)
    first = 0
    while first < n_samples:
        last = int(np.searchsorted(offsets, offsets[first] + _BYTES_PER_STEP, side="right")) - 1
        last = min(max(last, first + 1), first + _ROWS_PER_STEP, n_samples)
        if offsets[last] > offsets[first]:
            n_rows = last - first
            # Key sample * 256 + byte: the byte is added to the repeated row base in place
            # (two passes over the keys, not four), in 16 bits (at most _ROWS_PER_STEP = 256
            # rows per step: keys below 65536); the step's counts are then transposed.
            key = np.repeat(_ROW_BASES[:n_rows], length[first:last])
            key += step_symbols(first, last)
            table[:, first:last] = np.bincount(key, minlength=256 * n_rows).reshape(n_rows, 256).T
        first = last
    return table


def _histogram_entropy(table, length):
    """Entropy, distinct symbols and length of each sample (column) of a byte-count table."""
    n_samples = len(length)
    entropy = np.full(n_samples, np.nan)
    n_distinct = np.zeros(n_samples, dtype=np.int64)
    used = table.any(axis=1)
    if not used.all():
        table = table[used]
    n_symbols = len(table)
    c_log_c = _c_log_c(int(length.max()))
    block = max(1, _CELLS_PER_BLOCK // n_symbols)
    sum_c_log_c = np.zeros(n_samples)
    for first in range(0, n_samples, block):
        counts = table[:, first:first + block]
        sum_c_log_c[first:first + block] = _pairwise_column_sum(np.take(c_log_c, counts))
        n_distinct[first:first + block] = np.count_nonzero(counts, axis=0)
    nonempty = length > 0
    n = length[nonempty].astype(np.float64)
    entropy[nonempty] = np.maximum(np.log2(n) - sum_c_log_c[nonempty] / n, 0.0)
    return entropy, n_distinct, length


def _used_bytes(symbols):
    """Which of the 256 byte values occur in ``symbols`` (ndarray of uint8), as bools."""
    # Counting byte pairs reads half as many (wider) items as counting bytes.
    symbols = np.ascontiguousarray(symbols)
    pairs = np.bincount(symbols[:len(symbols) // 2 * 2].view(np.uint16), minlength=1 << 16)
    pairs = pairs.reshape(256, 256) != 0
    used = pairs.any(axis=0) | pairs.any(axis=1)
    if len(symbols) % 2:
        used[symbols[-1]] = True
    return used


def _c_log_c(max_count):
    """``c * log2(c)`` for every count 0..max_count (0 for 0), float64."""
    counts = np.arange(max_count + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, counts * np.log2(counts), 0.0)


def _pairwise_column_sum(terms):
    """Sum over axis 0 of a 2-D float64 array, in numpy's pairwise order.

    The result equals ``np.ascontiguousarray(terms.T).sum(axis=1)`` bit for bit: numpy sums
    a contiguous row by pairwise summation (below 8 items one by one; up to 128 in 8
    interleaved partial sums, then the rest one by one; above that, two halves split at
    a multiple of 8). Here each "item" is a whole row of ``terms``, so every step is one
    vectorised addition over all columns at once.
    """
    n = len(terms)
    if n < 8:
        total = np.zeros(terms.shape[1])
        for item in terms:
            total += item
        return total
    if n <= _PAIRWISE_BLOCK:
        partial = terms[:8].copy()
        whole = n - n % 8
        for start in range(8, whole, 8):
            partial += terms[start:start + 8]
        total = (partial[0] + partial[1]) + (partial[2] + partial[3])
        total += (partial[4] + partial[5]) + (partial[6] + partial[7])
        for item in terms[whole:]:
            total += item
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_column_sum(terms[:half]) + _pairwise_column_sum(terms[half:])


def _symbols(samples):
    if samples and isinstance(samples[0], bytes):
        return np.frombuffer(b"".join(samples), dtype=np.uint8)
    joined = "".join(samples)
    if joined.isascii():
        return np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def normalised_entropy(entropy, length, n_distinct, alphabet_size):
    """Entropy divided by the most ``length`` symbols from the alphabet can carry.

    Parameters
    ----------
    entropy, length, n_distinct : ndarray
        As returned by :func:`entropy_profile`.
    alphabet_size : int
        K. A sample using more distinct symbols than K is normalised with its own count.

    Returns
    -------
    ndarray of float64
        In [0, 1]; NaN for samples of fewer than two symbols.
    """
    alphabet = np.maximum(n_distinct, alphabet_size)
    ceiling = np.log2(np.minimum(length, alphabet).astype(np.float64).clip(min=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(length >= 2, entropy / ceiling, np.nan)
    return np.clip(norm, 0.0, 1.0)


def decode_payload(text, how):
    """Decode one payload: ``how`` is "hex", "base64" or "auto".

    Returns
    -------
    (payload, used) : (bytes or str or None, str)
        ``used`` is "hex", "base64" or "text". ``payload`` is None when ``how`` names an
        encoding the text is not in. "auto" tries hex (an even number of hex digits, at
        least 8), then base64 (at least 16 characters of the base64 alphabets, with at
        least one digit, '+', '/', '-' or '_', or both cases), else keeps the text.
    """
    stripped = text.strip()
    if how in ("hex", "auto") and _HEX.match(stripped) and (how == "hex" or len(stripped) >= 8):
        return binascii.unhexlify(stripped), "hex"
    if how == "hex":
        return None, "hex"
    if how in ("base64", "auto") and _BASE64.match(stripped):
        if how == "base64" or _looks_base64(stripped):
            decoded = _b64decode(stripped)
            if decoded is not None:
                return decoded, "base64"
    if how == "base64":
        return None, "base64"
    return text, "text"


def _looks_base64(text):
    if len(text) < 16:
        return False
    has_marks = any(ch.isdigit() or ch in "+/-_" for ch in text)
    return has_marks or (text.lower() != text and text.upper() != text)


def _b64decode(text):
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
