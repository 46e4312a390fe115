"""c2entropy: Shannon entropy of fields (streaming, distributed).

    ... | c2entropy field=<f> [field=<f2>...] [decode=none|hex|base64|auto] [mode=text|dns]
                    [prefix=<p>]

For each field f adds <prefix><f>_entropy (bits/symbol), <prefix><f>_entropy_norm (0..1)
and <prefix><f>_length; mode=dns scores the labels left of the registered domain and adds
<prefix><f>_labels, <prefix><f>_longest_label and <prefix><f>_registered_domain.
"""
import c2hunt_path  # (vendored libraries first)
from c2hunt.scp.framing import stop_before_start

# No numpy build for this platform: say so in the job inspector, not as an ImportError.
stop_before_start(c2hunt_path.missing_target_message())

import numpy as np  # noqa: E402

from c2hunt.scp import command, options  # noqa: E402
from c2hunt.entropy import (  # noqa: E402
    BYTE_ALPHABET, DNS_ALPHABET, TEXT_ALPHABET, decode_payload, entropy_profile,
    normalised_entropy, segment_entropy)
from c2hunt.scp.values import BytesCells, Cells, FixedCells, IntCells, format_fixed  # noqa: E402

OPTIONS = [
    options.Option("field", options.field_list, repeat=True),
    options.Option("decode", options.choice("none", "hex", "base64", "auto"), "none"),
    options.Option("mode", options.choice("text", "dns"), "text"),
    options.Option("prefix", options.text_value, ""),
]


class C2Entropy(command.StreamingCommand):
    name = "c2entropy"

    def configure(self, args):
        self.options, _ = options.parse_args(self.name, args, OPTIONS)
        fields = list(dict.fromkeys(self.options["field"]))
        if not fields:
            raise options.OptionError("c2entropy: name at least one field, e.g. field=query")
        if self.options["mode"] == "dns" and self.options["decode"] != "none":
            raise options.OptionError("c2entropy: decode applies to mode=text only")
        self.input_fields = fields

    def compute(self, source, n_rows):
        out = []
        for field in self.input_fields:
            cells = None
            if self.options["mode"] == "text" and self.options["decode"] == "none":
                cells = source.ascii_cells(field)
            if cells is not None:  # bytes are the symbols: no str per value
                flat, offsets = cells
                out.extend(self._score_symbols(field, flat, np.diff(offsets)))
                continue
            if self.options["mode"] == "dns":
                from c2hunt.dns import split_names  # the suffix list loads only when used
                cells = source.cell_bytes(field)
                split = split_names(*cells) if cells is not None else None
                if split is not None:
                    out.extend(self._score_split(field, split))
                    continue
            column = source.column(field)
            if column.multi:  # one sample per value; outputs are multivalue on those rows
                owners, items = [], []
                for row in range(n_rows):
                    values = column.items(row)
                    owners.extend([row] * len(values))
                    items.extend(values)
            else:
                owners, items = None, column.values
            scored = self._score(field, items)
            out.extend((name, _regroup(values, owners, n_rows)) for name, values in scored)
        return out

    def _score_symbols(self, field, symbols, lengths):
        name = self.options["prefix"] + field
        entropy, n_distinct, length = segment_entropy(symbols, lengths)
        norm = normalised_entropy(entropy, length, n_distinct, TEXT_ALPHABET)
        length = np.where(length == 0, np.nan, length.astype(np.float64))
        return [(name + "_entropy", FixedCells(entropy)),
                (name + "_entropy_norm", FixedCells(norm)),
                (name + "_length", IntCells(length))]

    def _score_split(self, field, split):
        """mode=dns outputs from :func:`c2hunt.dns.split_names` (same as :meth:`_score_dns`)."""
        name = self.options["prefix"] + field
        if split.symbols is not None:
            entropy, n_distinct, length = segment_entropy(split.symbols, split.sample_lengths)
        else:
            entropy, n_distinct, length = entropy_profile(split.samples)
        norm = normalised_entropy(entropy, length, n_distinct, DNS_ALPHABET)
        missing = split.missing

        def whole(values):
            return IntCells(np.where(missing, np.nan, values.astype(np.float64)))

        return [(name + "_entropy", FixedCells(entropy)),
                (name + "_entropy_norm", FixedCells(norm)),
                (name + "_length", whole(split.sample_lengths)),
                (name + "_labels", whole(split.n_labels)),
                (name + "_longest_label", whole(split.longest)),
                (name + "_registered_domain",
                 BytesCells(split.registered_bytes, split.registered_starts,
                            split.registered_ends, split.has_registered))]

    def _score(self, field, items):
        name = self.options["prefix"] + field
        if self.options["mode"] == "dns":
            return self._score_dns(name, items)
        samples, alphabet = items, TEXT_ALPHABET
        if self.options["decode"] != "none":
            samples, alphabet, failed = _decode_all(items, self.options["decode"])
            self.messages.count("WARN", "decode:" + field, failed,
                                "c2entropy: %d values of %s are not valid %s; their outputs are"
                                " empty", field, self.options["decode"])
        entropy, n_distinct, length = entropy_profile(samples)
        norm = normalised_entropy(entropy, length, n_distinct, alphabet)
        missing = np.fromiter((sample is None or sample == "" for sample in samples),
                              dtype=bool, count=len(samples))
        length = length.astype(np.float64)
        length[missing] = np.nan
        return [(name + "_entropy", FixedCells(entropy)),
                (name + "_entropy_norm", FixedCells(norm)),
                (name + "_length", IntCells(length))]

    def _score_dns(self, name, items):
        from c2hunt.dns import split_name
        splits = [split_name(item) if item else None for item in items]
        samples = ["".join(split.labels) if split else "" for split in splits]
        entropy, n_distinct, length = entropy_profile(samples)
        norm = normalised_entropy(entropy, length, n_distinct, DNS_ALPHABET)
        labels = [None if split is None else str(len(split.labels)) for split in splits]
        longest = [None if split is None else str(max([len(label) for label in split.labels] or [0]))
                   for split in splits]
        lengths = [None if split is None else str(n) for split, n in zip(splits, length.tolist())]
        return [(name + "_entropy", format_fixed(entropy)),
                (name + "_entropy_norm", format_fixed(norm)),
                (name + "_length", lengths),
                (name + "_labels", labels),
                (name + "_longest_label", longest),
                (name + "_registered_domain", [split.registered if split else None
                                               for split in splits])]


def _decode_all(items, how):
    """Decoded samples (bytes as latin-1 text), alphabet size per sample, failures."""
    samples, alphabet, failed = [], np.empty(len(items)), 0
    for index, item in enumerate(items):
        if not item:
            samples.append("")
            alphabet[index] = TEXT_ALPHABET
            continue
        payload, used = decode_payload(item, how)
        if payload is None:
            failed += 1
            samples.append("")
        elif isinstance(payload, bytes):
            samples.append(payload.decode("latin-1"))
        else:
            samples.append(payload)
        alphabet[index] = BYTE_ALPHABET if used != "text" else TEXT_ALPHABET
    return samples, alphabet, failed


def _regroup(values, owners, n_rows):
    """Per-value outputs back to one value (or a multivalue list) per record."""
    if owners is None:
        return values
    if isinstance(values, Cells):
        values = values.texts()
    rows = [[] for _ in range(n_rows)]
    for owner, value in zip(owners, values):
        rows[owner].append("" if value is None else value)
    return [None if not items or all(item == "" for item in items) else
            (items[0] if len(items) == 1 else items) for items in rows]


if __name__ == "__main__":
    C2Entropy.main()
