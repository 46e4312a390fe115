"""splunklib-based reference path: the app's commands on the SDK's per-record I/O.

Run as ``python reference_command.py <name>`` with the environment variable C2HUNT_BIN
pointing at the app's bin/ folder (default: this checkout's bin/). <name> is one of
``passthrough`` (a trivial StreamingCommand, the throughput baseline), ``c2entropy``,
``c2asym``, ``c2beacon``. The differential tests run each command through both this path
and the app's own chunk I/O and require the same records, fields and messages.
"""
import os
import sys

BIN = os.environ.get("C2HUNT_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "bin")
sys.path.insert(0, os.path.abspath(BIN))

import c2hunt_path  # noqa: E402,F401  (vendored splunklib/numpy when present)
from splunklib.searchcommands import (Configuration, StreamingCommand,  # noqa: E402
                                      dispatch)


@Configuration()
class PassThrough(StreamingCommand):
    """Yields every record unchanged: the cost of the SDK's record I/O alone."""

    def stream(self, records):
        for record in records:
            yield record


COMMANDS = {"passthrough": PassThrough}


def main(argv):
    name = argv[1] if len(argv) > 1 else "passthrough"
    if name not in COMMANDS:
        from c2hunt import reference
        COMMANDS.update(reference.COMMANDS)
    # splunklib picks protocol v1 when argv has more than one element: hide our own.
    dispatch(COMMANDS[name], argv=[argv[0]], module_name="__main__")


main(sys.argv)
