"""A hunt over files read a chunk at a time: memory bounded by what each search keeps, not by
the input.

Plan (:func:`plan_search`): a search's *streamable prefix* is its first segment (search terms,
no ``earliest``/``latest`` relative to "now") and the commands after it that act on each event
alone (:data:`PER_EVENT`, and the app's custom commands declared streaming:
:func:`streaming_custom`). The rest of the pipeline (from the first command that needs other
events: stats, eventstats, sort, dedup, custom commands, ...) runs later over the prefix's
output. When that next command is ``stats`` whose fields are named (no ``eval(...)``, no
wildcard), only those fields and ``_time`` are kept of the prefix's output, and a streaming
custom command in the prefix is given only the fields it and the prefix's commands after it
name (:func:`_narrowing`). A search starting
with ``| tstats`` keeps the data set's member events with only the fields tstats reads (the CIM
fields of its data set, the event fields, ``tag``), except in partitions its ``where`` clause
excludes by sourcetype (the CIM searches leave native Zeek and Sysmon data to the others). When
another command follows (``eventstats``, ``sort``, ...), the rows are pruned to the fields the
rest of the pipeline names up to its first ``table`` or ``stats`` (:mod:`.prune`: a field-read
analysis; each row carries the text size of what it no longer holds, so ``eventstats``'
limits.conf cut-off falls where the whole rows put it), or kept whole where a command reads
fields it does not name. Any other search reads a full table at the end
(:attr:`StreamedEvents.full_table`), exactly as without streaming.

Kept rows are held compact (:class:`Compact`): a text column with at most a quarter distinct
values in its chunk (hosts, addresses, ports, protocols) as codes (1, 2 or 4 bytes) into the
chunk's distinct values, a number column of whole numbers (flags, counts, ports) as the
narrowest integer type that holds them, the order key's time dropped where it is ``_time``
and its sequence as 4-byte offsets; all expanded, exactly, when the search runs. Past
``spill_bytes()`` of them in memory (an eighth of the memory budget ``C2HUNT_MEMORY_BYTES``,
3 GiB: 384 MiB), or whenever the process's resident memory is over that budget, the largest
searches' chunks are written to a temporary folder (:class:`Spilled`) and read back when their
search runs (a group-filtered one, :func:`_groups_holding`, one chunk at a time). The searches then
run smallest-kept first (:meth:`StreamedEvents.run_order`), each search's rows stacked a column
at a time (:func:`_stack_newest_first`: each chunk's column given up once stacked) and freed in
turn, the notables put back in the searches' order. A rest whose first commands are stats
that all group by fields nothing before them writes (Periodic Beaconing's three: by dest and
dest_port) runs them bucket by bucket over the compact chunks (:mod:`.buckets`), so those rows
are never expanded all at once.

Pass (:func:`stream_events`): the files are read in chunks (Zeek logs by
:class:`..readers.frames.FrameChunks`, other files whole by the dict readers, consecutive such
files gathered into one chunk up to the chunk size), each chunk is
an :class:`.events.EventTable`, every planned search's prefix runs over it and keeps its
(pruned) output. Each kept row carries its order key: the event's numeric ``_time`` (0 when
it has none) and its sequence number in reading order (file by file, line by line), so the
concatenated outputs sorted on (``-_time``, sequence) are in exactly the newest-first order
the whole table gives (``Runner.read_files``' stable sort). A prefix that fails on any chunk
(an error, an unavailable lookup) drops that search to the full-table path, which gives the
error as it always did. A file the frame reader gives up on mid-way has its chunks' outputs
dropped and is read again by the dict readers.

The pass also gathers what the hunt's summary reads of the events (counts, time range,
distinct sourcetypes and data-source fields, DNS queries), so results never need the events.

Workers (``C2HUNT_WORKERS``, :mod:`.stream_workers`): what a chunk gives is computed by one
function, :func:`chunk_part` (the summary part, every prefix's kept output, dictionary-encoded
for searches that keep rows; sequence numbers from 0), and added in reading order by
:meth:`StreamedEvents.add_part` (sequence numbers moved up, summary folded, rows kept, stats
folded, chunks spilled). With more than one worker (default: the usable cores), a plain Zeek
JSON log of 64 MiB (``stream_workers.POOL_MIN_BYTES``) and two blocks or more is read block
by block in worker processes (:func:`..readers.frames.json_spans`: the blocks
``FrameChunks`` cuts), each running :func:`chunk_part` over its block; the rest (gzip, TSV, Windows, small files gathered into
one chunk, the searches' rests) runs in this process as before. The output is the same
either way (``C2HUNT_WORKERS=1``, everything here, is the reference). Measured at load 2-3,
``hunt`` one process against two workers: 1.2 million records 25.3 -> 18.9 s wall (28.8 ->
29.7 CPU s), 6 million 125.7 -> 89.7 s wall (142.6 -> 142.9 CPU s; peak 3.10 GiB -> 2.87 in
this process, 4.18 for the tree); 24 million with two workers at load 6-23: 714.6 CPU s
(656 in one process at load 1), peak 5.04 GiB here, 5.39 GiB for the tree.

Stats carried per group (:mod:`.partial`): when the command after the prefix is ``stats`` with
by-fields and functions the state can carry (count, dc, values, min, max, sum, avg), the kept
rows are folded into a per-group state once they reach ``FOLD_BYTES`` (16 MB), and again each
time, as long as the rows hold few groups (``FOLD_GROUPS_PER_ROW``) and a fold leaves the state
no larger than the rows it took (``FOLD_RATIO``): few groups of many rows each. Where there is
about one group per row (a 5-tuple, a time bucket per pair) the state would cost more than the
rows, so rows are kept and a fold is tried again at 4x the size. At the end the rows left are folded and the state gives the stats' output, which the
rest of the pipeline continues from. Where the state cannot be exact (see :mod:`.partial`: a
field holding numbers in one chunk and strings in another, a fraction after whole numbers were
summed, what ``col_stats`` itself refuses), the rows are kept instead: from the start when
nothing was folded yet, else by reading the files again for that search alone (a second pass,
keeping its prefix's rows). ``C2HUNT_STREAM_STATS=0`` keeps rows always.

Memory bound (``C2HUNT_MEMORY_BYTES``, default 3 GiB): the process's fixed part (Python,
polars, numpy and the app's lookups: about 65 MB), one chunk (the reader's block, its frame,
its table and the prefixes' intermediate columns: 0.3-0.6 GB at ``BLOCK_BYTES`` of 32 MB; the
chunk's columns freed once it is done, reference cycles included: :func:`release_cycles`), the
pages the allocator (polars' jemalloc) keeps for some seconds after they are freed (0.3-0.9 GB
on this machine, more the faster chunks go), the summary (distinct summary tuples, and one row
per distinct DNS query, src and host: about 25 bytes a dns record), plus, per streamed search:

- stats-bound prefix folding (groups with many rows): its state, which grows with the groups
  (by-values, a first-appearance key, 8 bytes per function, one pair per distinct ``dc``/
  ``values`` value), plus under ``FOLD_BYTES`` of rows. Only a ``sum``/``avg`` of a fractional
  field grows with its rows: 32 bytes per value (the order of a float sum decides its last bit).
- stats-bound prefix with about one group per row: its rows pruned to the stats' fields (as
  many bytes as a state would hold, or fewer), plus the state of any fold that went ahead.
- any other prefix (eventstats, sort, ... next): the rows it selects, pruned to the fields its
  rest names (plus 8 bytes of pruned sizes a row), compact; these still grow with the events it
  selects. tstats plans: their members' rows.
- of those kept rows, at most ``spill_bytes()`` (compact) held in memory during the pass, none
  while the process is over the budget; the rest written to files (disk: about 150-180 bytes
  per conn record on the generated day: the Linux flow stats', Periodic Beaconing's and
  Application Protocol's rows).
- while the searches run (smallest-kept first): the one running, its compact rows read back
  plus (a bucketed rest) one bucket's rows expanded and the frames its commands make, or (any
  other) its rows expanded and its pipeline's intermediate frames over them; a group-filtered
  rest (the Linux flow stats, which keep every conn record) holds one spilled chunk at a time
  and only the rows of the groups that pass. The largest at 20 million: Periodic Beaconing's
  compact rows (about 40 bytes a conn record) and one 32 MB bucket's frames.

So the pass holds about the fixed part + a chunk + the allocator's pages + the budget's eighth
+ the folded states and the summary, whatever the input; the states, the summary's DNS rows,
the spilled rows on disk and Periodic Beaconing's rows read back for its rest still grow with
the input (the last is the peak's share that does, about 0.9 GB at 20 million).

Measured (hunt peak RSS, ``/usr/bin/time -v``, conn + dns Zeek JSON from
``benchmarks/offline_scale.py``, 2 cores shared): 6 million records at de88c46 2.79 GiB (the
pass the peak: 0.9 GB of compact rows in memory and each dns chunk's columns held by reference
cycles), 1.49 GiB with the budget, the per-chunk collection and the one-chunk-at-a-time group
filter (its rests the peak now: Periodic Beaconing's rows read back), same JSON, 21 notables,
CPU 140 -> 159 s (load 15-28, run back to back: spilling 0.8 GB and the collections cost some
of it; wall not comparable); 24 million 3.33 GiB (631 CPU s, load 10-28, all 20 planted
beacons and the DNS tunnel, nothing else): the pass 0.6-1.4 GB, the rests 3.0-3.3 GB. Before:
1.2 million records 994 MiB, 24 million 4.94 GiB at load 1 (most likely the Linux flow stats' 2 GB of spilled rows read
back at once; the pass rose 1-2 GB late in the read: the reference cycles).
``C2HUNT_STREAM=0`` turns streaming off; ``C2HUNT_STREAM_PRUNE=0`` keeps rows whole,
``C2HUNT_STREAM_COMPACT=0`` keeps them as the prefix gave them (the differential tests' references).
"""
import os

