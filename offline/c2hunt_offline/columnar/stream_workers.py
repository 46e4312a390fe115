"""The streamed pass on several cores: worker processes read a large Zeek JSON log's blocks and
run every planned search's prefix over them; the hunt's process adds what they give in reading
order (``C2HUNT_WORKERS``).

Interface (:mod:`.stream` uses it; a whole-table pool can share :func:`worker_count`):

- :func:`worker_count`: ``C2HUNT_WORKERS`` (``1``: everything in this process, the reference);
  unset, the cores this process may use (at most ``MAX_DEFAULT_WORKERS``).
- :class:`ChunkPool` ``(events)``: for a :class:`.stream.StreamedEvents`; started on first use,
  :meth:`ChunkPool.close` ends it. :meth:`ChunkPool.blocks` ``(path, sourcetype, host, spans)``
  yields one :class:`BlockResult` per block of :func:`..readers.frames.json_spans`, in the
  file's order, while at most ``IN_FLIGHT_PER_WORKER`` blocks a worker are read ahead.

What a worker does with a block is what the pass does with a chunk (one function for both,
:func:`.stream.chunk_part`): read it (:func:`..readers.frames.read_json_block`), summarise
it, run the prefixes, keep their pruned outputs (dictionary-encoded for searches that keep
rows); sequence numbers count from the block's first row. The reply is those outputs and
the summary part (Arrow IPC with plain strings: the rows the searches keep, pruned, about
as many bytes as the block's text at 32 MB blocks of generated conn records), never the events. The hunt's process adds them in reading order (:meth:`.stream.StreamedEvents.add_part`:
sequence numbers moved up, summary folded, rows kept, stats folded, chunks spilled exactly as
in-process), so the output is byte-identical with ``C2HUNT_WORKERS=1``.

Workers are started with ``spawn`` (polars' thread pool and ``fork`` do not mix), each
builds its own :class:`..engine.Runner` for the same app and lookups and plans the same
searches; when its plans differ from the hunt's (a runner set up some other way), or a
worker dies or fails, the blocks not yet added are read in this process (a message on
stderr) and the pool is not used again: no block is lost or added twice, and nothing waits
on a dead worker (``concurrent.futures`` reports a broken pool). Only plain Zeek JSON logs
of ``POOL_MIN_BYTES`` (64 MiB) and two blocks or more go to the workers; gzip, TSV, Windows and other files, and small
files gathered into one chunk, are read in this process as before.
"""
import os
import sys
from collections import deque
from multiprocessing.context import SpawnContext, SpawnProcess

# Blocks a worker is given ahead of the one the hunt adds next (each is a block's text and
# frame in the worker, ~10-15x BLOCK_BYTES while it runs, then its small reply).
IN_FLIGHT_PER_WORKER = 2
# Files smaller than this are read in the hunt's process: starting the workers (each imports
# the runner, plans the searches and loads the lookups again: 2-3 CPU s) pays over several
# blocks, not over one or two (tests set it to 0 to put small files through the workers).
POOL_MIN_BYTES = 64 << 20
# Workers when C2HUNT_WORKERS is unset: the idle cores (:func:`.parallel.worker_count`), at
# most this many (each holds a chunk's frame and the prefixes' columns: several hundred MB at
# 32 MB blocks).
MAX_DEFAULT_WORKERS = 4


