"""Protocol tier helpers: run the app's commands (and the splunklib reference) as splunkd does."""
from pathlib import Path

import pytest

from c2hunt_offline import scp_driver

REFERENCE = Path(__file__).resolve().parent / "reference_command.py"


@pytest.fixture
def run_app(app_dir, splunk_python):
    """run_app(command, args, records, **kw): the app's bin/<command>.py, vendored libs."""
    def run(command, args, records, **kwargs):
        return scp_driver.run_command(app_dir / "bin" / (command + ".py"), args, records,
                                      python=splunk_python, **kwargs)
    return run


@pytest.fixture
def run_reference(app_dir, splunk_python):
    """The same command on splunklib's per-record I/O (the differential reference)."""
    def run(command, args, records, **kwargs):
        return scp_driver.run_command(REFERENCE, args, records, python=splunk_python,
                                      script_args=[command],
                                      env={"PYTHONPATH": str(app_dir / "bin")}, **kwargs)
    return run