import numpy as np
import polars as pl

from ..conf import split_pipeline
from ..searchexpr import SearchExpression
from . import buckets, partial, prune, stream_workers
from .events import POSITION, EventTable, concat_frames, merged_order, numeric_column
from .table import NotColumnar, distinct_groups, frame_from_rows, python_values, rows_from_frame, \
    series_from_values

ORDER_TIME, ORDER_SEQ = "\x00order_t", "\x00order_seq"
# Commands whose output for an event depends on that event alone (and the lookups), which keep
# the events' order and carry a column they do not name (the events' chunk position).
PER_EVENT = frozenset(("eval", "where", "lookup", "rex", "fillnull", "rename"))


# Below this much input (bytes of the files named) the whole table is the better trade: it holds
# little memory there, and streaming runs every search's prefix once more per chunk and file
# (measured: the real-data scoreboard's many small files take about 22 % more CPU streamed).
AUTO_MIN_BYTES = 256 * 1024 * 1024


def _input_bytes(paths):
    from ..engine import expand_inputs, split_spec
    files, _ = expand_inputs([split_spec(str(p))[0] for p in paths])
    total = 0
    for name in files:
        try:
            total += os.path.getsize(split_spec(str(name))[0])
        except OSError:
            pass
    return total


def enabled(paths=None):
    """``C2HUNT_STREAM``: ``1`` streams, ``0`` reads every file whole as before; unset (or
    ``auto``), streams when the files named add up to ``AUTO_MIN_BYTES`` or more."""
    setting = os.environ.get("C2HUNT_STREAM", "auto").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("", "auto") and paths is not None:
        return _input_bytes(paths) >= AUTO_MIN_BYTES
    return True


def chunk_bytes():
    """Text read per chunk: ``C2HUNT_STREAM_BYTES`` (bytes; tests set it tiny so chunk
    boundaries fall everywhere), else the frame reader's block."""
    from ..readers.frames import BLOCK_BYTES
    try:
        return max(1, int(os.environ.get("C2HUNT_STREAM_BYTES", "")))
    except ValueError:
        return BLOCK_BYTES


class Plan(object):
    """How one saved search runs in a streamed hunt."""

    def __init__(self, name, segments, kind, reason, cut=1, keep=None, expression=None, tstats=None,
                 stats_args=None, stop=None):
        self.name, self.segments, self.kind, self.reason = name, segments, kind, reason
        self.cut, self.keep, self.expression, self.tstats = cut, keep, expression, tstats
        # rows pruned to ``keep`` with their pruned fields' sizes, up to segment ``stop``
        # (:mod:`.prune`; None: the rows stay whole, or only the stats' fields are kept)
        self.stop = stop
        self.layouts = {}  # the prefix output's field orders (before pruning), as met
        self.group_filter = None  # (by, field): only groups holding field reach the stats
        self.unsized = set()  # removed by `fields -` before anything sizes the rows
        self.narrow = {}  # segment index -> the fields read from it on (:func:`_narrowing`)
        self.outputs = []  # (file index, frame) per chunk
        self.failed = False
        # the stats after the prefix, aggregated chunk by chunk (None: the prefix's rows are kept)
        self.stats_args = stats_args
        self.partial = None if stats_args is None else _partial_stats(stats_args)
        self.partial_failed = False  # the carried state cannot be exact: rows kept by a second pass
        self.partial_files = set()  # files whose chunks the state holds
        self.pending = 0  # bytes of the rows kept since the last fold
        self.next_fold = FOLD_BYTES  # fold the kept rows into the state once they reach this

    def rows_plan(self):
        """The same plan keeping its prefix's rows (no carried stats)."""
        again = Plan(self.name, self.segments, self.kind, self.reason, self.cut, self.keep, self.expression,
                     self.tstats, stop=self.stop)
        again.group_filter = self.group_filter
        again.unsized, again.narrow = self.unsized, self.narrow
        return again

    def kept_bytes(self):
        """What the plan keeps after the pass (bytes): its rows, or its stats' carried state."""
        rows = sum(frame.estimated_size() for _i, frame in self.outputs)
        return rows + (self.partial.nbytes() if self.partial is not None and self.partial_files else 0)

    def fold(self):
        """The kept rows added to the stats' state (False: the state cannot take them)."""
        folded = set(self.partial_files)
        try:
            for _file_index, frame in self.outputs:
                self.partial.add(_frame(frame))
        except (NotColumnar, pl.exceptions.PolarsError) as exc:
            self.reason = "stats state: %s" % str(exc)[:200]
            if folded:  # rows folded before are gone: kept by a second pass
                self.partial_failed, self.partial, self.outputs = True, None, []
            else:  # nothing folded yet: the rows stay, as without a state
                self.stats_args = self.partial = None
            return False
        self.partial_files = folded | {i for i, _f in self.outputs}
        self.outputs, self.pending = [], 0
        return True

    def compacts_rows(self):
        """Whether a chunk's prefix output is kept dictionary-encoded (:class:`Compact`): yes
        unless a stats state is about to take it (rows folded at the next ``FOLD_BYTES``)."""
        return self.kind == "prefix" and compact_rows() and (self.stats_args is None or self.next_fold > FOLD_BYTES)

    def keep_rows(self, file_index, frame):
        """Keep one chunk's prefix output (:meth:`compacts_rows`)."""
        if not isinstance(frame, Compact) and self.compacts_rows():
            frame = Compact(frame)
        self.outputs.append((file_index, frame))

    def _compact_outputs(self):
        if self.kind == "prefix" and compact_rows():
            self.outputs = [(i, f if isinstance(f, (Compact, Spilled)) else Compact(f)) for i, f in self.outputs]

    def _groups_per_row(self):
        """Distinct by-value tuples per kept row (an upper bound where they do not stack), over
        the newest ``FOLD_BYTES`` of kept chunks: the by-values of every kept row, expanded at
        once, took more memory than the rows (it only decides whether a fold pays)."""
        recent, size = [], 0
        for _i, frame in reversed(self.outputs):
            recent.append(frame)
            size += frame.estimated_size()
            if size >= FOLD_BYTES:
                break
        rows = sum(frame.height for frame in recent)
        by = self.partial.by

        def keys(frame):
            names = [c for c in by if c in frame.columns]
            frame = _read(frame)
            return pl.DataFrame([_column(frame, c) for c in names]) if names else pl.DataFrame(height=frame.height)

        try:
            stacked = pl.concat([keys(frame) for frame in recent], how="diagonal_relaxed")
            groups = stacked.n_unique() if stacked.width else 1
        except pl.exceptions.PolarsError:
            groups = sum(keys(frame).n_unique() for frame in recent)
        return groups / max(rows, 1)

    def maybe_fold(self):
        """Fold the kept rows into the state once they reach ``next_fold`` bytes, when they hold
        at most ``FOLD_GROUPS_PER_ROW`` groups per row. While a fold keeps the state smaller than
        the rows it took (few groups, many rows each), the next comes at ``FOLD_BYTES`` again;
        when the rows hold about one group each (the state would cost more than the rows), or
        a fold does not pay, rows are kept and folding is tried again at four times the size
        (so at most a fraction of the rows is ever held as the larger state)."""
        if self.pending < self.next_fold:
            return
        if self._groups_per_row() > FOLD_GROUPS_PER_ROW:
            self.next_fold = 4 * self.pending
            self._compact_outputs()
            return
        before, taken = self.partial.nbytes() if self.partial_files else 0, self.pending
        if not self.fold():
            return
        grown = self.partial.nbytes() - before
        self.next_fold = FOLD_BYTES if grown <= taken * FOLD_RATIO else 4 * taken
        if self.next_fold > FOLD_BYTES:
            self._compact_outputs()


    def describe(self):
        if self.kind == "whole":
            return "%s: whole table (%s)" % (self.name, self.reason)
        if self.kind == "tstats":
            return "%s: streamed (tstats %s members, %d fields kept)" % (self.name, self.tstats[1], len(self.keep))
        keep = "all fields" if self.keep is None else "%d fields kept for stats" % len(self.keep)
        if self.stop is not None:
            keep = "%d fields kept, read up to command %d" % (len(self.keep), self.stop)
        if self.stats_args is not None:
            keep = "%d fields kept for stats, folded into per-group state when fewer" % len(self.keep)
        return "%s: streamed (prefix of %d commands, %s)" % (self.name, self.cut - 1, keep)


def _word(segment):
    return segment.split(None, 1)[0].lower() if segment.strip() else ""


# A kept text column is dictionary-encoded when it holds at most this share of distinct values
# (hosts, addresses, ports, protocols: a few thousand values over a chunk of 100,000 rows). A
# polars string cell costs a 16-byte view plus any text past 12 bytes; a code costs 4.
COMPACT_DISTINCT_SHARE = 0.25


