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
# Block size for the per-string symbol histograms: rows x alphabet cells per block.
_CELLS_PER_BLOCK = 1 << 21


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
    """
    length = np.asarray(length, dtype=np.int64)
    n_samples = len(length)
    entropy = np.full(n_samples, np.nan)
    n_distinct = np.zeros(n_samples, dtype=np.int64)
    if n_samples == 0 or len(symbols) == 0:
        return entropy, n_distinct, length
    # Dense symbol ids: histograms are n_rows x (symbols actually used), not x 0x110000.
    if symbols.dtype == np.uint8:
        used = np.zeros(256, dtype=bool)
        used[symbols] = True
        dense = (np.cumsum(used) - 1).astype(np.intp)
        n_symbols = int(used.sum())
    else:
        unique, symbols = np.unique(symbols, return_inverse=True)
        symbols = symbols.ravel()
        dense = None
        n_symbols = len(unique)
    # c * log2(c) for every count a sample can hold.
    counts_range = np.arange(int(length.max()) + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_log_c = np.where(counts_range > 0, counts_range * np.log2(counts_range), 0.0)
    offsets = np.concatenate(([0], np.cumsum(length)))
    block = max(1, _CELLS_PER_BLOCK // n_symbols)
    sum_c_log_c = np.zeros(n_samples)
    for first in range(0, n_samples, block):
        last = min(first + block, n_samples)
        lo, hi = offsets[first], offsets[last]
        if hi == lo:
            continue
        n_rows = last - first
        # One histogram row per sample: key = row * n_symbols + dense symbol id.
        key = dense[symbols[lo:hi]] if dense is not None else symbols[lo:hi].astype(np.intp)
        key += np.repeat(np.arange(0, n_rows * n_symbols, n_symbols, dtype=np.intp),
                         length[first:last])
        counts = np.bincount(key, minlength=n_rows * n_symbols).reshape(n_rows, n_symbols)
        sum_c_log_c[first:last] = c_log_c[counts].sum(axis=1)
        n_distinct[first:last] = np.count_nonzero(counts, axis=1)
    nonempty = length > 0
    n = length[nonempty].astype(np.float64)
    entropy[nonempty] = np.maximum(np.log2(n) - sum_c_log_c[nonempty] / n, 0.0)
    return entropy, n_distinct, length


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
