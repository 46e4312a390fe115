"""Fixtures for the offline runner tier: a small app of our own, and a helper to run SPL."""
import os
import textwrap
from pathlib import Path

import pytest

from c2hunt_offline import Runner

ROOT = Path(__file__).resolve().parents[2]

# Set C2HUNT_UPDATE_GOLDEN=1 to rewrite the golden files of the reader tests.
UPDATE_GOLDEN = os.environ.get("C2HUNT_UPDATE_GOLDEN") == "1"


@pytest.fixture
def mini_app(tmp_path):
    """An app folder with its own macros, transforms, lookups and saved searches.

    bin/ points at the real app's bin/ so the custom commands run through SCP v2.
    """
    app = tmp_path / "app"
    (app / "default").mkdir(parents=True)
    (app / "lookups").mkdir()
    (app / "bin").symlink_to(ROOT / "bin", target_is_directory=True)
    (app / "default" / "commands.conf").write_text((ROOT / "default" / "commands.conf").read_text())
    (app / "default" / "macros.conf").write_text(textwrap.dedent("""\
        [src_net]
        definition = sourcetype=net
        iseval = 0

        [ports(2)]
        args = a, b
        definition = dest_port IN ($a$, $b$)

        [twice(1)]
        args = x
        definition = eval doubled=$x$*2

        [nested]
        definition = `src_net` `ports(22,443)`

        [empty_filter]
        definition = search *
        """))
    (app / "default" / "transforms.conf").write_text(textwrap.dedent("""\
        [proc_allow]
        filename = proc_allow.csv
        match_type = WILDCARD(process)
        case_sensitive_match = false

        [nets]
        filename = nets.csv
        match_type = CIDR(cidr)
        max_matches = 1

        [exact_cs]
        filename = exact.csv

        [multi]
        filename = multi.csv

        [baseline]
        filename = baseline.csv
        """))
    (app / "lookups" / "proc_allow.csv").write_text(
        "process,allowed,reason\n*\\chrome.exe,true,browser\nping.exe,true,tool\n")
    (app / "lookups" / "nets.csv").write_text(
        "cidr,zone\n10.0.0.0/8,internal\n10.1.0.0/16,lab\n192.168.0.0/16,internal\n")
    (app / "lookups" / "exact.csv").write_text("name,kind\nAlpha,first\nalpha,second\n")
    (app / "lookups" / "multi.csv").write_text("port,service\n53,dns\n53,domain\n443,https\n")
    (app / "lookups" / "baseline.csv").write_text("host,protocol\n")
    (app / "default" / "savedsearches.conf").write_text(textwrap.dedent("""\
        [default]
        disabled = 1

        [Test - Rare Port - Rule]
        search = `src_net` NOT dest_port IN (53, 443) \\
        | eval detection_signal="Port_".dest_port, risk_score=60 \\
        | table _time host src dest dest_port detection_signal risk_score
        action.correlationsearch.enabled = 1
        action.correlationsearch.label = Rare port
        action.risk = 1
        action.risk.param._risk = [{"risk_object_field": "src", "risk_object_type": "system", "risk_score": 60}]

        [Test - Broken - Rule]
        search = `src_net` | transaction src
        action.correlationsearch.enabled = 1

        [Test - Default Score - Rule]
        search = `src_net` dest_port=22 | stats count by host src
        action.correlationsearch.enabled = 1
        action.risk.param._risk_score = 40

        [Test - Baseline]
        search = `src_net` | stats count by host transport | rename transport as protocol \\
        | fields host protocol | outputlookup baseline
        """))
    return app


@pytest.fixture
def runner(mini_app):
    return Runner(str(mini_app))


@pytest.fixture
def spl(runner):
    """spl(query, rows) -> result rows."""
    def run(query, rows=()):
        return runner.run(query, [dict(r) for r in rows]).rows
    return run


EVTX_DIR = Path(os.environ.get("C2HUNT_DATASETS", str(ROOT.parent / "shared" / "datasets"))) / "evtx-attack-samples"


@pytest.fixture(scope="session")
def evtx_events():
    """Events and issues of every EVTX file in evtx-attack-samples, read once (python-evtx is slow)."""
    if not EVTX_DIR.exists():
        pytest.skip("evtx-attack-samples not present")
    return Runner().read_files(sorted(str(p) for p in EVTX_DIR.glob("*.evtx")))
