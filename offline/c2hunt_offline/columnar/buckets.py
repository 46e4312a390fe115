"""The rest of a streamed search run bucket by bucket where its groups allow it, so the kept
rows are never expanded all at once.

Periodic Beaconing keeps a row per connection; its rest is ``stats ... by src dest dest_port
transport channel _time``, an ``eval``, ``stats ... by src dest dest_port transport channel``,
a ``lookup``, a ``where``, an ``eval`` and ``stats ... by beacon_key dest dest_port transport
channel``: three stats with about one group per row until the last. Run over every kept row at
once, each step holds a frame as tall as the rows (about 20 million at 20 million connections).

:func:`bucket_range`: from the prefix's cut, the longest run of per-event commands
(:data:`.stream.PER_EVENT`) and ``stats`` with by-fields and no options that ends with a
``stats``, and the by-fields every one of its stats groups by that no command of the run
names before that (``where`` names none: it writes nothing). Every group of every stats in the
run then holds rows that agree on those fields, so the kept rows split by a hash of their
values (:class:`Bucketed`: text columns only, so no two values that print alike are hashed
apart) run the commands bucket by bucket with the same groups, and each bucket's output is the
whole run's output restricted to that bucket's groups, in the same relative order: a bucket's
rows are a subsequence of the newest-first rows; per-event commands keep it; a stats' output
order is its by-values' sort keys, ties by first appearance, both kept by a subsequence. The
outputs stacked and put in the last stats' order (its by-values' sort keys) are the whole
run's output.

Checked, else the rest runs over all the rows as before (:meth:`Bucketed.run` gives them
stacked): one dtype per column across the kept chunks, the hashed fields text; every bucket's
output a frame with the same columns and dtypes, no messages and no column list from any
bucket, no error; no two of the last stats' by-values with one sort key (their order would be
the first appearance, which the buckets do not see).

Memory: the kept chunks held in memory (compact, at most ``spill_bytes()``) plus one bucket's
rows expanded and the frames its commands make, plus the outputs (the last stats' groups):
``BUCKET_BYTES`` of kept rows per bucket. A chunk the pass spilled is read back one at a time
and cut into its buckets' pieces, each appended to its bucket's file (:class:`_Pieces`), so
the spilled rows are never all in memory: at 20 million connections, reading them all back
(1.8 GiB compact) was the hunt's peak.
"""
import math
import os

import numpy as np
import polars as pl

from .table import _EXACT_INT

# Kept (compact) rows per bucket: a bucket's rows expanded and their stats take a few times that.
BUCKET_BYTES = 32 * 1024 * 1024


def bucket_bytes():
    """``C2HUNT_STREAM_BUCKET_BYTES``: kept bytes per bucket (tests set it tiny); ``0`` never buckets."""
    try:
        return max(0, int(os.environ.get("C2HUNT_STREAM_BUCKET_BYTES", BUCKET_BYTES)))
    except ValueError:
        return BUCKET_BYTES


def bucket_range(segments, cut):
    """(end, fields): the commands ``segments[cut:end]`` run bucket by bucket, the rows split by
    ``fields`` (a sorted list); None when no such run (see the module docstring)."""
    from ..commands.stats import parse_aggregations
    from .stream import _per_event, _word
    ends = []
    for index in range(cut, len(segments)):
        segment = segments[index]
        if _word(segment) == "stats":
            try:
                _aggs, by, options = parse_aggregations(segment[len("stats"):], "stats")
            except Exception:  # noqa: BLE001  (the run reports it)
                break
            if options or not by or any("*" in f for f in by):
                break
            ends.append(index + 1)
        elif not _per_event(segment):
            break
    for end in reversed(ends):
        fields = _final_fields(segments, cut, end)
        if fields:
            return end, fields
    return None


def _final_fields(segments, cut, end):
    """The fields every stats of ``segments[cut:end]`` groups by, none named by a command of
    the run before its last stats (``where`` aside)."""
    from ..commands.stats import parse_aggregations
    from .prune import _names
    from .stream import _word
    fields, written = None, set()
    for segment in segments[cut:end]:
        word = _word(segment)
        if word == "stats":
            aggs, by, _options = parse_aggregations(segment[len("stats"):], "stats")
            shared = set(by) - {a.name for a in aggs}
            fields = shared if fields is None else fields & shared
        elif word != "where":
            written |= _names(segment[len(word):])
    return sorted((fields or set()) - written)


