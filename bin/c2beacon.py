"""c2beacon: score periodic beaconing per group (reporting: one output row per group).

    ... | c2beacon [time=_time] [size=bytes_out] [duration=duration] [min_count=6]
          [evidence_span=3600] [window=<seconds>] [max_events=5000000] <by-fields>
    ... | c2beacon series=<mvfield> [min_count=6] [evidence_span=3600] [window=<seconds>]
          [max_events=5000000] <by-fields>

Raw events: one timestamp (and optional size and duration) per event. Pre-aggregated: one
row (or several) per group whose multivalue ``series`` field holds tokens ``epoch``,
``epoch:count``, ``epoch:count:bytes`` or ``epoch:count:bytes:duration`` (bytes and duration
= totals of those connections; an empty part is missing), e.g. from
``stats values(token) as series by src dest dest_port``; token order does not matter.
``window`` is the observation window in seconds (default: from the first to the last event
handed over), which sets coverage and the check-ins a group needs.
Events are held until splunkd says the search is finished, so a group split across
chunks scores exactly as in one chunk. More than ``max_events`` held stops the search
with an error instead of exhausting memory.
"""
import c2hunt_path  # (vendored libraries first)
from c2hunt.scp.framing import stop_before_start

# No numpy build for this platform: say so in the job inspector, not as an ImportError.
stop_before_start(c2hunt_path.missing_target_message())

import numpy as np  # noqa: E402

from c2hunt.scp import command, options, output  # noqa: E402
from c2hunt.beacon import (BEACON_FIELDS, DEFAULT_EVIDENCE_SPAN,  # noqa: E402
                           DEFAULT_MIN_COUNT, score_groups)
from c2hunt.blockwise import score_in_blocks  # noqa: E402
from c2hunt.scp.values import (FixedCells, IntCells, epoch_times,  # noqa: E402
                               parse_series_tokens)

DEFAULT_MAX_EVENTS = 5000000  # measured peak ~260 MB at the limit (benchmarks/beacon_memory.py)
OPTIONS = [
    options.Option("time", options.field_name, "_time"),
    options.Option("size", options.field_name, "bytes_out"),
    options.Option("duration", options.field_name, "duration"),
    options.Option("series", options.field_name, None),
    options.Option("min_count", options.integer(3), DEFAULT_MIN_COUNT),
    options.Option("evidence_span", options.number(minimum=1), DEFAULT_EVIDENCE_SPAN),
    options.Option("window", options.number(minimum=1), None),
    options.Option("max_events", options.integer(1), DEFAULT_MAX_EVENTS),
]
# Output formats: whole numbers, times to the millisecond, scores to 4 decimals.
_WHOLE = {"beacon_count", "beacon_checkins", "beacon_required_count"}
_ID_BITS = 21  # up to three by-fields' value ids packed in one int64
_TIMES = {"beacon_period", "beacon_first", "beacon_last", "beacon_span", "beacon_size",
          "beacon_duration"}


