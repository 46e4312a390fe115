"""c2asym: byte-transfer asymmetry per record (streaming, distributed).

    ... | c2asym [out=bytes_out] [in=bytes_in] [threshold=0.9] [min_bytes=1024]

Adds pcr, outbound_share, total_bytes and asym_flag (see searchbnf.conf and the README).
"""
import c2hunt_path  # (vendored libraries first)
from c2hunt.scp.framing import stop_before_start

# No numpy build for this platform: say so in the job inspector, not as an ImportError.
stop_before_start(c2hunt_path.missing_target_message())

import numpy as np  # noqa: E402

from c2hunt.scp import command, options  # noqa: E402
from c2hunt.asym import asymmetry  # noqa: E402
from c2hunt.scp.values import FixedCells, IntCells  # noqa: E402

OPTIONS = [
    options.Option("out", options.field_name, "bytes_out"),
    options.Option("in", options.field_name, "bytes_in"),
    options.Option("threshold", options.number(0.0, 1.0), 0.9),
    options.Option("min_bytes", options.number(0.0), 1024.0),
]


class C2Asym(command.StreamingCommand):
    name = "c2asym"

    def configure(self, args):
        self.options, _ = options.parse_args(self.name, args, OPTIONS)
        self.input_fields = (self.options["out"], self.options["in"])

    def compute(self, source, n_rows):
        (bytes_out, bad_out), (bytes_in, bad_in) = [source.numbers(name)
                                                     for name in self.input_fields]
        result, invalid = asymmetry(bytes_out, bytes_in, self.options["threshold"],
                                    self.options["min_bytes"])
        # Missing values are not reported; present but unusable ones (text, negative) are.
        bad = bad_out | bad_in | (invalid & ~np.isnan(bytes_out) & ~np.isnan(bytes_in))
        self.messages.count("WARN", "bad", int(bad.sum()),
                            "c2asym: %d records had a non-numeric, negative or multivalue %s or %s;"
                            " their outputs are empty", *self.input_fields)
        return [("pcr", FixedCells(result["pcr"])),
                ("outbound_share", FixedCells(result["outbound_share"])),
                ("total_bytes", FixedCells(result["total_bytes"])),
                ("asym_flag", IntCells(result["flag"]))]


if __name__ == "__main__":
    C2Asym.main()