class Bucketed(object):
    """A prefix's kept chunks (frames, :class:`.stream.Compact` or :class:`.stream.Spilled`
    ones) to run ``segments[cut:end]`` over bucket by bucket (:meth:`run`)."""

    def __init__(self, parts, segments, cut, end, fields, count):
        self.parts, self.segments, self.cut, self.end = parts, segments, cut, end
        self.fields, self.count = fields, count

    def run(self, runner, ctx, step):
        """(frame, start): the run's output in the whole run's order and the command after it,
        or (None: it cannot be exact) the kept rows stacked newest first and the cut."""
        from .stream import ORDER_SEQ, ORDER_TIME, _loaded, _stack_newest_first
        pieces = None
        try:
            schema = _stacked_schema(self.parts)
            if schema is None or any(schema.get(f, pl.String) not in (pl.String, pl.Null) for f in self.fields):
                merged = None
            else:
                pieces = _Pieces(self.parts, self.fields, self.count)
                merged = self._buckets(runner, schema, pieces)
        except Exception:  # noqa: BLE001  (NotColumnar, a polars error, a search error: the whole run decides)
            merged = None
        try:
            if merged is not None:
                return merged, self.end
            parts = pieces.every() if pieces is not None else [_loaded(p) for p in self.parts]
            self.parts = []
            stacked = _stack_newest_first(parts)
            return stacked.drop([ORDER_TIME, ORDER_SEQ], strict=False), self.cut
        finally:
            if pieces is not None:
                pieces.remove()

    def _buckets(self, runner, schema, pieces):
        from . import parallel
        from .stream import ORDER_SEQ, ORDER_TIME, _stack_newest_first

        def data_of(bucket):
            """The bucket's kept rows stacked newest first (None: it has none)."""
            frames = []
            for piece in pieces.of(bucket):
                frame = piece.expand()
                frames.append(frame.with_columns([  # a column null in this chunk, of the stack's dtype
                    pl.repeat(None, frame.height, dtype=schema[c], eager=True).alias(c)
                    for c, dtype in frame.schema.items() if dtype != schema[c]]))
            if not frames:
                return None
            return _stack_newest_first(frames).drop([ORDER_TIME, ORDER_SEQ], strict=False)

        segments = self.segments[:self.end]
        outputs = None
        if parallel.worker_count() > 1:
            outputs = parallel.run_buckets(runner, self.count, data_of,
                                           lambda data: run_bucket(runner, segments, self.cut, data), segments, self.cut)
        if outputs is None:  # in-process, one bucket's rows at a time
            outputs = []
            for bucket in range(self.count):
                data = data_of(bucket)
                outputs.append(None if data is None else run_bucket(runner, segments, self.cut, data))
                del data
        return _merged(outputs, self.segments[self.end - 1])


class _Pieces(object):
    """Each bucket's rows of every kept chunk: a piece (:meth:`.stream.Compact.split`, or a
    frame's rows) per chunk and bucket, in chunk order. A chunk held in memory is cut into
    pieces held in memory (about its own size); a spilled one is read back, cut, and its pieces
    appended to their buckets' files, one chunk at a time. Each bucket's file is read when the
    bucket runs (:meth:`of`), and :meth:`remove` removes them."""

    def __init__(self, parts, fields, count):
        from .stream import Spilled, _loaded
        self.held = [[] for _ in range(count)]  # bucket -> [(chunk index, piece)]
        self.files = [None] * count  # bucket -> its file of pickled (chunk index, piece)
        self.folder = None
        given = list(parts)
        parts.clear()  # the chunks are this object's to free, one at a time
        for index in range(len(given)):
            part, given[index] = given[index], None
            spilled = isinstance(part, Spilled)
            if spilled and self.folder is None:
                import tempfile
                self.folder = tempfile.mkdtemp(prefix="buckets-", dir=os.path.dirname(part.path))
            kept = _loaded(part)
            del part
            self._add(index, kept, _bucket_of_rows(kept, fields, count), spilled)
            del kept

    def _add(self, index, kept, of_row, spilled):
        import pickle
        for bucket, piece in enumerate(kept.split(of_row, len(self.held))):
            if piece is None:
                continue
            if not spilled:
                self.held[bucket].append((index, piece))
                continue
            if self.files[bucket] is None:
                self.files[bucket] = os.path.join(self.folder, "%d.kept" % bucket)
            with open(self.files[bucket], "ab") as out:
                pickle.dump((index, piece), out, protocol=pickle.HIGHEST_PROTOCOL)

    def of(self, bucket):
        """The bucket's pieces in chunk order (its file read, left for :meth:`every`)."""
        import pickle
        pieces = list(self.held[bucket])
        if self.files[bucket] is not None:
            with open(self.files[bucket], "rb") as source:
                while True:
                    try:
                        pieces.append(pickle.load(source))
                    except EOFError:
                        break
        return [piece for _index, piece in sorted(pieces, key=lambda item: item[0])]

    def every(self):
        """Every bucket's pieces (the whole run over all the rows: the buckets could not be
        merged). Stacked newest first they give the chunks' rows in their order: the order key
        (time, sequence number) is one per event, and the prefix gives a row per event."""
        return [piece for bucket in range(len(self.held)) for piece in self.of(bucket)]

    def remove(self):
        self.held = [[] for _ in self.held]
        if self.folder is not None:
            import shutil
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def run_bucket(runner, segments, cut, data):
    """``segments[cut:]`` over one bucket's rows: the output frame, ``_INEXACT`` when it gave
    messages or a column list (the buckets cannot be merged exactly)."""
    from ..engine import _Context, _Step
    from . import engine as columnar_engine
    from .events import EventTable
    scratch = _Context(runner, EventTable({}))
    out = columnar_engine.execute_from(runner, scratch, segments, cut, data, _Step(), rows=False)
    if not isinstance(out, pl.DataFrame) or scratch.messages or scratch.columns is not None:
        return _INEXACT
    return out


