"""The runner: loads the app's configuration, reads files, runs searches, collects notables."""
import json
import os
import re
import shlex
import stat
import tempfile
import time as _time

from . import commands as _commands
from . import grammar
from .conf import Macros, read_conf, split_pipeline
from .limits import regex_watchdog
from .lookups import Lookups
from .readers import ReadIssue, UnknownFormat, detect_and_read
from .searchexpr import SearchExpression
from .values import SplError, Unavailable, format_number, mv, to_number, to_str

APP_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Fields a notable shows first when the search returns them (the rest follow).
KEY_FIELDS = ("src", "dest", "dest_port", "transport", "protocol", "user", "User",
              "process_name", "Image", "process_path", "DestinationIp", "SourceIp",
              "query", "beacon_score", "count")


def split_spec(spec):
    """``"path:source:type"`` -> (path, sourcetype); sourcetypes may contain colons."""
    spec = str(spec)
    if os.path.exists(spec):
        return spec, None
    for i, ch in enumerate(spec):
        if ch == ":" and i and os.path.exists(spec[:i]):
            return spec[:i], spec[i + 1:] or None
    return spec, None


_DOC_PREFIXES = ("license", "licence", "readme", "copying", "notice", "authors", "changelog")
# Documentation and tool configuration that accompanies data, never a log.
_DOC_SUFFIXES = (".md", ".rst", ".html", ".pdf", ".ndpi-result.out", ".config", ".conf", ".cfg",
                 ".ini", ".yaml", ".yml", ".sh", ".py")


def _is_documentation(name):
    """Files a folder of logs often carries beside the data (skipped when reading a folder).

    ``LICENSE``, ``README.txt``, ``NOTICE``: yes. A log named like one (Zeek's ``notice.log``,
    ``notice.log.gz``, ``notice.00:00:00-01:00:00.log.gz``, ``notice.json``): no.
    """
    low = name.lower()
    if low.startswith(".") or low.endswith(_DOC_SUFFIXES):
        return True
    if not low.startswith(_DOC_PREFIXES):
        return False
    parts = low.split(".")[1:]
    return not ({"log", "json", "jsonl", "ndjson", "gz", "labeled", "csv", "tsv", "evtx",
                 "pcap", "pcapng", "xml"} & set(parts))


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISDIR, "a folder"))


