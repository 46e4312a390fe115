"""c2flow modular input: packet captures in a folder -> one c2hunt:flow event per flow and
one c2hunt:dns event per DNS query/response pair.

splunkd runs this script with --scheme, --validate-arguments, or with the input
definition on stdin (streaming mode, every ``interval`` seconds). The work is in
c2hunt.capture.flow_input; this adapter turns records into event XML and log lines into
splunkd.log (ExecProcessor).
"""
import c2hunt_path  # (vendored splunklib/numpy first)

import io
import os
import select
import sys

if c2hunt_path.missing_target_message():  # no numpy build for this platform: say which
    sys.exit(c2hunt_path.missing_target_message())

from splunklib.modularinput import Argument, Event, Scheme, Script  # noqa: E402

from c2hunt.capture import flow_input, flows  # noqa: E402

ARGUMENTS = (
    ("directory", Argument.data_type_string, True,
     "Folder the captures are written to (pcap or pcapng; rotated files welcome)."),
    ("file_pattern", Argument.data_type_string, False,
     "Comma-separated file name patterns to read (default *; other files are skipped)."),
    ("settle_seconds", Argument.data_type_number, False,
     "A capture modified less than this many seconds ago is still being written (default 30)."),
    ("require_newer_sibling", Argument.data_type_boolean, False,
     "Also wait until a newer file exists before reading the newest one (live rotation)."),
    ("idle_timeout", Argument.data_type_number, False,
     "Seconds without packets that end a flow (default 120)."),
    ("active_timeout", Argument.data_type_number, False,
     "A long flow is reported every this many seconds (default 1800)."),
    ("max_flows", Argument.data_type_number, False,
     "Open flows kept in memory; the least recently active are emitted early (default 100000)."),
    ("entropy_sample_bytes", Argument.data_type_number, False,
     "Payload bytes per record the payload entropy is computed over (default 4096)."),
    ("dns_events", Argument.data_type_boolean, False,
     "Also index one c2hunt:dns event per DNS query/response pair (default true)."),
)


class C2Flow(Script):
    def get_scheme(self):
        scheme = Scheme("C2 Hunt packet captures (c2flow)")
        scheme.description = ("Reads pcap/pcapng files from a folder once each and indexes one "
                              "c2hunt:flow event per flow (CIM Network_Traffic fields plus "
                              "service, payload entropy, payload sizes and ICMP echo "
                              "mismatch) and one c2hunt:dns event per DNS transaction.")
        scheme.use_external_validation = True
        scheme.use_single_instance = False
        scheme.streaming_mode = Scheme.streaming_mode_xml
        for name, data_type, required, description in ARGUMENTS:
            argument = Argument(name, title=name, description=description,
                                data_type=data_type, required_on_create=required,
                                required_on_edit=False)
            scheme.add_argument(argument)
        return scheme

    def validate_input(self, definition):
        flow_input.parse_settings(definition.parameters)

    def stream_events(self, inputs, ew):
        checkpoint_dir = inputs.metadata["checkpoint_dir"]
        for input_name, params in sorted(inputs.inputs.items()):
            try:
                settings = flow_input.parse_settings(params, check_directory=False)
            except ValueError as error:
                ew.log("ERROR", "c2flow %s: %s" % (input_name, error))
                continue
            writer = _EventBatchWriter(input_name, ew)
            summary = flow_input.collect(input_name, settings, checkpoint_dir,
                                         writer.write, ew.log)
            ew.log("INFO", "c2flow %s: %s" % (input_name, summary))


class _EventBatchWriter(object):
    """Writes records as event XML to stdout so that a kill cannot cut an event.

    Events are grouped into writes of at most PIPE_BUF bytes (4096 on Linux): a write that
    size to a pipe is all or nothing, so a process killed while splunkd reads slowly leaves
    whole events only (a single event larger than that is written alone). The checkpoint's
    progress line follows each call, so a kill duplicates at most one call's records.
    """

    def __init__(self, stanza, event_writer, fd=1):
        self.stanza = stanza
        self.event_writer = event_writer
        self.fd = fd

    def write(self, events, source):
        pieces = []
        if not self.event_writer.header_written:
            pieces.append(b"<stream>")
            self.event_writer.header_written = True   # EventWriter.close() ends the stream
        for sourcetype, record in events:
            buffer = io.StringIO()
            Event(data=flows.format_event(record), stanza=self.stanza,
                  time="%.6f" % flows.event_time(sourcetype, record), source=source,
                  sourcetype=sourcetype).write_to(buffer)
            pieces.append(buffer.getvalue().encode("utf-8"))
        sys.stdout.flush()   # whatever splunklib wrote before goes first
        write = []
        for piece in pieces:
            if write and sum(map(len, write)) + len(piece) > _ATOMIC_WRITE:
                _write_all(self.fd, b"".join(write))
                write = []
            write.append(piece)
        if write:
            _write_all(self.fd, b"".join(write))


_ATOMIC_WRITE = getattr(select, "PIPE_BUF", 512)  # POSIX guarantees at least 512


def _write_all(fd, data):
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view):]


if __name__ == "__main__":
    sys.exit(C2Flow().run(sys.argv))
