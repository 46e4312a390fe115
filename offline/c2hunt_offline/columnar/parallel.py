"""A whole-table hunt's correlation searches across worker processes (``C2HUNT_WORKERS``).

Once the table is read, the searches are independent: each reads the shared
:class:`~.events.EventTable` and gives its notables or its error. :func:`run_searches` has a
thread write the table once as Arrow IPC files (to ``/dev/shm`` where it exists) that each
worker maps without copying, while the searches go, longest expected first, to whichever of
the main process and the workers is free (the workers once the table is written); the outcomes are put back in the searches' order, so the
hunt's output is the in-process output byte for byte.

Workers are ``python -m c2hunt_offline.columnar.parallel`` child processes (a fresh
interpreter: polars' thread pool and ``fork`` do not mix), talking pickles over two pipes.
:func:`warm` starts them before the input is read, so their imports overlap the read; a hunt
that finds none started starts them itself (the main process runs searches meanwhile).

Interface (shared with the streamed pass's pool, which reads the same knob):

- :func:`worker_count` -- ``C2HUNT_WORKERS``: processes searching, the main one included
  (default: the usable cores the load average leaves idle; ``1``: in-process only, the reference).
- :func:`warm(runner) <warm>` -- start the runner's workers now (no-op when ``worker_count()`` is 1);
  :func:`warm_for(runner, paths) <warm_for>` the same when the input is large enough to use them.
- :func:`run_searches(runner, table, todo, now, progress) <run_searches>` -- the outcomes
  ``(notables, None)`` or ``(None, error text)`` of ``todo`` (``(saved, earliest, latest)``
  triples), in its order; None when the searches should run in-process (one worker, a small
  or row-backed table, a table Arrow cannot hold).
- :class:`FrameReads(runner, files) <FrameReads>` -- the started workers read some of a hunt's
  files into frames while the main process reads the others.

A worker that dies (killed, out of memory) has its search rerun in the main process; an
exception other than a search error inside a worker is raised again in the main process, as
the in-process run would raise it. A worker never outlives its parent: it stops at the end of
its input pipe.
"""
import atexit
import collections
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref

MIN_EVENTS = 80_000  # below this many events the searches run in-process: start-up and transfer cost more
WARM_MIN_BYTES = 32 << 20  # input files from which a hunt starts its workers before reading (~85k JSON records)


def worker_count():
    """``C2HUNT_WORKERS`` as a number of processes (at least 1); by default the usable cores
    the 1-minute load average leaves idle (a core counts as busy for each whole process the
    load says is running). On a busy machine a second process of the same session gets no
    more CPU (the scheduler shares one session's processes out as one: measured at load 5-27,
    two processes took 25 % more CPU and longer), so then the searches stay in-process."""
    text = os.environ.get("C2HUNT_WORKERS", "").strip()
    if text:
        try:
            return max(1, int(text))
        except ValueError:
            pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):
        busy = 0
    return max(1, cores - busy)


class WorkerLost(Exception):
    """The worker process ended (or its pipe broke) before answering."""


class Worker(object):
    """One worker process and its two pipes."""

    def __init__(self):
        to_child, self._tx_fd = os.pipe()
        self._rx_fd, from_child = os.pipe()
        offline = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([offline] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "c2hunt_offline.columnar.parallel", str(to_child), str(from_child)],
            pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL, env=env)
        os.close(to_child)
        os.close(from_child)
        self._tx = os.fdopen(self._tx_fd, "wb")
        self._rx = os.fdopen(self._rx_fd, "rb")

    def call(self, message):
        """Send ``message``, return the worker's answer; :class:`WorkerLost` if it ended."""
        self.send(message)
        return self.receive()

    def send(self, message):
        """Send ``message`` (its answer is :meth:`receive`'s); :class:`WorkerLost` if the worker ended."""
        try:
            pickle.dump(message, self._tx, protocol=pickle.HIGHEST_PROTOCOL)
            self._tx.flush()
        except (OSError, ValueError, pickle.PicklingError) as exc:
            raise WorkerLost(str(exc))

    def receive(self):
        try:
            return pickle.load(self._rx)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            raise WorkerLost(str(exc))

    def alive(self):
        return self.process.poll() is None

    def close(self):
        for handle in (self._tx, self._rx):
            try:
                handle.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _has_fileno(stream):
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