def _not_regular(path):
    """Why ``path`` is not read (None for a regular file, links followed): opening a FIFO
    waits for a writer and a device never ends, so only regular files are read."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "cannot read: %s" % (exc.strerror or exc)
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")
    return "skipped: %s, only regular files are read" % kind


def expand_inputs(paths):
    """Input specs with folders walked: (sorted file specs, issues for what cannot be walked).

    Documentation files in folders are left out; a subfolder that cannot be listed is
    named as an issue rather than skipped silently. ``"path:sourcetype"`` specs pass as given.
    """
    files, issues = [], []

    def unlistable(exc):
        issues.append(ReadIssue(getattr(exc, "filename", None) or "?", None,
                                "folder skipped: %s" % (exc.strerror or exc)))

    for spec in paths:
        base, _ = split_spec(spec)
        if os.path.isdir(base):
            for folder, _dirs, names in os.walk(base, onerror=unlistable):
                files.extend(os.path.join(folder, f) for f in names if not _is_documentation(f))
        else:
            files.append(str(spec))
    return sorted(files), issues


def input_files(paths, sourcetype, issues):
    """(path, sourcetype given or None) of every file ``paths`` name, folders walked, in the
    order the files are read; what a folder walk cannot list goes into ``issues``."""
    for spec in paths:
        path, forced = split_spec(str(spec))
        given = forced or sourcetype
        if os.path.isdir(path):
            children, walk_issues = expand_inputs([path])
            issues.extend(walk_issues)
            yield from input_files(children, given, issues)
            continue
        yield path, given


class Notable(object):
    """One result row of a correlation search, as ES would raise it."""

    __slots__ = ("search", "time", "host", "signal", "risk_score", "fields")

    def __init__(self, search, time, host, signal, risk_score, fields):
        self.search, self.time, self.host = search, time, host
        self.signal, self.risk_score, self.fields = signal, risk_score, fields

    def as_dict(self):
        return {"search": self.search, "time": self.time, "host": self.host,
                "signal": self.signal, "risk_score": self.risk_score, "fields": self.fields}

    def __repr__(self):
        return "Notable(%r, signal=%r, risk_score=%r, host=%r)" % (self.search, self.signal,
                                                                   self.risk_score, self.host)


class SavedSearch(object):
    """A stanza of savedsearches.conf and how the runner classifies it."""

    def __init__(self, name, stanza):
        self.name = name
        self.stanza = stanza
        self.search = stanza.get("search", "")
        if stanza.get("action.correlationsearch.enabled", "0").strip() in ("1", "true") \
                or stanza.get("action.notable", "0").strip() in ("1", "true"):
            self.kind = "correlation"
        elif re.search(r"\|\s*outputlookup\b", self.search):
            self.kind = "baseline"
        else:
            self.kind = "other"

    def default_risk_score(self):
        """Risk score from the RBA settings (``action.risk.param._risk`` or ``_risk_score``)."""
        risk = self.stanza.get("action.risk.param._risk")
        if risk:
            try:
                entries = json.loads(risk)
                scores = [to_number(e.get("risk_score")) for e in entries if isinstance(e, dict)]
                scores = [s for s in scores if s is not None]
                if scores:
                    return max(scores)
            except ValueError:
                pass
        return to_number(self.stanza.get("action.risk.param._risk_score"))


class SearchResult(object):
    """Rows of one search, the column order a table/fields command set, and messages."""

    def __init__(self, rows, columns, messages):
        self.rows, self.columns, self.messages = rows, columns, messages

    def fields(self):
        cols = list(self.columns or [])
        for row in self.rows:
            for k in row:
                if k not in cols:
                    cols.append(k)
        return cols


def engine_name():
    """``C2HUNT_ENGINE``: ``col`` (default, the columnar engine), ``memo`` (the row engine with
    its memo and lookup indexes) or ``row`` (the per-row reference)."""
    name = os.environ.get("C2HUNT_ENGINE", "").strip().lower()
    return name if name in ("memo", "row") else "col"


class _Step(object):
    """The command a pipeline is running (for error messages)."""
    name = None


class _Context(object):
    def __init__(self, runner, events):
        self.runner = runner
        self._events = events
        self.lookups = runner.lookups
        self.messages = []
        self.columns = None

    @property
    def events(self):
        """The search's events as dicts (an EventTable's materialised on first use)."""
        if not isinstance(self._events, list):
            self._events = self._events.rows()
        return self._events

    def run_custom(self, name, args, rows):
        return self.runner.run_custom(self, name, args, rows)


class Runner(object):
    """Executes SPL over events with one app's macros, lookups and commands.

    Parameters
    ----------
    app_root : str, optional
        The app folder (default: this repository).
    lookup_dir : str, optional
        Where ``outputlookup`` writes and where lookups are read first (default: a fresh
        temporary folder for this runner, so the app's ``lookups/`` is never written).
    python : str, optional
        Interpreter for the custom commands (default: the current one).
    """

    def __init__(self, app_root=None, lookup_dir=None, python=None):
        self.app_root = os.path.abspath(app_root or APP_ROOT)
        default = os.path.join(self.app_root, "default")
        self.macros = Macros(read_conf(os.path.join(default, "macros.conf")))
        self.transforms = read_conf(os.path.join(default, "transforms.conf"))
        self.commands_conf = read_conf(os.path.join(default, "commands.conf"))
        self.savedsearches = read_conf(os.path.join(default, "savedsearches.conf"))
        if lookup_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="c2hunt-lookups-")
            lookup_dir = self._tmp.name
        self.lookup_dir = lookup_dir
        self.lookups = Lookups(self.app_root, self.transforms, lookup_dir)
        self.python = python
        # True: check a search's syntax only (run over no events; a lookup or data model the
        # runner lacks is skipped instead of failing the search)
        self.parse_only = False
        self._table_cache = []  # (events list, its length, its EventTable), newest first

    # ------------------------------------------------------------------ inputs
    def read_files(self, paths, sourcetype=None, host=None, progress=None):
        """Read files into events (newest first, as Splunk returns them).

        ``paths`` items may be ``"path:sourcetype"`` to give one file a sourcetype.
        Returns (events, issues); unknown formats become issues naming the file.
        """
        events, issues = [], []
        for path, st in input_files(paths, sourcetype, issues):
            file_events, file_issues = self.read_one_file(path, st, host)
            events.extend(file_events)
            issues.extend(file_issues)
            if progress is not None:
                progress(path, len(file_events))
        events.sort(key=lambda e: -(to_number(e.get("_time")) or 0))
        return events, issues

    def read_table(self, paths, sourcetype=None, host=None, progress=None):
        """:meth:`read_files` for the columnar engine: (events, issues) where events is an
        :class:`~.columnar.events.EventTable` read straight into columns (Zeek logs by polars'
        own parsers, other files through the dict readers), so the events are never Python
        dicts unless a row consumer asks. Under ``C2HUNT_ENGINE=memo|row``, or when the files'
        frames cannot be held together, the events are :meth:`read_files`' list."""
        if engine_name() == "col":
            from .columnar.events import EventTable
            from .readers.frames import frames_of_files
            frames, issues = frames_of_files(self, paths, sourcetype, host, progress)
            try:
                return EventTable.from_frames(frames), issues
            except Exception:  # noqa: BLE001  (frames that do not stack: the lists decide)
                pass
        return self.read_files(paths, sourcetype=sourcetype, host=host, progress=progress)

    def read_stream(self, paths, sourcetype=None, host=None, progress=None, names=None, skip=(),
                    earliest=None, latest=None):
        """:meth:`read_table` for a hunt that runs the correlation searches ``names`` (all but
        ``skip`` when None) over ``[earliest, latest)``: the files are read a chunk at a time and
        every search's per-event prefix runs as they are read, so the events are never held
        all at once (:mod:`.columnar.stream`). Returns (events, issues) where events is a
        :class:`~.columnar.stream.StreamedEvents` that :meth:`hunt` finishes the searches
        from; :meth:`read_table`'s result under ``C2HUNT_STREAM=0``, for inputs below
        ``stream.AUTO_MIN_BYTES`` unless ``C2HUNT_STREAM=1``, or under another engine."""
        from .columnar import stream
        if engine_name() != "col" or not stream.enabled(paths):
            return self.read_table(paths, sourcetype=sourcetype, host=host, progress=progress)
        plans = [stream.plan_search(self, saved) for saved in self.saved_searches()
                 if saved.kind == "correlation" and saved.name not in set(skip or ())
                 and (not names or saved.name in names)]
        try:
            return stream.stream_events(self, paths, plans, sourcetype, host, (earliest, latest), progress)
        except Exception:  # noqa: BLE001  (a chunk the tables cannot hold: read whole, as before)
            return self.read_table(paths, sourcetype=sourcetype, host=host, progress=progress)

    def read_one_file(self, path, sourcetype, host):
        """One file's (events, issues) by the dict readers, each event given the defaults
        Splunk indexes it with (host: ``host`` or the file's stem, index main, _time 0)."""
        events, issues = self._read_one(path, sourcetype)
        stem = os.path.splitext(os.path.basename(path))[0]
        for ev in events:
            ev.setdefault("host", host or stem)
            ev.setdefault("index", "main")
            ev.setdefault("_time", 0.0)
            ev.setdefault("linecount", "1")
        return events, issues

    def _read_one(self, path, sourcetype):
        """One file's (events, issues); whatever goes wrong is an issue naming the file,
        never an exception: one bad file must not stop the others being searched."""
        why_not = _not_regular(path)
        if why_not is not None:
            return [], [ReadIssue(path, None, why_not)]
        try:
            return detect_and_read(path, sourcetype, self.app_root)
        except UnknownFormat as exc:
            return [], [ReadIssue(path, None, str(exc).split(": ", 1)[-1])]
        except OSError as exc:
            return [], [ReadIssue(path, None, "cannot read: %s" % exc)]
        except Exception as exc:  # noqa: BLE001  (a reader defect or a hostile file)
            return [], [ReadIssue(path, None, "unreadable, file skipped (%s: %s)"
                                  % (type(exc).__name__, str(exc)[:200]))]

    # ------------------------------------------------------------------ searching
    def expand(self, spl):
        """The search with comments removed and macros expanded."""
        spl = re.sub(r"```.*?```", " ", spl, flags=re.S)
        return self.macros.expand(spl).strip()

    def run(self, spl, events, now=None, earliest=None, latest=None):
        """Run one search over ``events``; returns a :class:`SearchResult`.

        ``events`` is a list of event dicts (or an :class:`~.columnar.events.EventTable`).
        ``earliest``/``latest`` (epochs) are the search's time range, as the time picker or a
        saved search's dispatch window sets it: events outside ``[earliest, latest)`` are not
        searched. ``now`` is the time inline ``earliest=``/``latest=`` modifiers are relative
        to (default: just after the newest event, so relative windows fit an export).

        Anything that goes wrong is a :class:`SplError` naming the command: a hostile search
        (nesting deeper than the stack, numbers past a double, a regex that backtracks past
        its time budget) ends the search, never the runner.

        The engine is ``C2HUNT_ENGINE``'s (:func:`engine_name`): ``col`` (default) runs the
        pipeline on columns (:mod:`.columnar.engine`), ``memo``/``row`` on event dicts.
        """
        table = self.event_table(events) if engine_name() == "col" else None
        if table is not None:
            from .columnar import engine as columnar_engine
            table = table.window(earliest, latest)
            if now is None:
                now = data_now(table)
            ctx = _Context(self, table)
            return self._guarded(ctx, lambda step: columnar_engine.execute(
                self, ctx, split_pipeline(self.expand(spl)), table, now, step))
        if not isinstance(events, list):
            events = events.rows()
        if earliest is not None or latest is not None:
            events = in_window(events, earliest, latest)
        if now is None:
            now = data_now(events)
        ctx = _Context(self, events)
        return self._guarded(ctx, lambda step: self._run_rows(ctx, split_pipeline(self.expand(spl)),
                                                             events, now, step))

    def _guarded(self, ctx, pipeline):
        """``pipeline(step)`` under the regex budget, every failure a :class:`SplError` prefixed
        with the command that was running (``step.name``; None while parsing or in the first
        search). Both engines run through here, so their errors read the same."""
        step = _Step()
        with regex_watchdog():
            try:
                rows = pipeline(step)
            except SplError as exc:
                raise SplError(self._prefixed(step.name, str(exc)) if step.name else str(exc))
            except RecursionError:
                raise SplError("%s: expression nested too deeply to evaluate" % (step.name or "search"))
            except MemoryError:
                raise SplError("%s: out of memory" % (step.name or "search"))
            except Exception as exc:  # noqa: BLE001  (a defect or hostile input: still a search error)
                raise SplError("%s: cannot run (%s: %s)" % (step.name or "search", type(exc).__name__,
                                                            str(exc)[:200]))
        return SearchResult(rows or [], ctx.columns, ctx.messages)

    @staticmethod
    def first_search(segment):
        """The search expression of a pipeline's first segment (None: a generating command
        follows a leading pipe)."""
        if segment == "":
            return None
        if re.match(r"^search\b", segment, re.I):
            segment = segment[6:]
        return segment

    def next_command(self, segment, rows, step):
        """(name, arguments) of a later segment, checked; ``step.name`` set to it."""
        step.name = None
        name, args = self._command(segment, rows)
        step.name = name
        grammar.check_options(name, args)
        return name, args

    def apply_rows(self, ctx, name, args, rows):
        """The row command ``name`` over ``rows`` (a missing lookup/data model is no result
        under ``parse_only``: it says nothing of the syntax)."""
        try:
            return _commands.COMMANDS[name](ctx, args, rows if rows is not None else [])
        except Unavailable:
            if not self.parse_only:
                raise
            return []

    def _run_rows(self, ctx, segments, events, now, step):
        rows = None
        for index, segment in enumerate(segments):
            step.name = None
            if index == 0:
                text = self.first_search(segment)
                if text is not None:
                    # filter first, then copy: later commands change rows, never the events
                    matches = SearchExpression(text, now=now)
                    rows = [dict(e) for e in events if matches(e)]
                continue
            name, args = self.next_command(segment, rows, step)
            rows = self.apply_rows(ctx, name, args, rows)
        return rows

    def event_table(self, events):
        """The :class:`EventTable` of ``events`` (kept for the same list object, so every search
        of a hunt shares one); None when the events cannot be held in columns."""
        from .columnar.events import EventTable
        from .columnar.table import NotColumnar
        if not isinstance(events, list):
            return events
        for cached in self._table_cache:
            if cached[0] is events and cached[1] == len(events):
                return cached[2]
        try:
            table = EventTable.from_events(events)
        except NotColumnar:
            table = None
        # two lists kept: a hunt's events and its baseline's (or a report's) alternate
        self._table_cache = [(events, len(events), table)] + self._table_cache[:1]
        return table

    @staticmethod
    def _prefixed(name, text):
        return text if text.lower().startswith(name) else "%s: %s" % (name, text)

    @staticmethod
    def _command(segment, rows):
        """(command name, its argument text) of one pipeline segment, checked."""
        if not segment:
            raise SplError("empty command between pipes")
        m = re.match(r"^([A-Za-z_][\w]*)\s*(.*)$", segment, re.S)
        if not m:
            raise SplError("cannot parse command %r" % segment[:60])
        name, args = m.group(1).lower(), m.group(2)
        if name not in _commands.COMMANDS:
            raise SplError("command %r is not supported by the offline runner" % name)
        if rows is None and name not in _commands.GENERATING:
            raise SplError("%s is not a generating command; a search must start with "
                           "search terms or | tstats/inputlookup/makeresults" % name)
        if rows is not None and name in ("tstats", "makeresults"):
            raise SplError("%s must be the first command of a search" % name)
        return name, args

    def run_custom(self, ctx, name, args, rows):
        """Run bin/<command>.py over ``rows`` through search command protocol v2."""
        # converted a chunk at a time as the command reads them (never all rows twice)
        records = ({k: (v if type(v) is str else [to_str(x) for x in v] if isinstance(v, list)
                        else to_str(v)) for k, v in row.items()} for row in rows)
        return self.run_custom_records(ctx, name, args, records)

    def run_custom_records(self, ctx, name, args, records):
        """Run bin/<command>.py over ``records`` (dicts of strings and lists of strings, any
        iterable: read as the command asks for them); returns its reply records."""
        from . import scp_driver
        stanza = self.commands_conf.get(name)
        if stanza is None:
            raise SplError("%s: not declared in default/commands.conf" % name)
        script = os.path.join(self.app_root, "bin", stanza.get("filename", name + ".py"))
        if not os.path.exists(script):
            raise SplError("%s: %s does not exist" % (name, script))
        try:
            argv = shlex.split(args)
        except ValueError as exc:
            raise SplError("%s: bad arguments: %s" % (name, exc))
        try:
            result = scp_driver.run_command(script, argv, records, python=self.python)
        except scp_driver.CommandError as exc:
            raise SplError("%s: %s" % (name, exc))
        ctx.messages.extend("%s: %s %s" % (name, level, text) for level, text in result.messages)
        return result.records

    # ------------------------------------------------------------------ saved searches
    def saved_searches(self):
        return [SavedSearch(name, stanza) for name, stanza in self.savedsearches.items()
                if name != "default" and "search" in stanza]

    def notables(self, saved, rows):
        out = []
        default_score = saved.default_risk_score()
        for row in rows:
            time_value = to_number(row.get("_time"))
            if time_value is None:
                time_value = to_number(row.get("firstTime")) or to_number(row.get("lastTime"))
            host = row.get("host") or row.get("src") or row.get("dest")
            signal = row.get("detection_signal") or row.get("signal") or saved.name
            score = to_number(row.get("risk_score"))
            if score is None:
                score = default_score
            fields = {k: v for k, v in row.items() if not k.startswith("_") or k == "_time"}
            out.append(Notable(saved.name, time_value, to_str(host if not isinstance(host, list) else host[0]),
                               to_str(signal if not isinstance(signal, list) else ",".join(map(to_str, signal))),
                               score, fields))
        return out

    def dispatch_window(self, saved, now):
        """(earliest, latest) epochs of a saved search's dispatch window at ``now``."""
        from . import timespec
        earliest = saved.stanza.get("dispatch.earliest_time", "").strip()
        latest = saved.stanza.get("dispatch.latest_time", "").strip()
        return (timespec.resolve(earliest, now) if earliest else None,
                timespec.resolve(latest, now) if latest else None)

    def hunt(self, events, names=None, baseline_events=None, skip=(), earliest=None,
             latest=None, now=None, dispatch=False, progress=None):
        """Run the correlation searches over ``events``.

        Parameters
        ----------
        events : list of dict
        names : list of str, optional
            Run only these saved searches.
        baseline_events : list of dict, optional
            When given, the baseline searches (those ending in ``outputlookup``) run over
            these events first and the correlation searches see the lookups they wrote.
        skip : iterable of str
            Saved searches not to run.
        earliest, latest : float, optional
            The time range (epochs) every search is limited to, as a time picker sets it.
        now : float, optional
            When the searches run (default: one second after the newest event).
        dispatch : bool
            Limit each search to its own ``dispatch.earliest_time``/``latest_time`` at
            ``now`` as well (one scheduled run of each).
        progress : callable, optional
            Called with each :class:`SavedSearch` as its search ends.

        A whole table's searches run across ``C2HUNT_WORKERS`` processes
        (:mod:`.columnar.parallel`), their notables in the searches' order as in-process.

        Returns
        -------
        (list of Notable, dict of search name -> error text)
        """
        notables, errors = [], {}
        searches = self.saved_searches()
        streamed = getattr(events, "streamed", None)  # a StreamedEvents (read_stream)
        if streamed is not None and baseline_events is not None:
            # the prefixes ran before the baseline wrote its lookups: every search reads it all
            events = events.full_table()
            streamed = None
        if baseline_events is not None:
            for saved in searches:
                if saved.kind == "baseline" and saved.name not in skip:
                    try:
                        self.run(saved.search, baseline_events)
                    except SplError as exc:
                        errors[saved.name] = str(exc)
        if engine_name() == "col" and streamed is None:
            events = self.event_table(events) or events  # built once, shared by every search
        if now is None and earliest is None and latest is None and not dispatch:
            now = data_now(events)  # what run() would work out for each search, once
        todo = []
        for saved in searches:
            if saved.kind != "correlation" or saved.name in skip:
                continue
            if names and saved.name not in names:
                continue
            lo, hi = earliest, latest
            if dispatch:
                run_now = data_now(events) if now is None else now
                d_lo, d_hi = self.dispatch_window(saved, run_now)
                lo = d_lo if lo is None else (lo if d_lo is None else max(lo, d_lo))
                hi = d_hi if hi is None else (hi if d_hi is None else min(hi, d_hi))
            todo.append((saved, lo, hi))
        outcomes = None
        if streamed is None and engine_name() == "col":  # across C2HUNT_WORKERS processes when it pays
            from .columnar import parallel
            found = parallel.run_searches(self, events, todo, now, progress)
            if found is not None:
                outcomes = {id(saved): outcome for (saved, _lo, _hi), outcome in zip(todo, found)}
        if outcomes is None:
            outcomes = {}
            for saved, lo, hi in (events.run_order(todo) if streamed is not None else todo):
                outcomes[id(saved)] = self.search_outcome(saved, events, now, lo, hi, streamed=streamed is not None)
                if progress is not None:
                    progress(saved)
        for saved, _lo, _hi in todo:  # in the searches' order, whatever order they ran in
            found, error = outcomes[id(saved)]
            if error is not None:
                errors[saved.name] = error
            else:
                notables.extend(found)
        return notables, errors

    def search_outcome(self, saved, events, now, earliest, latest, streamed=False):
        """One correlation search of a hunt: (its notables, None), or (None, its error text)."""
        try:
            if streamed:
                result = self._run_streamed(saved, events, now, earliest, latest)
            else:
                result = self.run(saved.search, events, now=now, earliest=earliest, latest=latest)
        except SplError as exc:
            return None, str(exc)
        return self.notables(saved, result.rows), None

    def _run_streamed(self, saved, events, now, earliest, latest):
        """One search of a streamed hunt: the rest of its pipeline over what its prefix kept,
        over its tstats members, or (not streamed) over the full table."""
        from .columnar import engine as columnar_engine
        from .columnar.buckets import Bucketed
        from .columnar.events import EventTable
        from .columnar.stream import ORDER_SEQ, ORDER_TIME
        plan = events.streamed(saved.name, earliest, latest)
        if plan is None:
            return self.run(saved.search, events.full_table(), now=now, earliest=earliest, latest=latest)
        if plan.kind == "tstats":
            return self.run(saved.search, events.tstats_table(plan), now=now, earliest=earliest, latest=latest)
        data, start = events.finish(plan)  # the prefix's rows, or the stats carried over them
        if start is None:
            return self.run(saved.search, events.full_table(), now=now, earliest=earliest, latest=latest)
        if data is None:  # no event selected: the search over none, as the whole table gives it
            return self.run(saved.search, EventTable({}), now=now)
        if isinstance(data, Bucketed):  # the rest's stats run bucket by bucket (columnar.buckets)
            ctx = _Context(self, EventTable({}))

            def rest_over_buckets(step):
                frame, start_at = data.run(self, ctx, step)  # the buckets' output, the command after it
                return columnar_engine.execute_from(self, ctx, plan.segments, start_at, frame, step=step)
            return self._guarded(ctx, rest_over_buckets)
        data = data.drop([ORDER_TIME, ORDER_SEQ], strict=False)
        ctx = _Context(self, EventTable({}))
        if plan.stop is not None:  # rows pruned to the fields the rest names (columnar.prune)
            from .columnar.prune import run_rest
            return self._guarded(ctx, lambda step: run_rest(self, ctx, plan.segments, start, plan.stop, data, step))
        return self._guarded(ctx, lambda step: columnar_engine.execute_from(
            self, ctx, plan.segments, start, data, step))


def in_window(events, earliest=None, latest=None):
    """The events with ``earliest <= _time < latest`` (either bound may be None)."""
    out = []
    for ev in events:
        t = to_number(ev.get("_time"))
        if t is None:
            continue
        if (earliest is None or t >= earliest) and (latest is None or t < latest):
            out.append(ev)
    return out


def data_now(events):
    """The "now" of a search over an export: one second after its newest event."""
    if not isinstance(events, list):
        newest = events.newest_time()
        return float(int(newest) + 1) if newest is not None else float(int(_time.time()))
    times = [t for t in (to_number(e.get("_time")) for e in events) if t is not None]
    return float(int(max(times)) + 1) if times else float(int(_time.time()))


def load_events(files, sourcetype=None, app_root=None, host=None):
    """Read files with the runner's readers; returns (events, issues)."""
    return Runner(app_root).read_files(files, sourcetype=sourcetype, host=host)


class WithIssues(list):
    """A list of results that also carries ``issues``: the :class:`ReadIssue` of every file
    or record that could not be read, so "read nothing" is never mistaken for "found nothing"."""

    def __init__(self, items=(), issues=()):
        super(WithIssues, self).__init__(items)
        self.issues = list(issues)


def _as_events(runner, events_or_files, sourcetype=None):
    """(events, read issues): event dicts are used as they are, paths are read."""
    items = list(events_or_files)
    if items and all(isinstance(i, dict) for i in items):
        events = []
        for e in items:
            ev = dict(e)
            ev.setdefault("index", "main")
            events.append(ev)
        return events, []
    return runner.read_files(items, sourcetype=sourcetype)


def run_search(spl, events_or_files, app_root=None, lookup_dir=None, sourcetype=None):
    """Run one SPL search; returns the result rows (list of dict).

    The list's ``issues`` attribute holds the files and records that could not be read.
    """
    runner = Runner(app_root, lookup_dir)
    events, issues = _as_events(runner, events_or_files, sourcetype)
    return WithIssues(runner.run(spl, events).rows, issues)


def hunt(events_or_files, app_root=None, lookup_dir=None, names=None, sourcetype=None):
    """Run every correlation search; returns a list of :class:`Notable`.

    The list's ``issues`` attribute holds the files and records that could not be read.
    Searches that cannot run raise :class:`SplError` listing each failure, so a test never
    mistakes "could not run" for "found nothing". Use :meth:`Runner.hunt` to get the
    errors separately.
    """
    runner = Runner(app_root, lookup_dir)
    events, issues = _as_events(runner, events_or_files, sourcetype)
    notables, errors = runner.hunt(events, names=names)
    if errors:
        raise SplError("; ".join("%s: %s" % item for item in sorted(errors.items())))
    return WithIssues(notables, issues)


__all__ = ["Runner", "Notable", "expand_inputs", "input_files", "SavedSearch", "SearchResult", "WithIssues", "run_search",
           "hunt", "load_events", "SplError", "APP_ROOT", "format_number", "mv"]
