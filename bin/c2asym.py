"""c2asym: byte-transfer asymmetry per record (streaming, distributed).

    ... | c2asym [out=bytes_out] [in=bytes_in] [threshold=0.9] [min_bytes=1024]

Adds pcr, outbound_share, total_bytes and asym_flag (see searchbnf.conf and the README).
"""
import c2hunt_path  # noqa: F401  (vendored libraries first)

from c2hunt import chunked, options
from c2hunt.asym import asymmetry
from c2hunt.values import format_fixed, format_int, to_float

OPTIONS = [
    options.Option("out", options.field_name, "bytes_out"),
    options.Option("in", options.field_name, "bytes_in"),
    options.Option("threshold", options.number(0.0, 1.0), 0.9),
    options.Option("min_bytes", options.number(0.0), 1024.0),
]
OUTPUT_FIELDS = ("pcr", "outbound_share", "total_bytes", "asym_flag")


class C2Asym(chunked.StreamingCommand):
    name = "c2asym"

    def configure(self, args):
        self.options, _ = options.parse_args(self.name, args, OPTIONS)
        self.input_fields = (self.options["out"], self.options["in"])

    def compute(self, columns, n_rows):
        numbers = []
        bad = None
        for name in self.input_fields:
            column = columns[name]
            texts = list(column.values)
            for row in column.multi:  # a multivalue byte count is ambiguous: invalid
                texts[row] = "multivalue"
            values, unparsable = to_float(texts)
            bad = unparsable if bad is None else bad | unparsable
            numbers.append(values)
        result, invalid = asymmetry(numbers[0], numbers[1], self.options["threshold"],
                                    self.options["min_bytes"])
        bad = bad | (invalid & ~(numbers[0] != numbers[0]) & ~(numbers[1] != numbers[1]))
        self.messages.count("WARN", "bad", int(bad.sum()),
                            "c2asym: %%d records had a non-numeric, negative or multivalue %s or %s;"
                            " their outputs are empty" % self.input_fields)
        return [("pcr", format_fixed(result["pcr"])),
                ("outbound_share", format_fixed(result["outbound_share"])),
                ("total_bytes", format_fixed(result["total_bytes"])),
                ("asym_flag", format_int(result["flag"]))]


if __name__ == "__main__":
    C2Asym.main()
