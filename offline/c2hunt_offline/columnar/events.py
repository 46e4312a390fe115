"""The events of a hunt as frames, one per sourcetype, built once and shared by every search.

A search's first segment names its sourcetypes (``sourcetype="bro:conn:json" OR ...``), so
it looks only at the partitions it can match (:mod:`.search`). Every partition carries
``__pos``, the event's position in the global newest-first order, so rows selected from
several partitions come back in exactly the order the row engine returns them.
"""
import heapq

import polars as pl

from ..values import to_number
from .table import distinct_groups, NotColumnar, frame_from_rows, python_values, rows_from_frame, series_from_values

POSITION = "__pos"


def partition_key(sourcetype):
    """The partition an event with this ``sourcetype`` value belongs to ("" when it has no
    single non-empty string sourcetype: that partition is always searched in full)."""
    return sourcetype if type(sourcetype) is str else ""


def merged_order(orders):
    """One field order consistent with each of ``orders`` (field lists): every list's fields
    keep their relative order where the lists agree (a topological order of "comes before",
    ties broken by first appearance). So events of one layout with optional fields keep that
    layout's order, the order their row dicts show the fields in."""
    layouts = list(dict.fromkeys(tuple(order) for order in orders))
    rank, after, before_count = {}, {}, {}
    for layout in layouts:
        for name in layout:
            if name not in rank:
                rank[name] = len(rank)
                after[name], before_count[name] = set(), 0
        for a, b in zip(layout, layout[1:]):
            if b not in after[a]:
                after[a].add(b)
                before_count[b] += 1
    ready = [(rank[n], n) for n in rank if not before_count[n]]
    heapq.heapify(ready)
    out, done = [], set()
    while len(out) < len(rank):
        if not ready:  # layouts disagree (a cycle): the earliest field left goes next
            heapq.heappush(ready, min((r, n) for n, r in rank.items() if n not in done))
        _, name = heapq.heappop(ready)
        if name in done:
            continue
        out.append(name)
        done.add(name)
        for later in after[name]:
            before_count[later] -= 1
            if not before_count[later] and later not in done:
                heapq.heappush(ready, (rank[later], later))
    return out


def concat_frames(frames):
    """Frames stacked (columns united in order of appearance, a missing column null).

    A column one frame holds as strings and another as numbers is rebuilt from its Python
    values, so the result holds what ``frame_from_rows`` of all the rows would hold."""
    frames = [f for f in frames if f.width]
    if not frames:
        return pl.DataFrame()
    if len(frames) == 1:
        return frames[0]
    dtypes = {}
    for frame in frames:
        for name, dtype in frame.schema.items():
            dtypes.setdefault(name, set()).add(dtype)
    mixed = [name for name, kinds in dtypes.items() if len(kinds) > 1]
    order = merged_order([f.columns for f in frames])
    if not mixed:
        return pl.concat(frames, how="diagonal").select(order)
    values = {name: [] for name in mixed}
    for frame in frames:
        for name in mixed:
            values[name].extend(python_values(frame.get_column(name)) if name in frame.columns
                                else [None] * frame.height)
    stacked = pl.concat([f.drop([m for m in mixed if m in f.columns]) for f in frames], how="diagonal")
    stacked = stacked.with_columns([series_from_values(name, values[name]) for name in mixed])
    return stacked.select(order)


def numeric_column(series):
    """``to_number`` of every cell as a Float64 column (null where it is not a number)."""
    if series.dtype == pl.Float64:
        return series.fill_nan(None)
    if series.dtype == pl.String:
        distinct = series.drop_nulls().unique()
        numbers = [to_number(v) for v in distinct.to_list()]
        return series.replace_strict(distinct, numbers, default=None, return_dtype=pl.Float64)
    return pl.Series(series.name, [to_number(v) for v in python_values(series)], dtype=pl.Float64)