class Pool(object):
    """A runner's workers (``worker_count() - 1`` processes: the main process searches too)."""

    def __init__(self, size):
        self.workers = [Worker() for _ in range(size)]

    def usable(self):
        self.workers = [w for w in self.workers if w.alive()]
        return self.workers

    def close(self):
        for worker in self.workers:
            worker.close()
        self.workers = []


_POOLS = weakref.WeakKeyDictionary()  # runner -> Pool


def warm(runner):
    """Start ``runner``'s workers now (so their start-up overlaps reading); returns the pool or None.
    Workers are started once per runner: one that was lost (killed, out of memory) is not
    replaced, its work goes to the main process."""
    size = worker_count() - 1
    if size < 1:
        return None
    pool = _POOLS.get(runner)
    if pool is None:
        pool = _POOLS[runner] = Pool(size)
        weakref.finalize(runner, pool.close)
    return pool


def warmed(runner):
    """The runner's started workers still alive (:func:`warm`), or an empty list."""
    pool = _POOLS.get(runner)
    return pool.usable() if pool is not None else []


def warm_for(runner, paths):
    """:func:`warm` when ``paths`` (files or folders a whole-table hunt is about to read) add up to
    :data:`WARM_MIN_BYTES` or more: the workers' start-up then overlaps the read."""
    from .stream import _input_bytes
    if worker_count() > 1 and _input_bytes(paths) >= WARM_MIN_BYTES:
        return warm(runner)
    return None


@atexit.register
def _close_all():
    for pool in list(_POOLS.values()):
        pool.close()


def _eligible(table):
    """Whether a table's searches may go to workers: an EventTable of frames (not of event
    dicts a row command would copy), large enough to be worth the start-up."""
    return (hasattr(table, "partitions") and getattr(table, "source", None) is None
            and len(table) >= MIN_EVENTS)


GROUPING = ("stats", "eventstats", "streamstats", "tstats", "dedup", "sort")


def expected_cost(runner, saved, table):
    """A search's expected cost, for the order searches are handed out in (longest first): the
    events its first segment's sourcetype terms leave it, times one plus its grouping commands
    (each a pass over about that many rows); a search that starts with a generating command
    (``| tstats``) one pass over every event. Rough, but it puts the long searches first, and
    the rest evens out as each process takes the next search when free."""
    from ..engine import split_pipeline
    from ..searchexpr import SearchExpression
    from .search import may_match_partition
    try:
        segments = split_pipeline(runner.expand(saved.search))
        text = runner.first_search(segments[0])
        expression = SearchExpression(text) if text is not None else None
        rows = sum(frame.height for key, frame in table.partitions.items()
                   if expression is None or may_match_partition(expression, key))
    except Exception:  # noqa: BLE001  (a search that does not parse fails fast wherever it runs)
        return 0
    if expression is None:  # | tstats ...: one grouped pass over its events, whatever follows its summary
        return rows
    grouping = sum(1 for segment in segments[1:] if segment.split(None, 1)[:1] and
                   segment.split(None, 1)[0].lower() in GROUPING)
    return rows * (1 + grouping)


class _Table(object):
    """An EventTable written as Arrow IPC files (one per partition) in a temporary folder, by a
    thread (:meth:`start`) while the main process starts searching; ``ready`` is set once it is
    written (``files``) or could not be (``files`` None: a column Arrow cannot hold)."""

    def __init__(self, table):
        self.table, self.files = table, None
        self.folder = _shared_folder("c2hunt-table-")
        self.ready = threading.Event()
        self._writer = threading.Thread(target=self._write, daemon=True)

    def start(self):
        self._writer.start()
        return self

    def _write(self):
        try:
            files = {}
            for index, (key, frame) in enumerate(self.table.partitions.items()):
                path = os.path.join(self.folder, "%d.arrow" % index)
                write_arrow(frame, path)
                files[key] = path
            self.files = files
        except Exception:  # noqa: BLE001  (the workers sit this hunt out: the main process searches)
            self.files = None
        finally:
            self.ready.set()

    def remove(self):
        if self._writer.is_alive():
            self._writer.join()
        shutil.rmtree(self.folder, ignore_errors=True)