_INEXACT = "inexact"


def _merged(outputs, last_stats):
    """The buckets' outputs (a frame, None for a bucket without rows, ``_INEXACT``) stacked
    in the last stats' order; None when they cannot be merged exactly."""
    if any(isinstance(out, str) for out in outputs):
        return None
    outputs = [out for out in outputs if out is not None and out.height]
    if not outputs or any(out.schema != outputs[0].schema for out in outputs):
        return None
    merged = pl.concat(outputs, how="vertical") if len(outputs) > 1 else outputs[0]
    order = _stats_order(merged, last_stats)
    return None if order is None else merged[order]


def _stacked_schema(parts):
    """Each column's dtype in the kept chunks stacked (:func:`.events.concat_frames`), where
    each bucket's stack gives it too: one dtype, or one dtype among the chunks where the column
    holds a value (a chunk where it is all null holds it as text, say); None otherwise (the
    stack rebuilds the column from its values, whose kinds a bucket may see fewer of). A
    spilled chunk holding a column of several dtypes is read once for all of them."""
    from .stream import _read
    dtypes = {}
    for part in parts:
        for name, dtype in part.schema.items():
            dtypes.setdefault(name, set()).add(dtype)
    schema = {name: next(iter(kinds)) for name, kinds in dtypes.items() if len(kinds) == 1}
    mixed = [name for name in dtypes if name not in schema]
    held = {name: set() for name in mixed}  # the dtypes of the chunks where it holds a value
    for part in parts:
        names = [name for name in mixed if name in part.schema]
        chunk = _read(part) if names else None
        for name in names:
            column = chunk.column(name)
            if column.null_count() < column.len():
                held[name].add(column.dtype)
                if column.dtype == pl.Float64 and (column.abs() >= _EXACT_INT).any():
                    return None  # printed as a whole number past 2**53: an Object column
        del chunk
    for name in mixed:
        kinds = held[name]
        if len(kinds) > 1 or kinds - {pl.String, pl.Float64, pl.List(pl.String)}:
            return None
        schema[name] = next(iter(kinds)) if kinds else pl.String
    return schema


def _bucket_of_rows(part, fields, count):
    """Each kept row's bucket (numpy), from a hash of its values of ``fields``."""
    columns = [part.column(f) if f in part.schema else pl.repeat(None, part.height, dtype=pl.String, eager=True)
               .alias(f) for f in fields]
    hashed = pl.DataFrame(columns).hash_rows(seed=0x5EED)
    return (hashed % count).cast(pl.Int64).to_numpy()


def _stats_order(frame, segment):
    """The rows (one per group) of a stats' output in that stats' order: its by-values' sort
    keys, first field first (None where two distinct values share a sort key)."""
    from ..commands.stats import parse_aggregations
    from .stats import _distinct_codes
    _aggs, by, _options = parse_aggregations(segment.split(None, 1)[1], "stats")
    columns = []
    for field in by:
        series = frame.get_column(field) if field in frame.columns else None
        if series is None or series.dtype not in (pl.String, pl.Float64) or series.null_count():
            return None
        codes, _distinct, ranks = _distinct_codes(series, True)
        if ranks is not None:
            return None
        columns.append(codes)
    order = np.lexsort(columns[::-1])
    keys = np.stack(columns, axis=1)[order] if columns else None
    if keys is not None and len(keys) > 1 and not (np.diff(keys, axis=0) != 0).any(axis=1).all():
        return None  # two rows of one group: not one group per row
    return pl.Series(order)


def bucket_count(kept_bytes):
    """How many buckets for a plan keeping ``kept_bytes`` (1: run it whole)."""
    limit = bucket_bytes()
    if not limit or kept_bytes <= limit:
        return 1
    return int(math.ceil(kept_bytes / float(limit)))


__all__ = ["BUCKET_BYTES", "Bucketed", "bucket_count", "bucket_range"]
