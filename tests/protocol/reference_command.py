"""splunklib-based reference path: the app's commands on the SDK's per-record I/O.

Run as ``PYTHONPATH=<app>/bin python reference_command.py <name>``: like the app's own
scripts it imports ``c2hunt_path`` first, from the bin/ folder under test. <name> is one of
``passthrough`` (a trivial StreamingCommand, the throughput baseline), ``c2entropy``,
``c2asym``, ``c2beacon``. The differential tests run each command through both this path
and the app's own chunk I/O and require the same records, fields and messages.
"""
import sys

import c2hunt_path  # noqa: F401  (vendored splunklib/numpy when present)
from splunklib.searchcommands import (Configuration, ReportingCommand,
                                      StreamingCommand, dispatch)

from c2hunt.scp.columns import RecordSource
from c2hunt.scp.values import Cells
from c2hunt.scp.options import OptionError


@Configuration()
class PassThrough(StreamingCommand):
    """Yields every record unchanged: the cost of the SDK's record I/O alone."""

    def stream(self, records):
        for record in records:
            yield record


class _AppCommand(object):
    """Mixin: hand every argument to the app's own option parser (same messages)."""

    core_class = None

    def _protocol_v2_option_parser(self, arg):
        return [arg]  # everything lands in self.fieldnames; the app parses it

    def prepare(self):
        super().prepare()
        self.core = self.core_class()
        try:
            self.core.configure(list(self.fieldnames))
        except OptionError as error:
            self.write_error(str(error))
            raise SystemExit(1)
        if self.core.required_fields is not None:
            self.configuration.required_fields = list(self.core.required_fields)

    def _flush_messages(self):
        if self._finished:
            self.core.messages.finish()
        for level, text in self.core.messages.take():
            self._record_writer.write_message(level, text)



def streaming(core_class):
    @Configuration()
    class Reference(_AppCommand, StreamingCommand):
        def stream(self, records):
            records = list(records)
            if records:
                for name, values in self.core.compute(RecordSource(records), len(records)):
                    if isinstance(values, Cells):  # the per-value formatting, not the vectorised
                        values = values.texts()
                    for record, value in zip(records, values):
                        self.add_field(record, name, value)
            self._flush_messages()
            for record in records:
                yield record

    Reference.core_class = core_class
    return Reference


def reporting(core_class):
    @Configuration()
    class Reference(_AppCommand, ReportingCommand):
        def prepare(self):
            super().prepare()
            # splunklib 2.1.1 announces a streaming_preop ("<name> phase=map") even when
            # the command has no map phase; c2beacon has none, so the reference clears it.
            vars(self._configuration).pop("_streaming_preop", None)

        def reduce(self, records):
            records = list(records)
            if records:
                self.core.ingest(RecordSource(records), len(records))
            rows = []
            if self._finished:
                fields, rows = self.core.results()
            self._flush_messages()
            for row in rows:
                yield dict(zip(fields, row))

    Reference.core_class = core_class
    return Reference


COMMANDS = {"passthrough": PassThrough}


def main(argv):
    name = argv[1] if len(argv) > 1 else "passthrough"
    if name == "c2entropy":
        from c2entropy import C2Entropy
        COMMANDS[name] = streaming(C2Entropy)
    elif name == "c2asym":
        from c2asym import C2Asym
        COMMANDS[name] = streaming(C2Asym)
    elif name == "c2beacon":
        from c2beacon import C2Beacon
        COMMANDS[name] = reporting(C2Beacon)
    # splunklib picks protocol v1 when argv has more than one element: hide our own.
    dispatch(COMMANDS[name], argv=[argv[0]], module_name="__main__")


main(sys.argv)