def run_searches(runner, table, todo, now, progress=None):
    """The outcomes of the searches ``todo`` (``(saved, earliest, latest)``) over ``table``, in
    ``todo``'s order, run across the main process and the runner's workers; None when they
    should run in-process (see the module docstring). ``progress(saved)`` is called as each ends."""
    if len(todo) < 2 or not _eligible(table):
        return None
    pool = _POOLS.get(runner) or warm(runner)  # started before the read: used whatever the load is now
    if pool is None or not pool.usable():  # one process wanted, or every worker lost
        return None
    shared = _Table(table).start()  # the main process searches while it is written
    try:
        return _Dispatch(runner, table, shared, pool, todo, now, progress).run()
    finally:
        shared.remove()


class _Jobs(object):
    """Jobs ``0..n-1`` handed out, in ``order``, to the main process (``here(index)``: its
    outcome, or it raises) and the workers (``there(worker, index)``: the worker's answer
    ``("done", outcome)`` or ``("raise", exception)``; :class:`WorkerLost` puts the job back
    for the main process). ``ready(worker)``: whether a worker takes jobs (once, first);
    ``done(index)`` is called as each job ends. :meth:`run` gives the outcomes in job order,
    or raises what the first job (in job order) that raised raised, as a run in-process would."""

    def __init__(self, order, here, workers, there, ready=None, done=None):
        self.here, self.workers, self.there, self.ready, self.done = here, workers, there, ready, done
        self.queue = collections.deque(order)
        self.lock = threading.Lock()
        self.outcomes = [None] * len(self.queue)
        self.raised = []  # (index, exception) of jobs that raised

    def _next(self):
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def _end(self, index, kind, value):
        with self.lock:
            if kind == "raise":
                self.raised.append((index, value))
                return
            self.outcomes[index] = value
            if self.done is not None:
                self.done(index)

    def _serve(self, worker):
        """A thread's loop: hand jobs to ``worker`` until none is left; a lost worker's job
        goes back to the queue for the main process."""
        if self.ready is not None and not self.ready(worker):
            return
        while True:
            index = self._next()
            if index is None:
                return
            try:
                kind, value = self.there(worker, index)
            except WorkerLost:
                with self.lock:
                    self.queue.appendleft(index)
                return
            self._end(index, kind, value)

    def run(self):
        threads = [threading.Thread(target=self._serve, args=(w,), daemon=True) for w in self.workers]
        for thread in threads:
            thread.start()
        try:
            while True:
                index = self._next()
                if index is None:
                    for thread in threads:
                        thread.join()
                    if not self.queue:  # empty: no lost worker's job came back
                        break
                    continue
                try:
                    outcome = self.here(index)
                except Exception as exc:  # noqa: BLE001  (raised below, the first in order first)
                    self._end(index, "raise", exc)
                    continue
                self._end(index, "done", outcome)
        finally:
            with self.lock:
                self.queue.clear()  # an exception here: the threads stop at their next job
        if self.raised:
            raise min(self.raised, key=lambda item: item[0])[1]
        return self.outcomes


class _Dispatch(object):
    """One hunt's searches handed out to the main process and the workers (:class:`_Jobs`)."""

    def __init__(self, runner, table, shared, pool, todo, now, progress):
        self.runner, self.table, self.shared, self.todo, self.now = runner, table, shared, todo, now
        self.workers = pool.usable()
        self.order = sorted(range(len(todo)), key=lambda i: -expected_cost(runner, todo[i][0], table))
        self.progress = progress

    def _here(self, index):
        saved, lo, hi = self.todo[index]
        return self.runner.search_outcome(saved, self.table, self.now, lo, hi)

    def _ready(self, worker):
        """Whether ``worker`` mapped the table (once it is written)."""
        self.shared.ready.wait()
        if self.shared.files is None:
            return False
        try:
            kind, _ = worker.call(("table", _settings(self.runner), self.shared.files))
        except WorkerLost:
            return False
        return kind == "ok"  # otherwise the main process searches

    def _there(self, worker, index):
        saved, lo, hi = self.todo[index]
        return worker.call(("search", saved.name, lo, hi, self.now))

    def _done(self, index):
        if self.progress is not None:
            self.progress(self.todo[index][0])

    def run(self):
        return _Jobs(self.order, self._here, self.workers, self._there, self._ready, self._done).run()


def _settings(runner):
    """What a worker builds the same runner from."""
    return runner.app_root, runner.lookup_dir, runner.python


