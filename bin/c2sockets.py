"""c2sockets modular input: every interval, one c2hunt:socket event per (socket, process)
for raw, ICMP, packet and vsock sockets (and, on request, TCP/UDP listeners) with the
process that holds it.

splunkd runs this script with --scheme, --validate-arguments, or with the input
definition on stdin every ``interval`` seconds. The work is in c2hunt.sockets.inventory;
it reads /proc (and dpkg's file lists) and asks sock_diag over netlink for vsock sockets;
it never opens a socket of the kinds it reports.
"""
import c2hunt_path  # noqa: F401 (puts the vendored splunklib on sys.path)

import sys

from splunklib.modularinput import Argument, Event, Scheme, Script  # noqa: E402

from c2hunt.sockets import inventory  # noqa: E402

SOURCETYPE = "c2hunt:socket"
ARGUMENTS = (
    ("listeners", Argument.data_type_boolean, False,
     "Also report listening TCP sockets and bound, unconnected UDP sockets (default false)."),
    ("max_processes", Argument.data_type_number, False,
     "Processes whose open files are walked per pass (default 20000)."),
    ("max_sockets", Argument.data_type_number, False,
     "Sockets reported per pass (default 5000)."),
)


class C2Sockets(Script):
    def get_scheme(self):
        scheme = Scheme("C2 Hunt socket inventory (c2sockets)")
        scheme.description = ("Lists the raw, ICMP, packet and vsock sockets of this host (and, on "
                              "request, TCP/UDP listeners) with the process holding each: "
                              "one c2hunt:socket event per socket and process per interval.")
        scheme.use_external_validation = True
        scheme.use_single_instance = False
        scheme.streaming_mode = Scheme.streaming_mode_xml
        for name, data_type, required, description in ARGUMENTS:
            scheme.add_argument(Argument(name, title=name, description=description,
                                         data_type=data_type, required_on_create=required,
                                         required_on_edit=False))
        return scheme

    def validate_input(self, definition):
        inventory.parse_settings(definition.parameters)

    def stream_events(self, inputs, ew):
        checkpoint_dir = inputs.metadata["checkpoint_dir"]
        for input_name, params in sorted(inputs.inputs.items()):
            try:
                settings = inventory.parse_settings(params)
            except ValueError as error:
                ew.log("ERROR", "c2sockets %s: %s" % (input_name, error))
                continue

            def write(records, stanza=input_name):
                for record in records:
                    ew.write_event(Event(data=inventory.format_event(record), stanza=stanza,
                                         time="%.3f" % record["last_seen"], source="c2sockets",
                                         sourcetype=SOURCETYPE))

            summary = inventory.collect(input_name, settings, checkpoint_dir, write, ew.log)
            ew.log("INFO", "c2sockets %s: %s" % (input_name, summary))


if __name__ == "__main__":
    sys.exit(C2Sockets().run(sys.argv))
