"""entropy.byte_segment_entropy (the c2flow payload path) gives exactly segment_entropy's
results: same doubles, same distinct counts, on random byte samples of every shape."""
import numpy as np
import pytest

from c2hunt import entropy


def _same(symbols, length):
    expected = entropy.segment_entropy(symbols, length)
    got = entropy.byte_segment_entropy(symbols, length)
    for want, have in zip(expected, got):
        assert want.dtype == have.dtype
        assert np.array_equal(want, have, equal_nan=True)


@pytest.mark.parametrize("seed", range(40))
def test_random_samples(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    if seed % 4 == 0:     # empty, one-byte, and longer-than-65535 samples, few of them
        length = rng.choice([0, 1, 2, 7, 300, 4096, 70000], size=n)
    else:
        length = rng.integers(0, 5000, size=n)
    alphabet = int(rng.integers(1, 257))
    symbols = rng.integers(0, alphabet, size=int(length.sum())).astype(np.uint8)
    if seed % 3 == 0:     # used symbols spread over the byte range, with gaps
        symbols = (symbols.astype(np.int64) * 7 + 3).astype(np.uint8)
    _same(symbols, length)


def test_empty_inputs():
    _same(np.zeros(0, np.uint8), np.zeros(0, np.int64))
    _same(np.zeros(0, np.uint8), np.zeros(3, np.int64))


def test_many_short_samples():
    rng = np.random.default_rng(7)
    length = rng.integers(0, 40, size=3000)
    _same(rng.integers(0, 256, size=int(length.sum())).astype(np.uint8), length)