def worker_environment(count, cores=None):
    """The environment variables a worker process is started with beyond this process's
    (the user's own settings win). Polars sizes its thread pool once, from
    ``POLARS_MAX_THREADS`` or the cores: each of ``count`` workers gets its share of the
    ``cores`` (one thread when the workers fill them), since the workers are the parallelism
    here and one pool per process over every core made the processes contend (12 blocks in
    one process: 22.7 -> 19.3 CPU s, 5.8 -> 3.8 of them system time, at the same wall).

    jemalloc's decay is left as polars sets it: ``_RJEM_MALLOC_CONF=dirty_decay_ms:10000,
    muzzy_decay_ms:10000`` in every process cut the pass's CPU 149.0 -> 138.3 s (5 million
    records, 2 workers: the workers' system time 25.1 -> 12.4 s) but raised each worker's peak
    by 150 MB and the tree's by 430 MB (2.17 -> 2.60 GiB), where the 20 million records' peak
    is already over the 3.5 GiB it should stay under."""
    if cores is None:
        cores = _usable_cores()
    environment = {}
    if "POLARS_MAX_THREADS" not in os.environ:
        environment["POLARS_MAX_THREADS"] = str(max(1, cores // max(1, count)))
    return environment


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count():
    """``C2HUNT_WORKERS``: worker processes for the pass (``1``: none, all in this process);
    unset, the idle cores the whole-table hunt would use too (on a busy machine the workers
    only add their overheads: measured at load 6-17), at most ``MAX_DEFAULT_WORKERS``."""
    from .parallel import worker_count as processes
    if os.environ.get("C2HUNT_WORKERS", "").strip().isdigit():
        return processes()
    return min(MAX_DEFAULT_WORKERS, processes())


class BlockResult(object):
    """One block as read: ``declined`` (the file is not read natively: the dict readers take
    it), else ``height`` rows (0: no event), the reader's ``issues`` (line, order, issue) and
    ``kinds`` (generic Zeek log type -> (first line, warning)), the JSON ``keys`` it learned, its ``span`` (offset, length,
    first line), and either ``part`` (a
    :class:`.stream.ChunkPart`, from a worker) or ``frame`` (read here: the caller runs it)."""

    __slots__ = ("span", "declined", "height", "issues", "kinds", "keys", "part", "frame")

    def __init__(self, span, declined=False, height=0, issues=(), kinds=None, keys=(), part=None, frame=None):
        self.span, self.declined, self.height, self.keys = span, declined, height, keys
        self.issues, self.kinds = list(issues), kinds or {}
        self.part, self.frame = part, frame


def plan_signature(plan):
    """What a plan runs per chunk (a worker's plans must match the hunt's)."""
    tstats = None
    if plan.tstats is not None:
        _member, dataset, where = plan.tstats  # the member test follows from the segments
        tstats = (dataset, where.text if where is not None else None)
    return repr((plan.name, plan.kind, plan.segments, plan.cut, sorted(plan.keep or ()), plan.keep is None,
                 plan.stop, sorted(plan.unsized), plan.group_filter, plan.stats_args, tstats,
                 getattr(plan.expression, "text", None)))


class ChunkPool(object):
    """Worker processes for one streamed read (see the module's docstring)."""

    def __init__(self, events, count=None):
        self.events = events
        self.count = worker_count() if count is None else count
        self.executor = None
        self.broken = False

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor
        runner = self.events.runner
        plans = [p for p in self.events.plans.values()]
        spec = {"app_root": runner.app_root, "lookup_dir": runner.lookup_dir, "python": runner.python,
                "names": [p.name for p in plans], "signatures": [plan_signature(p) for p in plans],
                "window": self.events.window, "summary_fields": self.events.summary_fields}
        context = _SpawnWith(worker_environment(self.count))
        self.executor = ProcessPoolExecutor(self.count, mp_context=context,
                                            initializer=_worker_start, initargs=(spec,))

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def blocks(self, path, sourcetype, host, spans):
        """One :class:`BlockResult` per span, in order (see the module's docstring)."""
        spans = iter(spans)
        waiting = deque()  # (span, future)
        try:
            while True:
                while not self.broken and len(waiting) < self.count * IN_FLIGHT_PER_WORKER:
                    span = next(spans, None)
                    if span is None:
                        break
                    try:
                        if self.executor is None:
                            self._start()
                        waiting.append((span, self.executor.submit(_worker_block, str(path), sourcetype, host,
                                                                   *span, self._compacted())))
                    except Exception as exc:  # noqa: BLE001  (no pool: the blocks are read here)
                        self._give_up(exc, waiting)
                        waiting.append((span, None))
                if not waiting:
                    if self.broken:  # the rest of the file, read here
                        for span in spans:
                            yield read_here(path, sourcetype, host, *span)
                    return
                span, future = waiting.popleft()
                result = None
                if future is not None:
                    try:
                        result = future.result()
                        if result.part is not None:
                            _unpack(result.part)
                    except Exception as exc:  # noqa: BLE001  (a dead or failing worker: read here)
                        result = None
                        self._give_up(exc, waiting)
                yield result if result is not None else read_here(path, sourcetype, host, *span)
        finally:
            for _span, future in waiting:
                if future is not None:
                    future.cancel()

    def _compacted(self):
        """The searches whose rows a worker dictionary-encodes as the hunt would keep them now
        (the searches with a stats state that is not folding: their rows are sent, unpacked
        and kept encoded, ~3x smaller than as given; a state that folds again expands them)."""
        return frozenset(plan.name for plan in self.events.plans.values() if plan.compacts_rows())

    def _give_up(self, exc, waiting):
        """Stop using the workers: the blocks given to them are read here instead."""
        if not self.broken:
            sys.stderr.write("c2hunt: worker processes failed (%s: %s); reading on in this process\n"
                             % (type(exc).__name__, str(exc)[:200]))
        self.broken = True
        for index, (span, future) in enumerate(waiting):
            if future is not None:
                future.cancel()
            waiting[index] = (span, None)
        if self.executor is not None:
            try:
                self.executor.shutdown(wait=False, cancel_futures=True)
            except Exception:  # noqa: BLE001
                pass
            self.executor = None


def read_here(path, sourcetype, host, offset, length, first_line):
    """A block read in this process (:class:`BlockResult` with its ``frame``)."""
    from ..readers.frames import read_json_block
    try:
        frame, issues, kinds, keys = read_json_block(path, sourcetype, host, offset, length, first_line)
    except Exception:  # noqa: BLE001  (as FrameChunks: the dict readers decide)
        return BlockResult((offset, length, first_line), declined=True)
    height = frame.height if frame is not None else 0
    return BlockResult((offset, length, first_line), height=height, issues=issues, kinds=kinds, keys=keys,
                       frame=frame if height else None)


class _SpawnWith(SpawnContext):
    """``spawn`` processes started with ``environment`` added to this process's (it must be
    there when the interpreter starts: polars reads it as it loads, before any of our code)."""

    def __init__(self, environment):
        super().__init__()
        self.environment = environment

    def Process(self, *args, **kwargs):  # noqa: N802  (multiprocessing's name)
        process = _SpawnedWith(*args, **kwargs)
        process.environment = self.environment
        return process


class _SpawnedWith(SpawnProcess):
    @staticmethod
    def _Popen(process):  # noqa: N802  (multiprocessing's name)
        # The child inherits this process's environment as the exec call finds it: set for
        # that call only (in this thread, while no polars work runs here: the pool is idle).
        saved = {name: os.environ.get(name) for name in process.environment}
        os.environ.update(process.environment)
        try:
            return SpawnProcess._Popen(process)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# ---------------------------------------------------------------- in the worker process

_WORKER = {}


def _worker_start(spec):
    """A worker's runner and plans (the hunt's, planned again here)."""
    from ..engine import Runner
    from .stream import plan_search
    try:
        runner = Runner(spec["app_root"], lookup_dir=spec["lookup_dir"], python=spec["python"])
        saved = {s.name: s for s in runner.saved_searches()}
        plans = [plan_search(runner, saved[name]) for name in spec["names"]]
        differ = [p.name for p, want in zip(plans, spec["signatures"]) if plan_signature(p) != want]
        if differ:
            raise RuntimeError("the worker's plans differ from the hunt's: %s" % ", ".join(differ))
    except Exception as exc:  # noqa: BLE001  (every block then fails: the hunt reads them itself)
        _WORKER["error"] = "%s: %s" % (type(exc).__name__, exc)
        return
    _WORKER.update(runner=runner, plans=plans, window=spec["window"], summary_fields=spec["summary_fields"])


def _worker_block(path, sourcetype, host, offset, length, first_line, compact=frozenset()):
    from .stream import chunk_part, release_cycles
    if "error" in _WORKER:
        raise RuntimeError(_WORKER["error"])
    if os.environ.get("C2HUNT_WORKER_TEST_EXIT") == str(offset):  # tests: a worker that dies
        os._exit(3)
    result = read_here(path, sourcetype, host, offset, length, first_line)
    if result.frame is not None:
        result.part = _pack(chunk_part(_WORKER["runner"], _WORKER["plans"], _WORKER["window"],
                                       _WORKER["summary_fields"], result.frame, compact))
        result.frame = None
        release_cycles()  # a custom command's column sources (see there)
    return result


# ---------------------------------------------------------------- the reply
# A frame pickled as polars pickles it sends every buffer its string views point into (and
# the views); Arrow IPC with plain strings (the oldest compatibility level) sends only the
# bytes its rows hold, and writes and reads in a third of the time. The frames come back with
# the same columns, dtypes and values (``DataFrame.equals`` and the schema: the tests).

class _Packed(object):
    __slots__ = ("data",)

    def __init__(self, frame):
        import io

        import polars as pl

        from .parallel import write_arrow
        out = io.BytesIO()
        write_arrow(frame, out, pl.CompatLevel.oldest())
        self.data = out.getvalue()

    def frame(self):
        import io

        import polars as pl
        return pl.read_ipc(io.BytesIO(self.data))


def _packed(frame):
    return _Packed(frame) if frame.width else frame


def _frame(held):
    return held.frame() if isinstance(held, _Packed) else held


def _pack(part):
    """A :class:`.stream.ChunkPart`'s frames as :class:`_Packed` ones (in place)."""
    from .stream import Compact
    for index, kept in enumerate(part.frames):
        if isinstance(kept, Compact):
            kept.frame = _packed(kept.frame)
            kept.dictionaries = {name: _packed(values.to_frame()) for name, values in kept.dictionaries.items()}
        else:
            part.frames[index] = _packed(kept)
    part.summary = part.summary[:4] + ([(key, first, groups, None if dns is None else _packed(dns))
                                        for key, first, groups, dns in part.summary[4]],)
    return part


def _unpack(part):
    """:func:`_pack` undone (in place)."""
    from .stream import Compact
    for index, kept in enumerate(part.frames):
        if isinstance(kept, Compact):
            kept.frame = _frame(kept.frame)
            kept.dictionaries = {name: _frame(values).to_series() for name, values in kept.dictionaries.items()}
        else:
            part.frames[index] = _frame(kept)
    part.summary = part.summary[:4] + ([(key, first, groups, None if dns is None else _frame(dns))
                                        for key, first, groups, dns in part.summary[4]],)
    return part


__all__ = ["BlockResult", "ChunkPool", "read_here", "worker_count"]