class Compact(object):
    """A kept frame held in fewer bytes, :meth:`expand` giving it back exactly (same columns,
    order, dtypes, values):

    - a text column with at most ``COMPACT_DISTINCT_SHARE`` distinct values: codes (the
      narrowest unsigned integer type that holds them) into its distinct values, in order of
      appearance;
    - a Float64 column whose values are all whole numbers in a narrow integer type's range
      (flags, counts, ports; never -0.0, NaN or infinities): that integer type, cast back;
    - the order key: its time dropped where it is the kept ``_time`` (nulls as 0), bit for bit;
      its sequence numbers as 4-byte offsets from the chunk's first."""

    __slots__ = ("frame", "dictionaries", "numbers", "schema", "order_time", "seq_base")

    def __init__(self, frame):
        dictionaries, numbers, narrowed = {}, set(), []
        self.schema = dict(frame.schema)
        limit = frame.height * COMPACT_DISTINCT_SHARE
        for name, dtype in frame.schema.items():
            if dtype == pl.Float64 and name != ORDER_TIME:
                whole = _whole_numbers(frame.get_column(name))
                if whole is not None:
                    numbers.add(name)
                    narrowed.append(whole)
                continue
            if dtype != pl.String or name.startswith("\x00"):
                continue
            series = frame.get_column(name)
            if series.null_count() == frame.height:
                continue
            distinct = series.unique(maintain_order=True)
            if len(distinct) > limit:
                continue
            index = distinct.to_frame("v").with_row_index("code")
            code = series.to_frame("v").join(index, on="v", how="left", nulls_equal=True,
                                            maintain_order="left").get_column("code")
            dictionaries[name] = distinct
            narrowed.append(code.cast(_code_dtype(len(distinct))).alias(name))
        if narrowed:
            frame = frame.with_columns(narrowed)
        self.order_time = ORDER_TIME in frame.columns and "_time" in frame.columns \
            and frame.schema["_time"] == pl.Float64 and _same_bits(frame.get_column(ORDER_TIME),
                                                                  frame.get_column("_time").fill_null(0.0))
        if self.order_time:
            frame = frame.drop(ORDER_TIME)
        self.seq_base = None
        if ORDER_SEQ in frame.columns and frame.height and frame.schema[ORDER_SEQ] == pl.Int64:
            seq = frame.get_column(ORDER_SEQ)
            low, high = seq.min(), seq.max()
            if low is not None and seq.null_count() == 0 and high - low < 2 ** 32:
                self.seq_base = low
                frame = frame.with_columns((seq - low).cast(pl.UInt32))
        self.frame, self.dictionaries, self.numbers = frame, dictionaries, numbers

    @property
    def height(self):
        return self.frame.height

    @property
    def columns(self):
        return list(self.schema)

    def estimated_size(self):
        return self.frame.estimated_size() + sum(d.estimated_size() for d in self.dictionaries.values())

    def expand(self):
        if not self.schema:
            return self.frame
        return pl.DataFrame([self.column(name) for name in self.schema])

    def drop(self, names):
        """Forget columns ``names`` (their memory freed once nothing else holds them)."""
        names = set(names) & set(self.schema)
        if self.order_time and "_time" in names and ORDER_TIME not in names:
            self.frame = self.frame.with_columns(self.column(ORDER_TIME))
            self.order_time = False
        if ORDER_TIME in names:
            self.order_time = False
        if ORDER_SEQ in names:
            self.seq_base = None
        self.frame = self.frame.drop([n for n in names if n in self.frame.columns])
        self.schema = {n: t for n, t in self.schema.items() if n not in names}
        for name in names:
            self.dictionaries.pop(name, None)
            self.numbers.discard(name)

    def rows(self, indices):
        """The frame's rows at ``indices`` (numpy), as they were given."""
        held = self.frame[pl.Series(indices, dtype=pl.UInt32)]
        return pl.DataFrame([self.column(name, held) for name in self.schema])

    def split(self, of_row, count):
        """The chunk cut into ``count`` pieces (``of_row``: each row's piece, numpy): each a
        chunk of its own (None where no row goes), its rows in their order, its dictionaries
        cut to the values its rows hold (a bucket's piece, :mod:`.buckets`). One sort, and one
        ``np.unique`` per text column, for the whole chunk: cut a piece at a time it cost a few
        ms a piece, and 20 million connections make about 18,000 pieces."""
        order, piece_of, bounds = _pieces_order(of_row, count)
        frame = self.frame[pl.Series(order, dtype=pl.UInt32)]
        recoded, used_values = [], {}  # each text column's codes within its piece; the values pieces use
        for name, distinct in self.dictionaries.items():
            size = max(len(distinct), 1)
            keys = piece_of * size + frame.get_column(name).to_numpy().astype(np.int64)
            used, inverse = np.unique(keys, return_inverse=True)
            starts = np.searchsorted(used // size, np.arange(count + 1))
            codes = inverse.reshape(-1) - starts[piece_of]
            widest = int(np.diff(starts).max())
            recoded.append(pl.Series(name, codes).cast(_code_dtype(widest)))
            used_values[name] = (distinct.gather(used % size), starts)
        frame = frame.with_columns(recoded) if recoded else frame
        pieces = []
        for index in range(count):
            low, high = bounds[index], bounds[index + 1]
            if low == high:
                pieces.append(None)
                continue
            piece = object.__new__(Compact)
            piece.frame = frame.slice(low, high - low)
            piece.dictionaries = {name: values.slice(starts[index], starts[index + 1] - starts[index])
                                  for name, (values, starts) in used_values.items()}
            piece.numbers, piece.schema = set(self.numbers), dict(self.schema)
            piece.order_time, piece.seq_base = self.order_time, self.seq_base
            pieces.append(piece)
        return pieces

    def column(self, name, held=None):
        """One column of the frame, as it was given (of ``held``: some of its rows)."""
        held = self.frame if held is None else held
        if name == ORDER_TIME and self.order_time:
            return held.get_column("_time").fill_null(0.0).alias(ORDER_TIME)
        series = held.get_column(name)
        if name in self.dictionaries:
            return self.dictionaries[name].gather(series).alias(name)
        if name in self.numbers:
            return series.cast(pl.Float64)
        if name == ORDER_SEQ and self.seq_base is not None:
            return series.cast(pl.Int64) + self.seq_base
        return series


def _pieces_order(of_row, count):
    """(order, piece of each ordered row, bounds): the rows in piece order, each piece's rows
    in their own order (a stable sort), piece ``i`` being ``order[bounds[i]:bounds[i + 1]]``."""
    order = np.argsort(of_row, kind="stable")
    piece_of = of_row[order].astype(np.int64)
    return order, piece_of, np.searchsorted(piece_of, np.arange(count + 1))


def _code_dtype(count):
    return pl.UInt8 if count <= 1 << 8 else pl.UInt16 if count <= 1 << 16 else pl.UInt32


def _whole_numbers(series):
    """A Float64 column as the narrowest integer type holding its values exactly (None when
    one is not a whole number in Int32's range, or is -0.0: the cast back would not give it)."""
    values = series.drop_nulls()
    if not len(values):
        return None
    array = values.to_numpy()
    low, high = array.min(), array.max()
    if not (-2 ** 31 <= low and high < 2 ** 31) or not (array % 1 == 0).all() \
            or bool((np.signbit(array) & (array == 0)).any()):
        return None
    dtype = next(t for t, lo, hi in _NARROW if lo <= low and high <= hi)
    return series.cast(dtype)


_NARROW = ((pl.Int8, -128, 127), (pl.Int16, -2 ** 15, 2 ** 15 - 1), (pl.Int32, -2 ** 31, 2 ** 31 - 1))


def _same_bits(a, b):
    """Whether two Float64 columns hold the same values bit for bit (nulls at the same places)."""
    if a.dtype != pl.Float64 or b.dtype != pl.Float64 or a.len() != b.len() or a.null_count() or b.null_count():
        return False
    return bool((a.to_numpy().view(np.int64) == b.to_numpy().view(np.int64)).all())


class Spilled(object):
    """A :class:`Compact` chunk written to a file while the pass holds more than
    ``spill_bytes()`` of kept rows (:meth:`StreamedEvents.spill`); :meth:`load` reads it back
    (and removes the file). ``pickle`` writes polars frames as Arrow IPC: the same columns,
    dtypes and values come back."""

    __slots__ = ("path", "height", "schema", "size")

    def __init__(self, kept, folder):
        import pickle
        import tempfile
        handle, self.path = tempfile.mkstemp(suffix=".kept", dir=folder)
        with os.fdopen(handle, "wb") as out:
            pickle.dump(kept, out, protocol=pickle.HIGHEST_PROTOCOL)
        self.height, self.schema, self.size = kept.height, dict(kept.schema), kept.estimated_size()

    @property
    def columns(self):
        return list(self.schema)

    def estimated_size(self):
        return self.size

    def load(self, remove=True):
        """The chunk back (its file removed, unless ``remove`` is false: read again later)."""
        import pickle
        with open(self.path, "rb") as source:
            kept = pickle.load(source)
        if remove:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        return kept

    def expand(self):
        return _read(self).expand()


def memory_bytes():
    """``C2HUNT_MEMORY_BYTES``: the streamed hunt's memory budget (bytes, default
    ``MEMORY_BYTES``). The pass keeps ``1 / SPILL_SHARE`` of it in compact rows and writes the
    rest to files (:func:`spill_bytes`), and whenever the process's resident memory is over the
    budget it writes every compact chunk it holds (:meth:`StreamedEvents.spill`)."""
    try:
        return max(1, int(os.environ.get("C2HUNT_MEMORY_BYTES", MEMORY_BYTES)))
    except ValueError:
        return MEMORY_BYTES


def spill_bytes():
    """``C2HUNT_STREAM_SPILL_BYTES``: kept (compact) rows the pass holds in memory before it
    writes the largest searches' chunks to a temporary folder (``C2HUNT_STREAM_SPILL_DIR``,
    else the system's); ``0`` never writes. Unset: ``memory_bytes() // SPILL_SHARE``."""
    default = memory_bytes() // SPILL_SHARE
    try:
        return max(0, int(os.environ.get("C2HUNT_STREAM_SPILL_BYTES", default)))
    except ValueError:
        return default


def resident_bytes():
    """The process's resident memory now (bytes; None where ``/proc`` does not say)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# The streamed hunt's memory budget (bytes). Measured (5 million conn + 1 million dns, 2 cores):
# the pass's own working set (libraries, one chunk's reading and tables, the prefixes'
# frames, and the pages the allocator keeps for a few seconds after they are freed) is
# 0.6-1.7 GiB whatever the input, and a search's rest reads back its own compact rows.
MEMORY_BYTES = 3 << 30
# Kept rows held in memory during the pass: this fraction of the budget (compact bytes), the
# rest written out (each search reads its own back when it runs).
SPILL_SHARE = 8


def release_cycles():
    """Free what reference cycles hold once a chunk is done (a full ``gc.collect``, about
    20-30 ms a chunk). A custom command's column source (:func:`.custom.make_source`: a class
    made per call, its methods closing over the chunk's columns) is such a cycle: Python frees
    it only at a full collection, which can be many chunks away; measured on 1 million dns
    records, DNS Tunnel's prefix (``c2entropy``) held 60 MB of columns per chunk that way, up
    to 700 MB, and at 20 million records the pass rose by 1-2 GB late in the read."""
    import gc
    gc.collect()


def _loaded(kept):
    """A kept output in memory (a :class:`Spilled` one read back, its file removed)."""
    return kept.load() if isinstance(kept, Spilled) else kept


def _read(kept):
    """A kept output in memory, a :class:`Spilled` one read back with its file kept (to be
    read again later)."""
    return kept.load(remove=False) if isinstance(kept, Spilled) else kept


def _frame(kept):
    """A kept output as a frame (a :class:`Compact` or :class:`Spilled` one expanded)."""
    return kept.expand() if isinstance(kept, (Compact, Spilled)) else kept


def streaming_custom(runner, name):
    """Whether ``name`` is one of the app's custom commands declared streaming (its class a
    ``StreamingCommand``: Splunk hands it records in chunks of its own choosing, so each
    record's output depends on that record alone; ``c2asym``, ``c2entropy``)."""
    if runner is None or name not in (runner.commands_conf or {}):
        return False
    from .custom import _command_class, _script
    try:
        cls = _command_class(_script(runner, name))
    except Exception:  # noqa: BLE001  (not loadable here: not planned as per event)
        return False
    return getattr(cls, "command_type", None) == "streaming" and hasattr(cls, "compute")


def _per_event(segment, runner=None):
    """Whether the command acts on each event alone, whatever the other events hold."""
    name = _word(segment)
    if name not in PER_EVENT:
        return streaming_custom(runner, name)
    args = segment[len(name):].strip()
    if name == "fillnull":  # without a field list it fills the fields of every row: not per event
        from ..commands.shaping import take_options, words
        try:
            _options, rest = take_options(words(args), {"value"})
        except Exception:  # noqa: BLE001  (the whole-table run reports it)
            return False
        return bool(rest) and not any("*" in w for w, _ in rest)
    if name == "rename":
        return "*" not in args
    return True


def _time_terms(node):
    """Whether a search tree has ``earliest=``/``latest=`` (relative to the hunt's "now")."""
    kind = node[0]
    if kind in ("and", "or"):
        return any(_time_terms(part) for part in node[1])
    if kind == "not":
        return _time_terms(node[1])
    return kind == "cmp" and str(node[1]).lower() in ("earliest", "latest")


def _stats_fields(args):
    """The fields ``stats <args>`` reads (None when not named exactly)."""
    from ..commands.stats import parse_aggregations
    try:
        aggs, by, _options = parse_aggregations(args, "stats")
    except Exception:  # noqa: BLE001  (the rest of the pipeline reports it)
        return None
    fields = {"_time"}
    for agg in aggs:
        if agg.expr is not None or "*" in (agg.arg or ""):
            return None
        if agg.arg:
            fields.add(agg.arg)
    if any("*" in f for f in by):
        return None
    return fields | set(by)


def plan_search(runner, saved):
    """The :class:`Plan` of one saved search."""
    try:
        segments = split_pipeline(runner.expand(saved.search))
    except Exception:  # noqa: BLE001  (the run gives the error)
        return Plan(saved.name, None, "whole", "does not parse")
    if not segments:
        return Plan(saved.name, segments, "whole", "empty")
    if segments[0] == "":
        if len(segments) > 1 and _word(segments[1]) == "tstats":
            return _plan_tstats(saved.name, segments)
        return Plan(saved.name, segments, "whole", "starts with a generating command")
    text = runner.first_search(segments[0])
    try:
        expression = SearchExpression(text)
    except Exception:  # noqa: BLE001
        return Plan(saved.name, segments, "whole", "first segment does not parse")
    if _time_terms(expression.tree):
        return Plan(saved.name, segments, "whole", "earliest/latest relative to now")
    cut = 1
    while cut < len(segments) and _per_event(segments[cut], runner):
        cut += 1
    keep = stats_args = stop = None
    if cut < len(segments) and _word(segments[cut]) == "stats":
        keep = _stats_fields(segments[cut][len("stats"):])
        if keep is not None and carry_stats() and partial.carried(segments[cut][len("stats"):]):
            stats_args = segments[cut][len("stats"):]
    elif cut < len(segments) and prune_rows():
        keep, stop = prune.rest_fields(segments, cut)
    plan = Plan(saved.name, segments, "prefix", "", cut=cut, keep=keep, expression=expression,
                stats_args=stats_args, stop=stop)
    plan.group_filter = _group_filter(segments, cut) if keep is not None and stop is None else None
    plan.unsized = prune.unsized_fields(segments, cut, stop) if stop is not None else set()
    plan.narrow = _narrowing(runner, segments, cut, keep) if keep is not None and stop is None else {}
    return plan


def _narrowing(runner, segments, cut, keep):
    """{index: fields} for each of the app's streaming commands in the prefix ``segments[1:cut]``
    (its output kept to ``keep``): the fields it and the prefix's commands after it read or
    write, and ``keep``. The others are dropped before it runs: such a command turns every
    field of every record into its text (a Float64 column printed row by row), and one that
    declares what it reads (``streaming_reads``) passes the rest through unread, so a field
    nothing after it names is work for nothing (Network Protocol Anomaly's ``c2asym``: 64
    columns in, 35 named after it). None for a command when one after it may read fields it
    does not name (:func:`.prune._reads` is None).

    When every command of the prefix names what it reads, the fields none of them names are
    dropped before its first command too (index 1): a ``where`` that drops rows copies every
    column it keeps, and an event's other fields (``_raw`` the largest) would be copied by each
    one for nothing (Periodic Beaconing's prefix names 12 of a conn event's 43 fields)."""
    from .custom import streaming_reads
    narrow, named = {}, set(keep) | {"_time"}
    for index in range(cut - 1, 0, -1):
        name = _word(segments[index])
        args = segments[index][len(name):]
        custom = streaming_custom(runner, name)
        reads = streaming_reads(runner, name, args) if custom else prune._reads(name, args)
        if reads is None:
            return narrow
        named |= reads
        if custom:
            narrow[index] = frozenset(named)
    if cut > 1:
        narrow.setdefault(1, frozenset(named))
    return narrow


def _group_filter(segments, cut):
    """(by fields, field X) when the stats after the prefix is followed by ``where
    isnotnull(Y)`` and Y is its ``values(X)``, ``min(X)`` or ``max(X)``: a group none of whose
    rows holds X gets no Y and is dropped there, so its rows need not reach the stats
    (:func:`_groups_holding`). None otherwise (and where ``list()`` could warn of a group)."""
    import re

    from ..commands.stats import parse_aggregations
    if cut + 1 >= len(segments) or _word(segments[cut]) != "stats":
        return None
    wanted = re.match(r"where\s+isnotnull\(\s*([A-Za-z_][\w.]*)\s*\)\s*$", segments[cut + 1].strip(), re.I)
    if not wanted:
        return None
    try:
        aggs, by, options = parse_aggregations(segments[cut][len("stats"):], "stats")
    except Exception:  # noqa: BLE001  (the rest reports it)
        return None
    name = wanted.group(1)
    named = [a for a in aggs if a.name == name]
    if not by or options or name in by or any(a.func == "list" for a in aggs) or len(named) != 1:
        return None
    agg = named[0]
    if agg.func not in ("values", "min", "max") or agg.expr is not None or not agg.arg or "*" in agg.arg:
        return None
    return list(by), agg.arg


def _groups_holding(frames, by, field):
    """The rows of ``frames`` (frames, :class:`Compact` or :class:`Spilled` ones, each read a
    column at a time) whose by-values (text, nulls alike) some row holding ``field`` shares: the
    groups of a ``stats ... by`` that get a value of ``field``. A multivalue by-value puts its
    row into each value's group, as stats does (a row holding ``field`` makes each of them held;
    a row is kept when one of its groups is). Where a by-field is neither text nor multivalue
    text in some frame (numbers group by their printed text) the frames as they are. When no
    row is left, the first one stays (its group, without ``field``, gets dropped by the
    ``where`` just the same). A spilled chunk is read back twice, once for its keys and once
    for its rows, and never held with the others: the Linux flow stats keep every conn record
    (2 GB compact at 20 million) and few of them pass."""
    text = (pl.String, pl.List(pl.String))

    def keys(frame, rows=None):
        # one row per group a row joins, with the row's position: multivalues exploded
        columns = [pl.Series("\x00row", range(frame.height), dtype=pl.UInt32)]
        for c in by:
            columns.append(_column(frame, c) if c in frame.columns else pl.repeat(None, frame.height, dtype=pl.String,
                                                                                  eager=True).alias(c))
        keyed = pl.DataFrame(columns)
        if rows is not None:
            keyed = keyed.filter(rows)
        for c in by:
            if keyed.schema[c] != pl.String:
                keyed = keyed.explode(c)
        return keyed

    if any(c in f.columns and _dtype(f, c) not in text for f in frames for c in by):
        return frames
    held = []
    for f in frames:
        if field in f.columns:
            f = _read(f)
            held.append(keys(f, _column(f, field).is_not_null()).drop("\x00row").unique())
    held = pl.concat(held).unique() if held else pl.DataFrame([pl.Series(c, [], dtype=pl.String) for c in by])
    out, first = [], None
    for frame in frames:
        frame = _loaded(frame)
        rows = keys(frame).join(held, on=by, how="semi", nulls_equal=True).get_column("\x00row").unique().sort()
        out.append(_some_rows(frame, rows))
        if first is None and frame.height:
            first = _some_rows(frame, pl.Series([0], dtype=pl.UInt32))
        del frame
    if not any(f.height for f in out) and first is not None:
        out = [first]
    return out


def _some_rows(part, rows):
    """The rows ``rows`` (a UInt32 series) of a kept frame or :class:`Compact` one, expanded."""
    return part.rows(rows.to_numpy()) if isinstance(part, Compact) else part[rows]


def _column(part, name):
    return part.column(name) if isinstance(part, Compact) else part.get_column(name)


def _dtype(part, name):
    return part.schema[name]


def _stack_newest_first(parts):
    """The kept chunks (frames or :class:`Compact` ones) stacked as :func:`.events.concat_frames`
    stacks them and sorted newest first (order key: ``-_time``, sequence), built a column at a
    time: each chunk's column is given up once it is stacked (``parts`` is emptied: the
    chunks are this function's to free)."""
    given, parts = parts, [p if isinstance(p, (Compact, _Plain)) else _Plain(p) for p in parts if p.columns]
    given.clear()
    if not parts:
        return pl.DataFrame()
    names = merged_order([p.columns for p in parts]) if len(parts) > 1 else parts[0].columns
    keys = pl.DataFrame([_stacked_column([p.column(k) for p in parts], k) for k in (ORDER_TIME, ORDER_SEQ)])
    order = keys.with_row_index("\x00i").sort([ORDER_TIME, ORDER_SEQ], descending=[True, False],
                                              maintain_order=True).get_column("\x00i")
    columns = {k: keys.get_column(k).gather(order) for k in (ORDER_TIME, ORDER_SEQ)}
    del keys
    for part in parts:
        part.drop((ORDER_TIME, ORDER_SEQ))
    for name in names:
        if name in columns:
            continue
        pieces = [p.column(name) if name in p.schema else p.height for p in parts]
        columns[name] = _stacked_column(pieces, name).gather(order)
        del pieces
        for part in parts:
            part.drop((name,))
    return pl.DataFrame([columns[name] for name in names])


def _stacked_column(pieces, name):
    """One column of stacked chunks (``pieces``: each chunk's column, or its height where it
    lacks the column: nulls), as :func:`.events.concat_frames` gives it."""
    dtypes = {p.dtype for p in pieces if isinstance(p, pl.Series)}
    if len(dtypes) == 1:
        dtype = next(iter(dtypes))
        return pl.concat([p if isinstance(p, pl.Series) else pl.repeat(None, p, dtype=dtype, eager=True).alias(name)
                          for p in pieces], how="vertical", rechunk=True)
    values = []
    for piece in pieces:
        values.extend(python_values(piece) if isinstance(piece, pl.Series) else [None] * piece)
    return series_from_values(name, values)


class _Plain(object):
    """A kept frame with :class:`Compact`'s column interface (used by :func:`_stack_newest_first`)."""

    __slots__ = ("frame", "schema")

    def __init__(self, frame):
        self.frame, self.schema = frame, dict(frame.schema)

    @property
    def height(self):
        return self.frame.height

    @property
    def columns(self):
        return list(self.schema)

    def column(self, name):
        return self.frame.get_column(name)

    def rows(self, indices):
        return self.frame[pl.Series(indices, dtype=pl.UInt32)]

    def split(self, of_row, count):
        order, _piece_of, bounds = _pieces_order(of_row, count)
        frame = self.rows(order)
        return [_Plain(frame.slice(low, high - low)) if high > low else None
                for low, high in zip(bounds[:-1], bounds[1:])]

    def expand(self):
        return self.frame

    def drop(self, names):
        names = set(names) & set(self.schema)
        self.frame = self.frame.drop(list(names))
        self.schema = {n: t for n, t in self.schema.items() if n not in names}


def prune_rows():
    """``C2HUNT_STREAM_PRUNE``: ``0`` keeps a prefix's rows whole; otherwise they are pruned to
    the fields the rest of the pipeline names (:mod:`.prune`)."""
    return os.environ.get("C2HUNT_STREAM_PRUNE", "1").strip().lower() not in ("0", "false", "no", "off")


# Kept rows of a stats-bound prefix are folded into the stats' state from this many bytes on
# (a few chunks' worth: one fold joins the chunk's groups against every group known so far).
FOLD_BYTES = 16 * 1024 * 1024
# A fold pays when the state grows by no more than this times the bytes of the rows it takes.
FOLD_RATIO = 1.0
# Rows are folded only when they hold at most this many groups per row: a group's state costs
# about 1.5 rows pruned to the stats' fields (its by-values, a first-appearance key, 8 bytes
# per function), so rows with more groups than that are smaller kept as they are.
FOLD_GROUPS_PER_ROW = 0.5


def compact_rows():
    """``C2HUNT_STREAM_COMPACT``: ``0`` keeps a prefix's rows as the prefix gave them; otherwise
    their repetitive text columns are dictionary-encoded (:class:`Compact`) until the search runs."""
    return os.environ.get("C2HUNT_STREAM_COMPACT", "1").strip().lower() not in ("0", "false", "no", "off")


def carry_stats():
    """``C2HUNT_STREAM_STATS``: ``0`` keeps every streamed prefix's rows (the stats after it
    runs over them at the end); otherwise a ``stats`` right after the prefix is aggregated chunk
    by chunk (:mod:`.partial`)."""
    return os.environ.get("C2HUNT_STREAM_STATS", "1").strip().lower() not in ("0", "false", "no", "off")


def _partial_stats(args):
    return partial.PartialStats(args)


def _plan_tstats(name, segments):
    from ..commands.tstats import CIM_FIELDS, DATAMODELS, parse_tstats
    from .tstats import EVENT_FIELDS
    try:
        query = parse_tstats(segments[1][len("tstats"):].strip())
    except Exception:  # noqa: BLE001
        return Plan(name, segments, "whole", "tstats does not parse")
    datasets = DATAMODELS.get(query.model)
    if datasets is None or (query.dataset is not None and query.dataset not in datasets):
        return Plan(name, segments, "whole", "data model not available offline")
    dataset = query.dataset or next(iter(datasets))
    keep = set(EVENT_FIELDS) | {"tag", "bytes_in", "bytes_out"} | set(CIM_FIELDS[dataset])
    return Plan(name, segments, "tstats", "", keep=keep, tstats=(datasets[dataset], dataset, query.where))


# ---------------------------------------------------------------- the pass

def _summary_fields(runner):
    """Every field the hunt summary groups events by (sourcetype and the fields the
    data-source macros test: :func:`..results.data_sources`)."""
    import re

    from ..results import _FIELD_TEST, data_source_macros
    tested = {"sourcetype"}
    for macro in data_source_macros(runner):
        try:
            definition = runner.expand("`%s`" % macro)
        except Exception:  # noqa: BLE001
            continue
        tested |= {m.group(1) for m in _FIELD_TEST.finditer(re.sub(r'"[^"]*"', '""', definition))}
    return sorted(tested - {"NOT", "OR", "AND"})


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


class StreamedEvents(object):
    """What a streamed read keeps: every planned search's prefix output, and the summary the
    hunt results read (``len``, :meth:`times`, :meth:`distinct`, ``partitions`` of the events
    that carry a DNS query, :meth:`newest_time`). Searches not streamed read
    :meth:`full_table` (the files read again, whole, once)."""

    def __init__(self, runner, paths, sourcetype, host, plans, window, reading=(None, None)):
        self.runner, self.paths, self.sourcetype, self.host = runner, paths, sourcetype, host
        self.reading = reading  # (block_bytes, min_bytes) of the pass, for a second one
        self.plans = {plan.name: plan for plan in plans}
        self.window = window
        self.count = 0
        self.newest = None
        self.first_nonzero = self.last_nonzero = None
        self.summary_fields = _summary_fields(runner)
        self.groups = {}  # (partition, values) -> [count, order key, representative]
        self.partition_first = {}  # partition key -> first sequence number
        self.dns_parts = []  # (file index, frame of query/src/host + order key)
        self._full = None
        self._dns = None
        self._file_summary = {}  # file index -> [events, {group: count}] while reading
        self._spill_folder = None  # where kept chunks past spill_bytes() are written (Spilled)
        self._restreamed = []  # second passes (:meth:`_restream`)

    # -- what results.py reads
    def __len__(self):
        return self.count

    def __bool__(self):
        return self.count > 0

    def newest_time(self):
        return self.newest

    def times(self):
        """The non-zero times' extremes (the summary reads only their minimum and maximum)."""
        values = [t for t in (self.first_nonzero, self.last_nonzero) if t is not None]
        return pl.Series("_time", values, dtype=pl.Float64)

    def distinct(self, fields):
        """As :meth:`EventTable.distinct`: one representative per distinct tuple of ``fields``
        (the newest event holding it), partitions in reading order, tuples newest first."""
        merged = {}
        for (partition, values), (count, key, rep) in self.groups.items():
            sub = (partition, tuple(_hashable(rep.get(f)) for f in fields))
            known = merged.get(sub)
            if known is None:
                merged[sub] = [count, key, rep]
            else:
                known[0] += count
                if key < known[1]:
                    known[1], known[2] = key, rep
        ordered = sorted(merged.items(), key=lambda item: (self.partition_first[item[0][0]], item[1][1]))
        out = []
        for _sub, (count, _key, rep) in ordered:
            row = {f: rep[f] for f in fields if f in rep}
            if "_time" in rep:
                row["_time"] = rep["_time"]
            out.append((row, count))
        return out

    @property
    def partitions(self):
        """The events that carry a DNS query (query, src, host; one per distinct tuple, the
        newest), as one partition ordered newest first."""
        if self._dns is None:
            frames = [f for _i, f in self.dns_parts if f.height]
            if not frames:
                self._dns = {}
            else:
                stacked = concat_frames(frames).sort([ORDER_TIME, ORDER_SEQ], descending=[True, False],
                                                     maintain_order=True)
                fields = [c for c in stacked.columns if c not in (ORDER_TIME, ORDER_SEQ)]
                stacked = stacked.unique(subset=fields, keep="first", maintain_order=True)
                stacked = stacked.drop([ORDER_TIME, ORDER_SEQ]).with_row_index(POSITION)
                self._dns = {"": stacked.with_columns(pl.col(POSITION).cast(pl.Int64))}
        return self._dns

    def full_table(self):
        """Every event in one table (read once more, whole, on first use)."""
        if self._full is None:
            self._full, _issues = self.runner.read_table(self.paths, self.sourcetype, self.host)
        return self._full

    # -- a streamed search's data
    def streamed(self, name, earliest, latest):
        """The plan that finishes search ``name`` over ``[earliest, latest)`` from what was kept
        (None: run it over :meth:`full_table`)."""
        plan = self.plans.get(name)
        if plan is None or plan.failed or plan.kind == "whole" or (earliest, latest) != self.window:
            return None
        plan.failed = True  # its kept rows are handed over once: a second run reads the full table
        return plan

    def run_order(self, todo):
        """The searches ``todo`` ((saved, earliest, latest) each) in the order that holds least
        at once: each search's rest expands the rows it kept while the searches after it still
        hold theirs, so the ones that keep least run first; those that read the full table
        last (the table, once read, stays)."""
        def weight(item):
            plan = self.plans.get(item[0].name)
            if plan is None or plan.failed or plan.kind == "whole" or (item[1], item[2]) != self.window:
                return (1, 0)
            return (0, plan.kept_bytes())
        ordered = sorted(todo, key=weight)
        if any(self._buckets_of(self.plans.get(saved.name)) for saved, _lo, _hi in ordered):
            from . import parallel
            parallel.prepare(self.runner)  # started while the first rests run: ready for the buckets
        return ordered

    def finish(self, plan):
        """(data, start) to finish a prefix plan from: its stats' output and the command after
        the stats, or its kept rows newest first and the command after the prefix; data None
        when no event was selected; start None when it must run over :meth:`full_table`."""
        if plan.stats_args is not None and not plan.partial_failed and plan.partial_files and plan.fold():
            try:
                result = plan.partial.result()
            except (NotColumnar, pl.exceptions.PolarsError) as exc:
                plan.partial_failed = True
                plan.reason = "stats state: %s" % str(exc)[:200]
            else:
                plan.partial = None
                return result, plan.cut + 1
        if plan.partial_failed:  # read again keeping the prefix's rows (what the state cannot give)
            plan.partial = None
            plan = self._restream(plan)
            if plan is None:
                return None, None
        bucketed = self._bucketed(plan)
        if bucketed is not None:
            return bucketed, plan.cut
        return self.prefix_output(plan), plan.cut

    def _bucketed(self, plan):
        """The plan's kept rows as a :class:`.buckets.Bucketed` run when its rest allows one and
        they are over ``BUCKET_BYTES`` (None: stack them)."""
        found = self._buckets_of(plan)
        if found is None:
            return None
        count, (end, fields) = found
        parts = [f if isinstance(f, (Compact, Spilled)) else _Plain(f) for _i, f in plan.outputs
                 if f.height and f.columns]
        plan.outputs = []
        return buckets.Bucketed(parts, plan.segments, plan.cut, end, fields, count) if parts else None

    @staticmethod
    def _buckets_of(plan):
        """(count, (end, fields)) when the plan's rest runs bucket by bucket (:mod:`.buckets`), else None."""
        if plan is None or plan.kind != "prefix" or plan.stop is not None or plan.group_filter is not None:
            return None
        count = buckets.bucket_count(plan.kept_bytes())
        found = buckets.bucket_range(plan.segments, plan.cut) if count > 1 else None
        return None if found is None else (count, found)

    def _restream(self, plan):
        """The plan run again over the files, keeping its prefix's rows (None: it failed)."""
        again = plan.rows_plan()
        block_bytes, min_bytes = self.reading
        events, _issues = stream_events(self.runner, self.paths, [again], self.sourcetype, self.host, self.window,
                                        block_bytes=block_bytes, min_bytes=min_bytes)
        self._restreamed.append(events)  # its spill folder, where the plan's chunks may be, lives as long as this
        return None if again.failed else again

    def prefix_output(self, plan):
        """The plan's kept rows, newest first (None: no event selected). Built a column at a
        time from the kept chunks (each chunk's column given up once stacked), so the stacked
        rows are held about once rather than as chunks, their stack and its sorted copy."""
        parts = [f for _i, f in plan.outputs if f.height]
        plan.outputs = []
        if not parts:
            return None
        if plan.group_filter is not None:  # spilled chunks read one at a time, only their groups' rows kept
            parts = _groups_holding(parts, *plan.group_filter)
        parts = [_loaded(p) for p in parts]
        stacked = _stack_newest_first(parts)
        if plan.stop is not None:  # the fields in the order the whole rows would hold them
            order = [c for c in merged_order(list(plan.layouts)) if c in stacked.columns]
            stacked = stacked.select(order + [c for c in stacked.columns if c not in set(order)])
        return stacked

    def tstats_table(self, plan):
        """The tstats plan's member events as an EventTable (positions in the global order)."""
        stacked = self.prefix_output(plan)
        if stacked is None:
            return EventTable({})
        stacked = stacked.with_row_index(POSITION).with_columns(pl.col(POSITION).cast(pl.Int64))
        keys = sorted(set(stacked.get_column("\x00partition").to_list()), key=lambda k: self.partition_first[k])
        parts = {}
        for key in keys:
            part = stacked.filter(pl.col("\x00partition") == key).drop(["\x00partition", ORDER_TIME, ORDER_SEQ])
            names = [c for c in part.columns if c != POSITION and part.get_column(c).null_count() < part.height]
            parts[key] = part.select(names + [POSITION])
        return EventTable(parts)

    # -- the pass
    def add_chunk(self, frame, file_index, seq_base):
        """One chunk (a frame of events in reading order, ``seq_base`` its first sequence number)."""
        part = chunk_part(self.runner, self.plans.values(), self.window, self.summary_fields, frame)
        self.add_part(part, file_index, seq_base)
        release_cycles()

    def add_part(self, part, file_index, seq_base):
        """What one chunk gave (:func:`chunk_part`, here or in a worker process), added in
        reading order: its sequence numbers start at ``seq_base``; its summary folded in; each
        search's rows kept (and folded into its stats' state) unless the search failed."""
        self._add_summary(part.summary, file_index, seq_base)
        rebased = {}  # a frame two tstats plans share stays one frame

        def rebase(index):
            if index not in rebased:
                rebased[index] = _rebased(part.frames[index], seq_base)
            return rebased[index]

        for name, index, size, shared in part.outputs:
            plan = self.plans[name]
            if plan.kind == "whole" or plan.failed:
                continue
            if index is FAILED:
                plan.failed, plan.outputs = True, []
                continue
            if shared:
                if index is not None:
                    plan.outputs.append((file_index, rebase(index)))
                continue
            for layout in part.layouts.get(name, ()):
                plan.layouts.setdefault(layout, None)
            if index is None:
                continue
            out = rebase(index)
            if not plan.partial_failed:
                plan.keep_rows(file_index, out)
            if plan.stats_args is not None and not plan.partial_failed:
                plan.pending += size
                plan.maybe_fold()
        self.spill()

    def spill(self):
        """Past ``spill_bytes()`` of compact rows in memory, the largest searches' chunks are
        written to files (:class:`Spilled`) until half that is left: the pass then holds
        about that much whatever the input; each search reads its own back when it runs.
        While the process is over its memory budget (:func:`memory_bytes`: resident memory,
        whatever holds it), every compact chunk is written."""
        limit = spill_bytes()
        if not limit:
            return
        held = {name: sum(f.estimated_size() for _i, f in plan.outputs if isinstance(f, Compact))
                for name, plan in self.plans.items()}
        total = sum(held.values())
        resident = resident_bytes()
        if total and resident is not None and resident > memory_bytes():
            limit = 0
        elif total <= limit:
            return
        if self._spill_folder is None:
            import shutil
            import tempfile
            import weakref
            self._spill_folder = tempfile.mkdtemp(prefix="c2hunt-kept-", dir=os.environ.get("C2HUNT_STREAM_SPILL_DIR"))
            weakref.finalize(self, shutil.rmtree, self._spill_folder, True)
        for name in sorted(held, key=held.get, reverse=True):
            if total <= limit // 2 or not held[name]:
                break
            plan = self.plans[name]
            plan.outputs = [(i, Spilled(f, self._spill_folder) if isinstance(f, Compact) else f)
                            for i, f in plan.outputs]
            total -= held[name]

    def drop_file(self, file_index):
        """Forget what the chunks of one file added (the file is read again another way)."""
        for plan in self.plans.values():
            plan.outputs = [(i, f) for i, f in plan.outputs if i != file_index]
            if file_index in plan.partial_files:  # a carried state cannot forget a file: a second pass
                plan.partial_failed, plan.partial = True, None
        self.dns_parts = [(i, f) for i, f in self.dns_parts if i != file_index]
        undo = self._file_summary.pop(file_index, None)
        if undo is None:
            return
        count, groups = undo
        self.count -= count
        for gkey, n in groups.items():
            entry = self.groups[gkey]
            entry[0] -= n
            if entry[0] == 0:
                del self.groups[gkey]

    def _add_summary(self, summary, file_index, seq_base):
        """Fold one chunk's :func:`_chunk_summary` (its sequence numbers from 0) into the hunt's."""
        n, newest, lowest, highest, partitions = summary
        self.count += n
        if newest is not None:
            self.newest = newest if self.newest is None or newest > self.newest else self.newest
        if lowest is not None:
            self.first_nonzero = lowest if self.first_nonzero is None or lowest < self.first_nonzero \
                else self.first_nonzero
            self.last_nonzero = highest if self.last_nonzero is None or highest > self.last_nonzero \
                else self.last_nonzero
        added = {}
        for key, first_seq, groups, dns in partitions:
            first_seq += seq_base
            if key not in self.partition_first or first_seq < self.partition_first[key]:
                self.partition_first[key] = first_seq
            for gkey, count, (kt, ks), rep in groups:
                entry = self.groups.get(gkey)
                okey = (kt, ks + seq_base)
                if entry is None:
                    self.groups[gkey] = [count, okey, rep]
                else:
                    entry[0] += count
                    if okey < entry[1]:
                        entry[1], entry[2] = okey, rep
                added[gkey] = added.get(gkey, 0) + count
            if dns is not None:
                self.dns_parts.append((file_index, _rebased(dns, seq_base)))
        undo = self._file_summary.setdefault(file_index, [0, {}])
        undo[0] += n
        for gkey, count in added.items():
            undo[1][gkey] = undo[1].get(gkey, 0) + count


# An output index of a search whose prefix failed on the chunk (ChunkPart.outputs).
FAILED = -1


class ChunkPart(object):
    """What one chunk gives the hunt, with its sequence numbers counted from 0 (the reader
    adds the chunk's first, :meth:`StreamedEvents.add_part`): computed where the chunk was
    read (this process or a worker, :mod:`.stream_workers`), small enough to send back.

    - ``summary``: :func:`_chunk_summary`;
    - ``frames``: the kept outputs (frames, or :class:`Compact` ones for searches that keep
      rows), each once;
    - ``outputs``: (search, index into ``frames`` / None for no rows / ``FAILED``, bytes of
      the rows before compacting, shared) per search run, in the searches' order; ``shared``:
      the rows of an earlier tstats plan of the same data set and where clause;
    - ``layouts``: search -> the prefix output's field orders met (:attr:`Plan.layouts`)."""

    __slots__ = ("summary", "frames", "outputs", "layouts")

    def __init__(self, summary, frames, outputs, layouts):
        self.summary, self.frames, self.outputs, self.layouts = summary, frames, outputs, layouts


def chunk_part(runner, plans, window, summary_fields, frame, compact=frozenset()):
    """The :class:`ChunkPart` of one chunk (a frame of events in reading order): the summary
    and every planned search's prefix run over it (``plans``: not failed, not whole). Outputs
    are dictionary-encoded where :meth:`Plan.compacts_rows` says, or for the searches named in
    ``compact`` (a worker's plans carry no stats state: the hunt's process says which)."""
    n = frame.height
    raw_t = numeric_column(frame.get_column("_time")) if "_time" in frame.columns else \
        pl.Series("_time", [None] * n, dtype=pl.Float64)
    t = raw_t.fill_null(0.0)
    order = t.alias("t").to_frame().with_row_index("i").sort("t", descending=True,
                                                              maintain_order=True).get_column("i")
    key_t = t.gather(order)  # by chunk position (EventTable.from_frames' order)
    key_seq = pl.Series("s", range(n), dtype=pl.Int64).gather(order)
    table = EventTable.from_frames([frame])
    summary = _chunk_summary(table, raw_t, key_t, key_seq, summary_fields)
    table = table.window(*window)
    frames, outputs, layouts = [], [], {}
    shared = {}  # tstats plans of one data set and where clause keep the same rows: one frame
    for plan in plans:
        if plan.kind == "whole" or plan.failed:
            continue
        share = (plan.tstats[1], plan.tstats[2].text if plan.tstats[2] is not None else None) \
            if plan.kind == "tstats" else None
        if share in shared:
            outputs.append((plan.name, shared[share], 0, True))
            continue
        met = layouts.setdefault(plan.name, []) if plan.stop is not None else None
        try:
            out = _tstats_rows(plan, table) if plan.kind == "tstats" else _prefix_rows(runner, plan, table, met)
        except Exception:  # noqa: BLE001  (the whole-table run gives the same error)
            outputs.append((plan.name, FAILED, 0, False))
            continue
        index = size = None
        if out is not None:
            positions = out.get_column(POSITION).cast(pl.Int64)
            out = out.drop(POSITION).with_columns(key_t.gather(positions).alias(ORDER_TIME),
                                                  key_seq.gather(positions).alias(ORDER_SEQ))
            size = out.estimated_size()
            if plan.compacts_rows() or plan.name in compact:
                out = Compact(out)  # as Plan.keep_rows would: done where the chunk is read
            index = len(frames)
            frames.append(out)
        outputs.append((plan.name, index, size, False))
        if share is not None:
            shared[share] = index
    return ChunkPart(summary, frames, outputs, {k: v for k, v in layouts.items() if v})


def _rebased(kept, seq_base):
    """A kept chunk output (a frame or :class:`Compact`) with its sequence numbers moved up by
    ``seq_base`` (a chunk's are counted from 0 where it is read)."""
    if not seq_base:
        return kept
    if isinstance(kept, Compact):
        if kept.seq_base is not None:
            kept.seq_base += seq_base
        elif ORDER_SEQ in kept.frame.columns:
            kept.frame = kept.frame.with_columns(pl.col(ORDER_SEQ) + seq_base)
        return kept
    if ORDER_SEQ not in kept.columns:
        return kept
    return kept.with_columns(pl.col(ORDER_SEQ) + seq_base)


def _prefix_rows(runner, plan, table, layouts=None):
    """One search's prefix over one chunk's events (None: no rows); ``layouts``: the list the
    prefix output's field order goes to (before pruning)."""
    from . import engine as columnar_engine
    from ..engine import _Context, _Step
    selected = []
    for key, frame in table.partitions.items():
        kept = _filter(plan.expression, frame, key)
        if kept.height:
            selected.append(kept)
    if not selected:
        return None
    data = concat_frames(selected)
    if len(selected) > 1:
        data = data.sort(POSITION, maintain_order=True)
    ctx = _Context(runner, table)
    start = 1
    for index in sorted(plan.narrow):  # dead fields dropped before each streaming command
        data = columnar_engine.execute_from(runner, ctx, plan.segments[:index], start, data, _Step(), rows=False)
        if isinstance(data, list):
            data = frame_from_rows(data)
        live = plan.narrow[index]
        data = data.select([c for c in data.columns if c in live or c == POSITION])
        start = index
    data = columnar_engine.execute_from(runner, ctx, plan.segments[:plan.cut], start, data, _Step(), rows=False)
    if isinstance(data, list):
        data = frame_from_rows(data)
    if not data.height:
        return None
    if plan.stop is not None:
        layout = tuple(c for c in data.columns if c != POSITION)
        if layouts is not None and layout not in layouts:
            layouts.append(layout)
        return prune.prune(data, plan.keep | {POSITION}, plan.unsized)
    if plan.keep is not None:
        data = data.select([c for c in data.columns if c in plan.keep or c == POSITION])
    return data


def _tstats_rows(plan, table):
    from .tstats import _member_mask
    from .search import _fold
    member, _dataset, where = plan.tstats
    parts = []
    for key, partition in table.partitions.items():
        if where is not None and _fold(where.tree, key, None) is False:
            continue  # the where clause's sourcetype terms exclude the partition (as tstats would)
        kept = partition.filter(_member_mask(partition, member))
        if kept.height:
            names = [c for c in kept.columns if c in plan.keep or c == POSITION]
            parts.append(kept.select(names).with_columns(pl.lit(key, pl.String).alias("\x00partition")))
    if not parts:
        return None
    return concat_frames(parts)


def _chunk_summary(table, raw_t, key_t, key_seq, summary_fields):
    """(events, newest time, non-zero time extremes, partitions) of one chunk for the hunt's
    summary; per partition (key, its first sequence number, its distinct summary groups as
    (group, count, order key, newest event), its DNS queries or None)."""
    known = raw_t.drop_nulls()
    newest = known.max() if len(known) else None
    nonzero = known.filter(known != 0)
    lowest, highest = (nonzero.min(), nonzero.max()) if len(nonzero) else (None, None)
    partitions = []
    for key, frame in table.partitions.items():
        positions = frame.get_column(POSITION)
        first_seq = key_seq.gather(positions).min()
        present = [f for f in summary_fields if f in frame.columns]
        if present:
            _keys, groups = distinct_groups(frame, present)
            rows = groups.get_column("__row")
            counts = groups.get_column("__n").to_list()
        else:
            rows, counts = pl.Series([0], dtype=pl.UInt32), [frame.height]
        firsts = frame.select(present + (["_time"] if "_time" in frame.columns else []))[rows]
        first_pos = positions.gather(rows)
        order_keys = zip(key_t.gather(first_pos).to_list(), key_seq.gather(first_pos).to_list())
        groups = [((key, tuple(_hashable(rep.get(f)) for f in summary_fields)), count, (-kt, ks), rep)
                  for rep, count, (kt, ks) in zip(rows_from_frame(firsts), counts, order_keys)]
        dns = None
        if "query" in frame.columns:
            rows_q = frame.filter(pl.col("query").is_not_null())
            if rows_q.height:
                names = [c for c in ("query", "src", "host") if c in rows_q.columns]
                pos = rows_q.get_column(POSITION)
                dns = rows_q.select(names).with_columns(key_t.gather(pos).alias(ORDER_TIME),
                                                        key_seq.gather(pos).alias(ORDER_SEQ))
                dns = dns.sort([ORDER_TIME, ORDER_SEQ], descending=[True, False], maintain_order=True)
                dns = dns.unique(subset=names, keep="first", maintain_order=True)
        partitions.append((key, first_seq, groups, dns))
    return (len(raw_t), newest, lowest, highest, partitions)


def _filter(expression, frame, key):
    from .search import filter_frame
    return filter_frame(expression, frame, None, key)


def stream_events(runner, paths, plans, sourcetype=None, host=None, window=(None, None), progress=None,
                  block_bytes=None, min_bytes=None):
    """(StreamedEvents, issues): the files read chunk by chunk, every plan's prefix run."""
    from ..engine import input_files
    from ..readers import frames as frame_readers
    block_bytes = block_bytes or chunk_bytes()
    min_bytes = frame_readers.NATIVE_MIN_BYTES if min_bytes is None else min_bytes
    events = StreamedEvents(runner, paths, sourcetype, host, plans, window, (block_bytes, min_bytes))
    issues = []
    seq = 0
    # Files the dict readers take are gathered into one chunk up to block_bytes of input:
    # every chunk runs every prefix once, which on a folder of small files (hourly exports)
    # cost more than the files' own reading.
    # Files the frame readers read in one block (an hourly export) are gathered likewise:
    # ``pending`` holds, in reading order, lists of dict events and such files' frames.
    pending, pending_bytes, pending_index = [], 0, None

    def flush():
        nonlocal seq, pending, pending_bytes, pending_index
        if pending:
            frame = _gathered_frame(pending)
            events.add_chunk(frame, pending_index, seq)
            seq += frame.height
        pending, pending_bytes, pending_index = [], 0, None

    pool = None
    if stream_workers.worker_count() > 1:
        pool = stream_workers.ChunkPool(events)

    def add(item):
        """Add a chunk (a frame, or a worker's BlockResult) at the next sequence number."""
        nonlocal seq
        if isinstance(item, stream_workers.BlockResult):
            if item.part is not None:
                events.add_part(item.part, file_index, seq)
            else:
                events.add_chunk(item.frame, file_index, seq)
        else:
            events.add_chunk(item, file_index, seq)
        seq += item.height
        return item.height

    try:
        for file_index, (path, given) in enumerate(input_files(paths, sourcetype, issues)):
            read = 0
            chunks = None
            declined = False
            size = frame_readers._size(path)
            spans = _worker_spans(pool, path, given, block_bytes) \
                if size >= max(min_bytes, stream_workers.POOL_MIN_BYTES) else None
            if spans is not None:  # read by the worker processes, added here in order
                chunks = pool.blocks(path, given, host, spans)
            elif size >= min_bytes:
                chunks = frame_readers.FrameChunks(path, given, host, block_bytes)
            if chunks is not None:
                start = held = None
                block_issues, kinds, learned = [], {}, set()
                for frame in chunks:
                    if spans is not None:  # a worker's block: its issues, or the file declined
                        learned.update(frame.keys)
                        if frame.declined or frame_readers.keys_declined(learned, given):
                            declined = True
                            break
                        block_issues.extend(frame.issues)
                        for kind, (line, issue) in frame.kinds.items():
                            if kind not in kinds or line < kinds[kind][0]:
                                kinds[kind] = (line, issue)
                        if not frame.height:
                            continue
                    if start is None and held is None:  # the file's first block: is it the only one?
                        held = frame
                        continue
                    if start is None:  # a second block: the gathered files go first, in reading order
                        flush()
                        start = seq
                        read += add(held)
                        held = None
                    read += add(frame)
                if spans is not None:
                    chunks.close()
                else:
                    declined = chunks.declined
                if declined and start is not None:
                    events.drop_file(file_index)
                    seq, read = start, 0
                elif not declined and held is not None:
                    if pending_index is None:
                        pending_index = file_index  # the batch's files are never read again
                    pending.append(_held_frame(held, path, given, host))
                    pending_bytes += max(size, 0)
                    read = held.height
                    if pending_bytes >= block_bytes:
                        flush()
            if chunks is None or declined:
                file_events, file_issues = runner.read_one_file(path, given, host)
                read = len(file_events)
                if file_events:
                    if pending_index is None:
                        pending_index = file_index  # the batch's files are never read again
                    if pending and isinstance(pending[-1], list):
                        pending[-1].extend(file_events)
                    else:
                        pending.append(file_events)
                    pending_bytes += max(size, 0)
                del file_events
                if pending_bytes >= block_bytes:
                    flush()
            elif spans is not None:
                file_issues = frame_readers.json_block_issues(path, block_issues, kinds)
            else:
                file_issues = chunks.issues
            issues.extend(file_issues)
            if progress is not None:
                progress(path, read)
    finally:
        if pool is not None:
            pool.close()
    flush()
    events._file_summary = None
    return events, issues


def _worker_spans(pool, path, given, block_bytes):
    """The blocks of a file the worker processes read (None: it is read here): a plain Zeek
    JSON log of two blocks or more, while the pool works."""
    from ..readers import frames as frame_readers
    if pool is None or pool.broken:
        return None
    spans = frame_readers.json_spans(path, given, block_bytes)
    if spans is None:
        return None
    first = [span for _n, span in zip(range(2), spans)]
    if len(first) < 2:
        spans.close()
        return None
    return _chain(first, spans)


def _chain(first, rest):
    yield from first
    yield from rest


def _held_frame(held, path, given, host):
    """A file's only block as a frame (gathered with other files into one chunk): a worker's
    block is read again here (its reply holds the prefixes' outputs, not the events)."""
    from . import stream_workers
    if not isinstance(held, stream_workers.BlockResult):
        return held
    if held.frame is not None:
        return held.frame
    from ..readers.frames import read_json_block
    return read_json_block(path, given, host, *held.span)[0]


def _gathered_frame(parts):
    """One frame of gathered files in reading order: ``parts`` are lists of dict events and
    frames read by the frame readers. Dict events alone are ``frame_from_rows`` of them all,
    as before; with frames, the parts' frames concatenated, or (when a field's values cannot
    share a column across parts) ``frame_from_rows`` of every part's rows."""
    from ..readers.frames import frames_in_order
    if all(isinstance(part, list) for part in parts):
        return frame_from_rows([event for part in parts for event in part])
    frames = [frame_from_rows(part) if isinstance(part, list) else part for part in parts]
    try:
        return frames_in_order(frames)
    except ValueError:
        return frame_from_rows([row for frame in frames for row in rows_from_frame(frame)])


__all__ = ["PER_EVENT", "Plan", "StreamedEvents", "enabled", "plan_search", "stream_events"]