class C2Beacon(command.SearchCommand):
    name = "c2beacon"
    command_type = "reporting"

    def configure(self, args):
        self.options, by_fields = options.parse_args(self.name, args, OPTIONS,
                                                     positional_parse=options.field_name)
        if by_fields and by_fields[0].lower() == "by":
            by_fields = by_fields[1:]
        self.by_fields = list(dict.fromkeys(by_fields))
        series = self.options["series"]
        value_fields = [series] if series else [self.options["time"], self.options["size"],
                                                self.options["duration"]]
        self.input_fields = list(dict.fromkeys(self.by_fields + value_fields))
        self.required_fields = self.input_fields
        self._field_values = [{} for _ in self.by_fields]  # per by-field: value -> id
        self._group_codes = np.zeros(0, dtype=np.int64)     # sorted packed value ids ...
        self._code_groups = np.zeros(0, dtype=np.int64)     # ... and their group
        self._group_dict = None    # (value ids) -> group, when the ids do not pack in 63 bits
        self._group_fields = []    # per chunk: value ids of the groups it added
        self._n_groups = 0
        self._group_values = []
        self._parts = []
        self._n_events = 0
        self._values_seen = 0   # time values or series tokens of grouped events

    def execute(self, chunk, finished):
        if chunk.n_rows:
            self.ingest(chunk, chunk.n_rows)
        if not finished:
            return b""
        self._report_absent_values()
        return self.results_body()

    def _report_absent_values(self):
        """A value field that no grouped event had: every group would count 0, unexplained."""
        if self._n_groups and not self._values_seen:
            name = self.options["series"] or self.options["time"]
            self.messages.add("WARN", "c2beacon: no grouped event had a value of %s (is the"
                              " field name right?); every group has beacon_count 0" % name)

    # ---------------------------------------------------------------- accumulating

    def ingest(self, source, n_rows):
        """Add one chunk's events (read from ``source``, a ColumnSource) to the groups held."""
        rows, group_index = self._group_rows(source, n_rows)
        if self.options["series"]:
            times, sizes, durations, counts, group_index = self._series_events(
                source.column(self.options["series"]), rows.tolist(), group_index)
        else:
            times, bad = self._numbers(source, self.options["time"], rows, "time")
            sizes, _ = self._numbers(source, self.options["size"], rows, None)
            durations, _ = self._numbers(source, self.options["duration"], rows, None)
            counts = None
            self.messages.count("INFO", "no-time", int(np.isnan(times).sum() - bad.sum()),
                                "c2beacon: %d events without %s were not scored",
                                self.options["time"])
        if self._n_events + len(times) > self.options["max_events"]:
            raise command.CommandFailure(
                "c2beacon: more than max_events=%d events to hold in memory. Pre-aggregate"
                " with stats and use series= (README: c2beacon at scale), narrow the search,"
                " or raise max_events." % self.options["max_events"])
        self._n_events += len(times)
        # int32 group ids (4 bytes an event) while they fit: c2beacon holds every event.
        group_index = group_index.astype(np.int32 if self._n_groups < 2 ** 31 else np.int64)
        self._parts.append([group_index, times, sizes, durations, counts])

    def _group_rows(self, source, n_rows):
        """Rows that have every by-field, and their group ids (new groups registered)."""
        rows, key_index, distinct, key_values, first_rows = source.group_keys(self.by_fields)
        self.messages.count("WARN", "no-group", n_rows - len(rows),
                            "c2beacon: %d events lacked one of %s and were not grouped",
                            ", ".join(self.by_fields))
        # Field values -> ids valid for the whole search: one dict step per distinct value.
        value_ids = np.zeros(key_values.shape, dtype=np.int64)
        for field, (known, values) in enumerate(zip(self._field_values, distinct)):
            local = np.fromiter((known.setdefault(value, len(known)) for value in values),
                                dtype=np.int64, count=len(values))
            if len(key_values):
                value_ids[:, field] = local[key_values[:, field]]
        key_groups, new = self._lookup_groups(value_ids)
        if len(new):  # a new group shows the by-field values of its first event
            self._group_values.extend(source.display_cells(self.by_fields, first_rows[new]))
        return rows, key_groups[key_index]

    def _lookup_groups(self, value_ids):
        """Group of each distinct key (a row of value ids); new keys become new groups."""
        n_keys, n_fields = value_ids.shape
        packs = (self._group_dict is None and n_fields <= 3
                 and (value_ids.size == 0 or int(value_ids.max()) < 1 << _ID_BITS))
        if not packs and self._group_dict is None:  # from now on, a dict of tuples
            known = np.concatenate(self._group_fields) if self._group_fields else value_ids[:0]
            self._group_dict = dict(zip(map(tuple, known.tolist()), range(self._n_groups)))
        if packs:
            code = np.zeros(n_keys, dtype=np.int64)
            for field in range(n_fields):
                code = (code << _ID_BITS) | value_ids[:, field]
            at = np.searchsorted(self._group_codes, code)
            found = np.zeros(n_keys, dtype=bool)
            inside = at < len(self._group_codes)
            found[inside] = self._group_codes[at[inside]] == code[inside]
            groups = np.empty(n_keys, dtype=np.int64)
            groups[found] = self._code_groups[at[found]]
            new = np.flatnonzero(~found)
            groups[new] = self._n_groups + np.arange(len(new))
            codes = np.concatenate((self._group_codes, code[new]))
            order = np.argsort(codes, kind="stable")
            self._group_codes = codes[order]
            self._code_groups = np.concatenate((self._code_groups, groups[new]))[order]
        else:
            setdefault = self._group_dict.setdefault
            groups = np.fromiter((setdefault(key, len(self._group_dict))
                                  for key in map(tuple, value_ids.tolist())),
                                 dtype=np.int64, count=n_keys)
            new = np.flatnonzero(groups >= self._n_groups)
        self._n_groups += len(new)
        self._group_fields.append(value_ids[new])
        return groups, new

    def _numbers(self, source, name, rows, what):
        values, bad = source.numbers(name)
        values, bad = values[rows], bad[rows]
        if what is not None:
            self.messages.count("WARN", "bad-" + what, int(bad.sum()),
                                "c2beacon: %d values of %s were not epoch times or were"
                                " multivalue; those events were ignored", self.options[what])
        if what == "time":
            self._values_seen += int(np.count_nonzero(~np.isnan(values) | bad))
            values, out_of_range = epoch_times(values)
            self.messages.count("WARN", "time-range", int(out_of_range.sum()),
                                "c2beacon: %d values of %s were outside the epoch range (1970"
                                " to 2286); those events were ignored", self.options[what])
            bad = bad | out_of_range
        return values, bad

    def _series_events(self, column, rows, group_index):
        owners, tokens = [], []
        for position, row in enumerate(rows):
            items = column.items(row)
            owners.extend([group_index[position]] * len(items))
            tokens.extend(items)
        self._values_seen += len(tokens)
        times, counts, total_bytes, total_seconds, bad = parse_series_tokens(tokens)
        self.messages.count("WARN", "bad-token", int(bad.sum()),
                            "c2beacon: %d values of %s were not epoch[:count[:bytes[:duration]]]"
                            " tokens (epoch from 1970 to 2286, count a whole number from 1 to 1e9,"
                            " bytes from 0 to 1e18, duration from 0 to 1e15 s) and were ignored",
                            self.options["series"])
        with np.errstate(invalid="ignore", divide="ignore"):
            sizes = total_bytes / counts
            durations = total_seconds / counts
        return times, sizes, durations, counts, np.asarray(owners, dtype=np.int64)

    # ---------------------------------------------------------------- results

    def _scored(self):
        """(scores, order): the kernel's output per group and the groups in output order."""
        n_groups = self._n_groups
        # One held array at a time is joined and its parts freed: memory holds each once.
        group_index, times, sizes, durations, counts = [self._joined(field) for field in range(5)]
        self._parts = [[group_index, times, sizes, durations, counts]]
        if np.isnan(sizes).all():
            sizes = None
        if np.isnan(durations).all():
            durations = None
        scores = score_in_blocks(score_groups, group_index, times, sizes=sizes, counts=counts,
                                 durations=durations, n_groups=n_groups,
                                 min_count=self.options["min_count"],
                                 window=self.options["window"],
                                 evidence_span=self.options["evidence_span"])
        # Ordered by the by-field values (their plain text): rank each field's values once.
        fields = np.concatenate(self._group_fields)
        ranks = []
        for field in range(len(self.by_fields) - 1, -1, -1):
            values = list(self._field_values[field])
            rank = np.empty(len(values), dtype=np.int64)
            rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
            ranks.append(rank[fields[:, field]])
        order = np.lexsort(ranks) if ranks else np.arange(n_groups)
        return scores, order

    def _joined(self, field):
        """Field ``field`` (0 groups, 1 times, 2 sizes, 3 durations, 4 counts) of every part,
        joined; the parts let go of it. None for counts of raw events."""
        pieces = [part[field] for part in self._parts]
        for part in self._parts:
            part[field] = None
        if not pieces or pieces[0] is None:
            return None if field == 4 else np.zeros(0)
        return np.concatenate(pieces)

    def _score_cells(self, scores, order):
        cells = []
        for name in BEACON_FIELDS:
            values = scores[name][order]
            if name in _WHOLE:
                cells.append(IntCells(values))
            elif name in _TIMES:
                cells.append(FixedCells(values, 3))
            else:
                cells.append(FixedCells(values, 4))
        return cells

    def results(self):
        """(fields, rows): one row per group, ordered by the by-field values."""
        fields = self.by_fields + list(BEACON_FIELDS)
        if not self._n_groups:
            return fields, []
        scores, order = self._scored()
        columns = [cells.texts() for cells in self._score_cells(scores, order)]
        rows = [list(self._group_values[group]) for group in order.tolist()]
        for row, values in zip(rows, zip(*columns)):
            row.extend(values)
        return fields, rows

    def results_body(self):
        """The CSV body of :meth:`results`, the by-field cells copied as they came in."""
        if not self._n_groups:
            return b""
        scores, order = self._scored()
        leading = [output.encode_display(self._group_values[group]) for group in order.tolist()]
        return output.records_body(self.by_fields + list(BEACON_FIELDS), leading,
                                    self._score_cells(scores, order))


if __name__ == "__main__":
    C2Beacon.main()
