"""flows.rounded (the c2flow records' rounding) is Python's round, bit for bit (the payload
entropy kernel is tested in tests/flow/test_sample_entropy.py)."""
import numpy as np
import pytest



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
