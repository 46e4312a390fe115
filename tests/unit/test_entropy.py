"""c2hunt.entropy: entropy bounds, agreement with a direct count, normalisation, decoding."""
import collections
import math

import numpy as np
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from c2hunt.entropy import (BYTE_ALPHABET, TEXT_ALPHABET, decode_payload, entropy_profile,
                            normalised_entropy, shannon_entropy)


def direct_entropy(sample):
    counts = collections.Counter(sample)
    n = len(sample)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else float("nan")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=30))
def test_matches_direct_count_and_stays_in_bounds(samples):
    entropy, n_distinct, length = entropy_profile(samples)
    expected = [direct_entropy(sample) for sample in samples]
    assert_allclose(entropy, expected, atol=1e-9)
    for value, distinct, n in zip(entropy, n_distinct, length):
        if n:
            assert 0.0 <= value <= math.log2(distinct) + 1e-9 if distinct > 1 else value == 0.0
    norm = normalised_entropy(entropy, length, n_distinct, TEXT_ALPHABET)
    finite = norm[~np.isnan(norm)]
    assert np.all((finite >= 0) & (finite <= 1))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20))
def test_bytes_match_direct_count(samples):
    assert_allclose(shannon_entropy(samples), [direct_entropy(s) for s in samples], atol=1e-9)


def test_short_strings_are_not_low_entropy():
    entropy, distinct, length = entropy_profile(["abc", "aaa", "ab", "x", ""])
    norm = normalised_entropy(entropy, length, distinct, TEXT_ALPHABET)
    assert_allclose(entropy[:2], [math.log2(3), 0.0])
    assert norm[0] == 1.0          # three distinct symbols: the most three can carry
    assert norm[1] == 0.0
    assert norm[2] == 1.0
    assert np.isnan(norm[3]) and np.isnan(norm[4])   # fewer than two symbols: undefined
    assert np.isnan(entropy[4])


def test_random_bytes_normalise_near_one():
    rng = np.random.default_rng(3)
    payload = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    entropy, distinct, length = entropy_profile([payload])
    assert entropy[0] > 7.9
    assert normalised_entropy(entropy, length, distinct, BYTE_ALPHABET)[0] > 0.98


def test_unicode_and_many_blocks():
    samples = ["Ünïcödé ✓ 漢字"] * 3 + ["x" * 5000] + ["ab"] * 20000
    assert_allclose(shannon_entropy(samples), [direct_entropy(s) for s in samples], atol=1e-9)


def test_decode_payload():
    assert decode_payload("deadbeef", "hex") == (b"\xde\xad\xbe\xef", "hex")
    assert decode_payload("DEADBEEF", "auto") == (b"\xde\xad\xbe\xef", "hex")
    assert decode_payload("abc", "hex") == (None, "hex")            # odd length: not hex
    assert decode_payload("aGVsbG8gd29ybGQhIQ==", "auto") == (b"hello world!!", "base64")
    assert decode_payload("aGVsbG8", "base64") == (b"hello", "base64")   # padding optional
    assert decode_payload("password", "auto") == ("password", "text")   # a word stays text
    assert decode_payload("not base64!", "base64") == (None, "base64")


def test_segment_entropy_is_entropy_profile_on_bytes():
    from c2hunt.entropy import segment_entropy
    samples = ["", "a", "abc", "aaaa", "abab" * 50, "The quick brown fox", "x" * 300, "00ff"]
    symbols = np.frombuffer("".join(samples).encode("ascii"), dtype=np.uint8)
    lengths = np.array([len(sample) for sample in samples])
    got = segment_entropy(symbols, lengths)
    want = entropy_profile(samples)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert got[0][3] == 0.0 and got[0][4] == 1.0 and np.isnan(got[0][0]) and got[2][4] == 200


# segment_entropy sums its histograms column-wise in numpy's pairwise order: the doubles
# must be the very ones a plain per-sample row sum gives (formatted outputs depend on it).
@settings(max_examples=80, deadline=None)
@given(st.integers(1, 300), st.integers(1, 200), st.integers(0, 2 ** 32 - 1))
def test_pairwise_column_sum_is_numpy_row_sum_bit_for_bit(n_items, n_columns, seed):
    from c2hunt.entropy import _pairwise_column_sum
    rng = np.random.default_rng(seed)
    terms = rng.random((n_items, n_columns)) * rng.integers(0, 2, (n_items, n_columns))
    rows = np.ascontiguousarray(terms.T)  # numpy sums a contiguous row pairwise
    np.testing.assert_array_equal(_pairwise_column_sum(terms), rows.sum(axis=1))


def dense_row_reference(symbols, lengths):
    """Entropy and distinct counts from one full histogram row per sample, summed by numpy."""
    _, ids = np.unique(symbols, return_inverse=True)
    ids = ids.ravel()
    n_symbols = int(ids.max()) + 1 if len(ids) else 1
    rows = np.repeat(np.arange(len(lengths)), lengths)
    counts = np.bincount(rows * n_symbols + ids, minlength=len(lengths) * n_symbols)
    counts = counts.reshape(len(lengths), n_symbols)
    c = np.arange(counts.max() + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_log_c = np.where(c > 0, c * np.log2(c), 0.0)
    n = lengths.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.maximum(np.log2(n) - c_log_c[counts].sum(axis=1) / n, 0.0)
    return np.where(lengths > 0, entropy, np.nan), np.count_nonzero(counts, axis=1)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1, 3, 8, 9, 38, 95, 128, 129, 256, 300]),
       st.sampled_from([3, 40, 700]), st.sampled_from([1, 37, 4096, 1 << 16]))
def test_segment_entropy_is_the_dense_row_sum_exactly(seed, n_symbols, max_length, cells):
    import c2hunt.entropy as module
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, max_length + 1, int(rng.integers(1, 120)))
    if n_symbols <= 256 and seed % 2:
        alphabet = rng.choice(256, n_symbols, replace=False).astype(np.uint8)
    else:  # code points: more symbols than bytes, and the row-wise branch
        alphabet = rng.choice(0x11000, n_symbols, replace=False).astype(np.uint32)
    weights = rng.dirichlet(np.full(n_symbols, 0.3))
    symbols = alphabet[rng.choice(n_symbols, int(lengths.sum()), p=weights)]
    saved = module._CELLS_PER_BLOCK
    module._CELLS_PER_BLOCK = cells  # blocks of one sample up to one block for everything
    try:
        entropy, n_distinct, length = module.segment_entropy(symbols, lengths)
    finally:
        module._CELLS_PER_BLOCK = saved
    want_entropy, want_distinct = dense_row_reference(symbols, lengths)
    np.testing.assert_array_equal(entropy, want_entropy)
    np.testing.assert_array_equal(n_distinct, want_distinct)
    np.testing.assert_array_equal(length, lengths)
