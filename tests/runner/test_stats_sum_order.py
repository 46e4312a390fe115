"""stats sum/avg/sumsq add a group's values strictly left to right in both engines.

Python's ``sum()`` compensates float rounding from 3.12 on (Splunk ships 3.13), so a row engine
built on it would give another last bit than the columnar ``np.bincount`` kernel there; these
values are chosen so that the two orders of rounding give different results."""
import pytest

from c2hunt_offline.engine import Runner
from support import ROOT

# Newest first, as the runner orders events: 1.0 + 1e-16 rounds back to 1.0 (half an ulp of 1.0
# is 1.1e-16), twice; a compensated sum (Python's sum() on 3.12+) gives 1.0000000000000002.
ROWS = [1.0, 1e-16, 1e-16]


@pytest.mark.parametrize("engine", ["row", "col"])
def test_sum_avg_sumsq_add_left_to_right(engine, monkeypatch):
    monkeypatch.setenv("C2HUNT_ENGINE", engine)
    events = [{"_time": 1700000000 - i, "x": value, "g": "a"} for i, value in enumerate(ROWS)]
    spl = "g=a | stats sum(x) AS total avg(x) AS mean sumsq(x) AS squares by g"
    [row] = Runner(str(ROOT)).run(spl, events).rows
    assert repr(float(row["total"])) == "1.0"
    assert repr(float(row["mean"])) == repr(1.0 / 3)
    assert repr(float(row["squares"])) == "1.0"