# ---------------------------------------------------------------------------- a streamed rest's buckets
def prepare(runner):
    """Start the runner's workers (:func:`warm`) and have each build its runner now, so a
    streamed rest's buckets (:func:`run_buckets`) find them ready (no-op with one process)."""
    pool = warm(runner) if worker_count() > 1 else None
    for worker in pool.usable() if pool is not None else ():
        try:
            worker.send(("runner", _settings(runner)))  # not answered
        except WorkerLost:
            pass


def run_buckets(runner, count, data_of, here, segments, cut):
    """The outputs of buckets ``0..count-1`` (:class:`.buckets.Bucketed`), in bucket order,
    across the main process and the runner's workers (started now if they were not); None when
    they should run in-process (one process wanted, every worker lost). ``data_of(bucket)``:
    the bucket's rows (None: none); ``here(data)``: ``segments[cut:]`` run over them in this
    process. A worker is sent one bucket at a time, as an Arrow IPC file in /dev/shm that it
    maps; it runs ``segments[cut:]`` with its own runner and answers what ``here`` would
    (:func:`.buckets.run_bucket`: the output frame, or a mark that it is not exact). A worker
    that dies has its bucket, and the buckets after, run here; a bucket that raised in a worker
    raises here, as in-process."""
    pool = warm(runner)
    if pool is None or not pool.usable():
        return None
    folder = _shared_folder("c2hunt-bucket-")
    settings = _settings(runner)

    def run_here(bucket):
        data = data_of(bucket)
        return None if data is None else here(data)

    def run_there(worker, bucket):
        data = data_of(bucket)
        if data is None:
            return "done", None
        path = os.path.join(folder, "%d.arrow" % bucket)
        try:
            write_arrow(data, path)
        except Exception:  # noqa: BLE001  (a column Arrow cannot hold: this process runs it)
            raise WorkerLost("not written")
        del data
        try:
            return worker.call(("bucket", settings, segments, cut, path))
        finally:
            os.unlink(path)

    try:
        return _Jobs(range(count), run_here, pool.usable(), run_there).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------- reading