class EventTable(object):
    """The events of a hunt, one frame per sourcetype (newest first within it)."""

    def __init__(self, partitions, events=None, source=None):
        self.partitions = partitions
        self._events = events
        # the event dicts "__pos" indexes (from_events): selected rows are copied from them
        # exactly as the row engine copies them, when the next command runs on rows
        self.source = source

    @classmethod
    def from_events(cls, events):
        """From event dicts as :meth:`Runner.read_files` returns them (newest first)."""
        positions = {}
        for pos, event in enumerate(events):
            positions.setdefault(partition_key(event.get("sourcetype")), []).append(pos)
        partitions = {}
        for key, where in positions.items():
            rows = [events[p] for p in where]
            frame = frame_from_rows(rows)
            frame = frame.select(merged_order(tuple(row) for row in rows))
            partitions[key] = frame.with_columns(pl.Series(POSITION, where, dtype=pl.Int64))
        return cls(partitions, events, events)

    @classmethod
    def from_frames(cls, frames):
        """From reader frames in any order (each in its file's order): ordered newest first
        as :meth:`Runner.read_files` orders events, ties kept in reading order."""
        frames = [f for f in frames if f.height]
        if not frames:
            return cls({}, [])
        times = pl.concat([numeric_column(f.get_column("_time")).fill_null(0.0).alias("t").to_frame()
                           if "_time" in f.columns else pl.DataFrame({"t": [0.0] * f.height})
                           for f in frames])
        order = times.with_row_index("i").sort("t", descending=True, maintain_order=True).get_column("i")
        position = pl.Series(POSITION, range(len(order)), dtype=pl.Int64).scatter(order, range(len(order)))
        start, parts = 0, {}
        for frame in frames:
            frame = frame.with_columns(position.slice(start, frame.height))
            start += frame.height
            sourcetype = frame.get_column("sourcetype") if "sourcetype" in frame.columns else None
            if sourcetype is None or sourcetype.dtype != pl.String:
                parts.setdefault("", []).append(frame)
            elif not sourcetype.null_count() and (sourcetype == sourcetype[0]).all():
                parts.setdefault(partition_key(sourcetype[0]), []).append(frame)  # one file, one sourcetype
            else:
                for (key,), group in frame.group_by("sourcetype", maintain_order=True):
                    parts.setdefault(partition_key(key), []).append(group)
        return cls({key: _by_position(concat_frames(group)) for key, group in parts.items()})

    def __len__(self):
        return sum(frame.height for frame in self.partitions.values())

    def __iter__(self):
        """The event dicts (materialised once): a table stands wherever a list of events did."""
        return iter(self.rows())

    def times(self):
        """Every event's numeric ``_time`` (a Float64 column; null where it has none)."""
        columns = [numeric_column(f.get_column("_time")) if "_time" in f.columns
                   else pl.Series("_time", [None] * f.height, dtype=pl.Float64)
                   for f in self.partitions.values() if f.height]
        return pl.concat(columns) if columns else pl.Series("_time", [], dtype=pl.Float64)

    def distinct(self, fields):
        """(one representative event dict per distinct tuple of ``fields``' values, how many
        events share it), without materialising the events."""
        out = []
        for frame in self.partitions.values():
            present = [f for f in fields if f in frame.columns]
            if not frame.height:
                continue
            if not present:
                out.append(({}, frame.height))
                continue
            _keys, groups = distinct_groups(frame, present)
            firsts = frame.select(present + (["_time"] if "_time" in frame.columns else []))[groups.get_column("__row")]
            out.extend(zip(rows_from_frame(firsts), groups.get_column("__n").to_list()))
        return out

    def rows(self):
        """The events as dicts, newest first (materialised once, for row consumers)."""
        if self._events is None:
            if self.source is not None:
                self._events = [self.source[p] for p in self.positions(self.partitions.values())]
            else:
                self._events = rows_from_frame(self.frame())
        return self._events

    @staticmethod
    def positions(frames):
        """The ``__pos`` of the rows of ``frames`` (partitions or selections), in order."""
        frames = [f.get_column(POSITION) for f in frames if f.height]
        return pl.concat(frames).sort().to_list() if frames else []

    def frame(self):
        """Every event in one frame, newest first, without ``__pos``."""
        return select(self.partitions.values())

    def window(self, earliest=None, latest=None):
        """The events with ``earliest <= _time < latest`` (``engine.in_window``)."""
        if earliest is None and latest is None:
            return self
        parts = {}
        for key, frame in self.partitions.items():
            if "_time" not in frame.columns:
                continue
            t = numeric_column(frame.get_column("_time"))
            keep = t.is_not_null()
            if earliest is not None:
                keep = keep & (t >= earliest)
            if latest is not None:
                keep = keep & (t < latest)
            kept = frame.filter(keep.fill_null(False))
            if kept.height:
                parts[key] = kept
        return EventTable(parts, source=self.source)

    def newest_time(self):
        """The largest numeric ``_time`` (None when no event has one)."""
        best = None
        for frame in self.partitions.values():
            if "_time" in frame.columns:
                t = numeric_column(frame.get_column("_time")).max()
                if t is not None and (best is None or t > best):
                    best = t
        return best


def _by_position(frame):
    """``frame`` sorted by its (distinct) positions: as it is when they already ascend, reversed
    when they descend (a file written oldest first), else sorted."""
    positions = frame.get_column(POSITION)
    if positions.is_sorted():
        return frame
    if positions.is_sorted(descending=True):
        return frame.reverse()
    return frame.sort(POSITION)


def select(frames):
    """Selected rows of several partitions in the global order, ``__pos`` dropped."""
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    stacked = concat_frames(frames)
    if len(frames) > 1:
        stacked = stacked.sort(POSITION, maintain_order=True)
    return stacked.drop(POSITION)


__all__ = ["EventTable", "NotColumnar", "POSITION", "concat_frames", "numeric_column", "select"]
