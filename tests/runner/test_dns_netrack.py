"""DNS tunnel recall and false-positive rate of AN1228 on netrack's validate split (issue 12
target: recall >= 0.95 at a false-positive rate <= 0.5%), measured by the scoreboard
(benchmarks/detection_eval.py: the names replayed as a Zeek dns.log, ten names per client
session, through the offline runner and the shipped search). Skipped without ../shared.
"""
import sys
from pathlib import Path

import pytest

from support import ROOT

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
NETRACK = DATASETS / "netrack-dns"

sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.mark.skipif(not (NETRACK / "validate.csv").exists(), reason="../shared/datasets absent")
def test_netrack_validate_recall_and_false_positive_rate():
    import detection_eval

    doc = detection_eval.load_ground_truth(["netrack-dns"])["netrack-dns"]
    runner = detection_eval.AppRunner(ROOT)
    result = detection_eval.dns_metric(runner, doc, NETRACK, log=lambda *args: None)
    assert result["session_names"] == 10 and result["tunnel_names"] == 4000
    assert result["recall"] >= 0.95, result
    assert result["fpr"] <= 0.005, result
    assert result["one_client_per_class"]["recall"] >= 0.99
