"""c2hunt.asym: ratio bounds, antisymmetry, invalid input and the volume guard."""
import numpy as np
from hypothesis import given, strategies as st
from numpy.testing import assert_allclose

from c2hunt.asym import asymmetry

volumes = st.lists(st.tuples(st.floats(0, 1e12), st.floats(0, 1e12)), min_size=1, max_size=40)


@given(volumes)
def test_ratio_bounds_and_antisymmetry(pairs):
    out = np.array([p[0] for p in pairs])
    inb = np.array([p[1] for p in pairs])
    forward, _ = asymmetry(out, inb)
    backward, _ = asymmetry(inb, out)
    assert_allclose(forward["pcr"], -backward["pcr"], equal_nan=True)
    defined = ~np.isnan(forward["pcr"])
    assert np.all(np.abs(forward["pcr"][defined]) <= 1.0)
    assert_allclose(forward["pcr"][defined], 2 * forward["outbound_share"][defined] - 1,
                    atol=1e-12)


def test_flag_needs_share_and_volume():
    result, invalid = asymmetry([950, 95000, 500, 0], [50, 5000, 500, 0],
                                threshold=0.9, min_bytes=1024)
    assert_allclose(result["outbound_share"][:3], [0.95, 0.95, 0.5])
    assert result["flag"].tolist() == [0.0, 1.0, 0.0, 0.0]   # 1,000 bytes is below min_bytes
    assert np.isnan(result["pcr"][3]) and result["total_bytes"][3] == 0   # nothing sent: undefined
    assert not invalid.any()


def test_invalid_values_give_nan_not_errors():
    result, invalid = asymmetry([np.nan, -5, np.inf, 10], [1, 1, 1, 10])
    assert invalid.tolist() == [True, True, True, False]
    for name in ("pcr", "outbound_share", "total_bytes", "flag"):
        assert np.isnan(result[name][:3]).all()
    assert result["pcr"][3] == 0.0
