"""The vectorised kernels of the c2flow record path give exactly what they replace:
entropy.byte_segment_entropy is segment_entropy (same doubles, same distinct counts) on byte
samples of every shape; flows.rounded is Python's round, bit for bit."""
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


@pytest.mark.parametrize("digits", [3, 4, 6])
def test_rounded_is_pythons_round(digits):
    """flows.rounded (records' times, entropies, shares) is Python's round, bit for bit:
    halves, values a step either side of a half, capture times, random bit patterns."""
    import struct

    from c2hunt.capture.flows import rounded
    rng = np.random.default_rng(digits)
    halves = (rng.integers(0, 10 ** 9, 20000) + 0.5) / 10 ** digits
    values = np.concatenate([
        rng.uniform(-10, 10, 20000), 1.7e9 + rng.uniform(0, 1e6, 20000),
        rng.integers(0, 10 ** 7, 20000) / 1e6 + 1.7e9, halves,
        np.nextafter(halves, 0), np.nextafter(halves, 1),
        np.frombuffer(rng.bytes(8 * 20000), np.float64),
        [0.0, -0.0, 1e300, -1e300, np.inf, -np.inf, np.nan, 5e-324, 2.0 ** 53 + 2, 2.5]])
    got = rounded(values, digits)
    for value, have in zip(values.tolist(), got):
        want = round(value, digits)
        assert struct.pack("<d", want) == struct.pack("<d", have) or want != want == have != have