def _shared_folder(prefix):
    """A new temporary folder, in /dev/shm where it can (memory, not disk)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix=prefix, dir=base)


class FrameReads(object):
    """Files read into frames by the workers while the main process reads the others (a
    whole-table hunt's read: :func:`~..readers.frames.frames_of_files`). ``files``: (index,
    path, sourcetype, host, bytes) of the files the native frame reader takes; the largest
    stays in the main process and each other file goes to whichever process has the fewest
    bytes to read so far. :meth:`result` gives a worker's file's ``read_frame`` answer (frame
    or None, issues), or None when its worker was lost (the main process reads it then)."""

    def __init__(self, runner, files):
        self.answers, self.sent = {}, {}
        workers = warmed(runner)
        if not workers or len(files) < 2:
            self.folder = None
            return
        self.folder = _shared_folder("c2hunt-read-")
        loads = [0] * (len(workers) + 1)  # bytes each process reads; the main process is 0
        for index, path, sourcetype, host, size in sorted(files, key=lambda f: -f[4]):
            least = loads.index(min(loads))
            loads[least] += size
            if least:
                self.sent.setdefault(least - 1, []).append((index, path, sourcetype, host))
        for number, jobs in list(self.sent.items()):
            worker = workers[number]
            try:
                worker.send(("read", [(path, sourcetype, host, os.path.join(self.folder, "%d.arrow" % index))
                                      for index, path, sourcetype, host in jobs]))
            except WorkerLost:
                del self.sent[number]
                continue
            self.sent[number] = (worker, [index for index, _p, _s, _h in jobs])

    def __contains__(self, index):
        return any(index in indexes for _worker, indexes in self.sent.values())

    def result(self, index):
        for number, (worker, indexes) in list(self.sent.items()):
            if index in indexes:
                if number not in self.answers:
                    try:
                        self.answers[number] = worker.receive()
                    except WorkerLost:
                        self.answers[number] = None
                answer = self.answers[number]
                if answer is None or answer[0] != "done":
                    return None
                frame_path, issues = answer[1][indexes.index(index)]
                return (_load_frame(frame_path) if frame_path else None), issues
        return None

    def close(self):
        for number in self.sent:  # every answer read, so the worker's pipe is clear for the searches
            if number not in self.answers:
                try:
                    self.answers[number] = self.sent[number][0].receive()
                except WorkerLost:
                    self.answers[number] = None
        if self.folder is not None:  # mapped frames stay readable once their files are gone
            shutil.rmtree(self.folder, ignore_errors=True)


def _read_files(jobs):
    """The worker's side of :class:`FrameReads`: each file's ``read_frame``, its frame written
    to the given path (None: not read natively); (path or None, issues) per file."""
    from ..readers.frames import read_frame
    out = []
    for path, sourcetype, host, target in jobs:
        frame, issues = read_frame(path, sourcetype, host)
        if frame is not None:
            write_arrow(frame, target)
        out.append((target if frame is not None else None, issues))
    return out


def write_arrow(frame, target, compat_level=None):
    """``frame`` as an Arrow IPC file (a path or a binary file) of one record batch, so that
    each column read back is one chunk: polars writes a large frame as several batches, and a
    gather from a column of several chunks (every stats, sort and dedup does them) is 10-15x
    slower (polars 2.1, 755,000 strings in 6 chunks: 110-150 ms against 8-10 ms)."""
    import polars as pl
    frame.write_ipc(target, compat_level=compat_level or pl.CompatLevel.newest(),
                    record_batch_size=max(frame.height, 1))


# ---------------------------------------------------------------------------- the worker side
def _load_frame(path):
    """The frame of an Arrow IPC file, mapped without copying (copied without pyarrow)."""
    import polars as pl
    try:
        import pyarrow as pa
        import pyarrow.ipc  # noqa: F401  (pa.ipc)
    except ImportError:
        return pl.read_ipc(path)
    with pa.memory_map(path) as source:
        return pl.from_arrow(pa.ipc.open_file(source).read_all())


def _load_table(files):
    """The EventTable of ``files`` (partition key -> Arrow IPC path)."""
    from .events import EventTable
    return EventTable({key: _load_frame(path) for key, path in files.items()})


def _serve_pipes(rx, tx):
    """Answer the parent's messages until its pipe ends."""
    runners = {}  # settings -> Runner
    runner = table = None  # the mapped table's (a hunt's searches)

    def runner_of(settings):
        from ..engine import Runner
        if settings not in runners:
            app_root, lookup_dir, python = settings
            runners[settings] = Runner(app_root, lookup_dir, python=python)
        return runners[settings]
    while True:
        try:
            message = pickle.load(rx)
        except EOFError:
            return
        if message[0] == "runner":
            try:
                runner_of(message[1])
            except Exception:  # noqa: BLE001  (built again, and its error answered, when used)
                pass
            continue
        if message[0] == "table":
            _, settings, files = message
            try:
                runner = runner_of(settings)
                table = _load_table(files)
                answer = ("ok", None)
            except Exception as exc:  # noqa: BLE001  (the parent searches without this worker)
                answer = ("failed", "%s: %s" % (type(exc).__name__, exc))
        elif message[0] == "read":
            try:
                answer = ("done", _read_files(message[1]))
            except Exception as exc:  # noqa: BLE001  (the parent reads them itself)
                answer = ("failed", "%s: %s" % (type(exc).__name__, exc))
        else:
            try:
                answer = ("done", _answer(message, runner_of, runner, table))
            except Exception as exc:  # noqa: BLE001  (raised again in the parent, as in-process)
                answer = ("raise", _picklable(exc))
        pickle.dump(answer, tx, protocol=pickle.HIGHEST_PROTOCOL)
        tx.flush()


def _answer(message, runner_of, runner, table):
    """A search's outcome over the mapped table, or a bucket's output (:func:`run_buckets`)."""
    if message[0] == "bucket":
        from .buckets import run_bucket
        _, settings, segments, cut, path = message
        return run_bucket(runner_of(settings), segments, cut, _load_frame(path))
    _, name, lo, hi, now = message
    saved = next(s for s in runner.saved_searches() if s.name == name)
    return runner.search_outcome(saved, table, now, lo, hi)


def _picklable(exc):
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError("%s: %s" % (type(exc).__name__, exc))


def main(argv):
    rx = os.fdopen(int(argv[0]), "rb")
    tx = os.fdopen(int(argv[1]), "wb")
    _serve_pipes(rx, tx)


if __name__ == "__main__":
    main(sys.argv[1:])


__all__ = ["FrameReads", "MIN_EVENTS", "Pool", "WARM_MIN_BYTES", "WorkerLost", "expected_cost", "run_searches", "warm", "warm_for",
           "worker_count"]
