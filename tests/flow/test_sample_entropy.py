"""entropy.byte_sample_entropy (the flow records' payload entropy: a list of byte strings,
joined a cache-sized step at a time) gives what segment_entropy gives on the same bytes
joined into one array: the same doubles, distinct counts and lengths, on samples of every
shape and type (bytes, bytearray, memoryview)."""
import numpy as np
import pytest

from c2hunt import entropy


def _same(samples):
    length = np.array([len(s) for s in samples], np.int64)
    symbols = np.frombuffer(b"".join(samples), np.uint8)
    expected = entropy.segment_entropy(symbols, length)
    got = entropy.byte_sample_entropy(samples)
    for want, have in zip(expected, got):
        assert want.dtype == have.dtype
        assert np.array_equal(want, have, equal_nan=True)
    assert len(got[0]) == len(samples)


@pytest.mark.parametrize("seed", range(30))
def test_random_samples(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 700))
    if seed % 4 == 0:     # empty, one-byte, and longer-than-65535 samples, few of them
        lengths = rng.choice([0, 1, 2, 7, 300, 4096, 70000], size=min(n, 40))
    else:                 # many steps: samples of a packet's size and of a record's cap
        lengths = rng.choice([0, 1, 40, 128, 287, 1460, 4096], size=n)
    alphabet = int(rng.integers(1, 257))
    samples = [(rng.integers(0, alphabet, size=int(k)) * (7 if seed % 3 == 0 else 1) + 3)
               .astype(np.uint8).tobytes() for k in lengths]
    kinds = (bytes, bytearray, memoryview)
    _same([kinds[i % 3](s) if seed % 5 == 0 else s for i, s in enumerate(samples)])


def test_empty_inputs():
    _same([])
    _same([b"", b"", b""])
    _same([b"", b"x", b""])


def test_every_sample_its_own_step():
    """Samples longer than a step each fill a step of their own, next to short ones."""
    rng = np.random.default_rng(5)
    _same([rng.bytes(int(k)) for k in (70000, 3, 0, 65536, 65535, 1, 130000, 2)])


def test_many_short_samples():
    rng = np.random.default_rng(7)
    _same([rng.bytes(int(k)) for k in rng.integers(0, 40, size=3000)])
