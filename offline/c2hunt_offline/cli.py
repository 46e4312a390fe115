"""Command line: ``python -m c2hunt_offline {hunt,run,list,read}`` (see README, Offline runner).

Exit codes: 0 done; 1 notables found and ``--fail-on-notables`` given; 2 usage error or no
input; 3 some input could not be read (the rest was searched and printed); 4 a search
could not run (unsupported command, macro missing, ...; the others ran and printed).
"""
import argparse
import csv
import datetime as _dt
import json
import os
import sys

from . import timespec
from .engine import APP_ROOT, Runner, expand_inputs, split_spec
from .values import SplError, to_str

EXIT_OK, EXIT_NOTABLES, EXIT_USAGE, EXIT_INPUT, EXIT_SEARCH = 0, 1, 2, 3, 4


def _iso(epoch):
    if epoch is None:
        return ""
    return _dt.datetime.fromtimestamp(float(epoch), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(to_str(v) for v in value)
    return to_str(value)


def _jsonable(value):
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render_table(columns, rows, out, max_width=60):
    """Plain text table, cells cut at ``max_width`` characters."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    cells = [[c if len(c) <= max_width else c[:max_width - 1] + "~" for c in row] for row in cells]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def _input_files(paths):
    """(file specs, issues of folders that could not be walked)."""
    return expand_inputs(paths)


def _read(runner, args):
    files, walk_issues = _input_files(args.files)
    if not files and not walk_issues:
        sys.stderr.write("c2hunt: no input files\n")
        return None, None
    progress = None
    bar = None
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    if show:
        from tqdm import tqdm
        paths = [split_spec(f)[0] for f in files]
        sizes = {p: (os.path.getsize(p) if os.path.isfile(p) else 0) for p in paths}
        bar = tqdm(total=sum(sizes.values()), unit="B", unit_scale=True, desc="reading", file=sys.stderr)

        def progress(path, n_events):
            bar.update(sizes.get(path, 0))
            bar.set_postfix_str(os.path.basename(path))
    events, issues = runner.read_files(files, sourcetype=args.sourcetype, host=args.host, progress=progress)
    if bar is not None:
        bar.close()
    issues = walk_issues + issues
    for issue in issues:
        sys.stderr.write("c2hunt: input: %s\n" % issue)
    return events, issues


def _errors(issues):
    """The issues that are errors (a warning says how a file was read, not that it was not)."""
    return [issue for issue in issues or () if getattr(issue, "is_error", True)]


def _emit_rows(columns, rows, fmt, out):
    if fmt == "json":
        for row in rows:
            out.write(json.dumps({c: _jsonable(row[c]) for c in columns if c in row}, sort_keys=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    else:
        render_table(columns, rows, out)


def cmd_hunt(args):
    runner = Runner(args.app_root, args.lookup_dir)
    if not args.files:
        samples = os.path.join(runner.app_root, "samples")
        if not os.path.isdir(samples):
            sys.stderr.write("c2hunt: no files given and no bundled samples/ folder in %s\n" % runner.app_root)
            return EXIT_USAGE
        args.files = [samples]
    events, issues = _read(runner, args)
    if events is None:
        return EXIT_USAGE
    baseline = None
    if args.baseline:
        baseline_files, walk_issues = _input_files(args.baseline)
        baseline, more = runner.read_files(baseline_files, sourcetype=args.sourcetype)
        more = walk_issues + more
        for issue in more:
            sys.stderr.write("c2hunt: baseline input: %s\n" % issue)
        issues = list(issues) + list(more)
    names = args.search or None
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        earliest = timespec.parse_instant(args.time_from) if args.time_from else None
        latest = timespec.parse_instant(args.time_to) if args.time_to else None
        now = timespec.parse_instant(args.now) if args.now else None
    except SplError as exc:
        sys.stderr.write("c2hunt: %s\n" % exc)
        return EXIT_USAGE
    if args.replay:
        if args.report:
            sys.stderr.write("c2hunt: --report shows one hunt's notables; it cannot be combined with --replay\n")
            return EXIT_USAGE
        return _replay(runner, args, events, issues, names, earliest, latest)
    notables, errors = runner.hunt(events, names=names, baseline_events=baseline, skip=args.skip or (),
                                   earliest=earliest, latest=latest, now=now, dispatch=args.window)
    if show:
        sys.stderr.write("c2hunt: %d events, %d notables\n" % (len(events), len(notables)))
    for name, error in sorted(errors.items()):
        sys.stderr.write("c2hunt: search %r not run: %s\n" % (name, error))
    notables.sort(key=lambda n: (-(n.risk_score or 0), -(n.time or 0), n.search))
    if args.report:
        from .report import write_report
        try:
            panels = write_report(args.report, runner, events, notables, errors)
        except OSError as exc:
            sys.stderr.write("c2hunt: report: cannot write %s: %s\n" % (args.report, exc.strerror or exc))
            return EXIT_USAGE
        sys.stderr.write("c2hunt: report: %s (%d panels)\n" % (args.report, panels))
    out = sys.stdout
    if args.format == "json":
        for n in notables:
            d = n.as_dict()
            d["time"] = _iso(n.time)
            d["fields"] = {k: _jsonable(v) for k, v in n.fields.items()}
            out.write(json.dumps(d) + "\n")
    else:
        rows = []
        for n in notables:
            key = [(k, n.fields[k]) for k in _key_fields(n.fields)]
            rows.append({"search": n.search, "time": _iso(n.time), "host": n.host or "",
                         "signal": n.signal, "risk_score": n.risk_score,
                         "key_fields": " ".join("%s=%s" % (k, _cell(v)) for k, v in key)})
        columns = ["search", "time", "host", "signal", "risk_score", "key_fields"]
        if args.format == "csv":
            _emit_rows(columns, rows, "csv", out)
        elif rows:
            render_table(columns, rows, out, max_width=100)
        else:
            out.write("no notables (%d events, %d searches)\n"
                      % (len(events), len([s for s in runner.saved_searches() if s.kind == "correlation"])))
    if errors:
        return EXIT_SEARCH
    if _errors(issues):
        return EXIT_INPUT
    if notables and args.fail_on_notables:
        return EXIT_NOTABLES
    return EXIT_OK


def _replay(runner, args, events, issues, names, earliest, latest):
    """``hunt --replay``: the notables and risk events ES would create, firing by firing."""
    from .replay import replay
    result = replay(runner, events, names=names, start=earliest, end=latest, skip=args.skip or ())
    for name, error in sorted(result.errors.items()):
        sys.stderr.write("c2hunt: search %r not run: %s\n" % (name, error))
    suppressed = sum(f.suppressed for f in result.firings)
    sys.stderr.write("c2hunt: replay: %d firings with data, %d notables, %d risk events, %d results "
                     "suppressed by throttling\n" % (len(result.firings), len(result.notables),
                                                     len(result.risk_events), suppressed))
    out = sys.stdout
    if args.format == "json":
        for n in result.notables:
            d = n.as_dict()
            d["type"] = "notable"
            d["fire_time"] = _iso(n.fields.pop("_fire_time", None))
            d["time"] = _iso(n.time)
            d["fields"] = {k: _jsonable(v) for k, v in n.fields.items()}
            out.write(json.dumps(d) + "\n")
        for r in result.risk_events:
            d = r.as_dict()
            d["type"] = "risk"
            d["time"] = _iso(r.time)
            out.write(json.dumps(d) + "\n")
    else:
        rows = [{"type": "notable", "fire_time": _iso(n.fields.get("_fire_time")), "search": n.search,
                 "object": n.host or "", "signal": n.signal, "risk_score": n.risk_score}
                for n in result.notables]
        rows += [{"type": "risk", "fire_time": _iso(r.time), "search": r.search,
                  "object": "%s (%s)" % (r.risk_object, r.risk_object_type), "signal": "",
                  "risk_score": r.risk_score} for r in result.risk_events]
        columns = ["type", "fire_time", "search", "object", "signal", "risk_score"]
        if args.format == "csv":
            _emit_rows(columns, rows, "csv", out)
        elif rows:
            render_table(columns, rows, out, max_width=100)
        else:
            out.write("no notables or risk events (%d events)\n" % len(events))
    if result.errors:
        return EXIT_SEARCH
    if issues:
        return EXIT_INPUT
    if result.notables and args.fail_on_notables:
        return EXIT_NOTABLES
    return EXIT_OK


_SKIP_KEYS = {"_time", "host", "detection_signal", "signal", "risk_score"}


def _key_fields(fields):
    from .engine import KEY_FIELDS
    first = [k for k in KEY_FIELDS if k in fields]
    rest = [k for k in fields if k not in first and k not in _SKIP_KEYS]
    return (first + rest)[:8]


def cmd_run(args):
    runner = Runner(args.app_root, args.lookup_dir)
    events, issues = ([], []) if not args.files else _read(runner, args)
    if events is None:
        return EXIT_USAGE
    try:
        result = runner.run(args.spl, events)
    except SplError as exc:
        sys.stderr.write("c2hunt: search error: %s\n" % exc)
        return EXIT_SEARCH
    for message in result.messages:
        sys.stderr.write("c2hunt: %s\n" % message)
    columns = result.fields()
    if args.format == "table" and "_raw" in columns and len(columns) > 8:
        columns = [c for c in columns if c != "_raw"]
    _emit_rows(columns, result.rows, args.format, sys.stdout)
    return EXIT_INPUT if _errors(issues) else EXIT_OK


def cmd_list(args):
    runner = Runner(args.app_root, args.lookup_dir)
    rows = []
    status = EXIT_OK
    for saved in runner.saved_searches():
        try:
            runner.run(saved.search, [])
            state = "runs offline"
        except SplError as exc:
            state = "cannot run: %s" % exc
            if saved.kind == "correlation":
                status = EXIT_SEARCH
        rows.append({"name": saved.name, "kind": saved.kind, "offline": state})
    _emit_rows(["name", "kind", "offline"], rows, args.format, sys.stdout)
    return status


def cmd_read(args):
    runner = Runner(args.app_root, args.lookup_dir)
    events, issues = _read(runner, args)
    if events is None:
        return EXIT_USAGE
    for ev in events:
        sys.stdout.write(json.dumps({k: _jsonable(v) for k, v in ev.items() if k != "_raw" or args.raw}) + "\n")
    return EXIT_INPUT if _errors(issues) else EXIT_OK


def build_parser():
    parser = argparse.ArgumentParser(prog="c2hunt_offline",
                                     description="Run c2hunt's saved searches over log files without Splunk.")
    parser.add_argument("--app-root", default=APP_ROOT, help="app folder (default: this repository)")
    parser.add_argument("--lookup-dir", default=None,
                        help="where outputlookup writes and lookups are read first (default: a temporary folder)")
    sub = parser.add_subparsers(dest="command")

    def inputs(p):
        p.add_argument("--sourcetype", help="sourcetype for CSV/JSON lines files (or PATH:SOURCETYPE)")
        p.add_argument("--host", help="host for events that carry none (default: file name)")
        p.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="progress bar on stderr (default: when stderr is a terminal)")
        p.add_argument("--no-progress", dest="progress", action="store_false")

    hunt = sub.add_parser("hunt", help="run every correlation search over the files")
    hunt.add_argument("files", nargs="*", help="log files or folders (default: the app's samples/)")
    hunt.add_argument("--format", choices=("table", "json", "csv"), default="table")
    hunt.add_argument("--search", action="append", help="run only this saved search (repeatable)")
    hunt.add_argument("--skip", action="append", help="do not run this saved search (repeatable)")
    hunt.add_argument("--baseline", nargs="+", help="files for the baseline searches (outputlookup) run first")
    hunt.add_argument("--report", metavar="FILE",
                      help="also write a self-contained HTML report (the app's dashboards over the results)")
    hunt.add_argument("--fail-on-notables", action="store_true", help="exit 1 when any notable is found")
    hunt.add_argument("--from", dest="time_from", metavar="TIME",
                      help="search only events at or after TIME (epoch or ISO 8601, UTC by default)")
    hunt.add_argument("--to", dest="time_to", metavar="TIME", help="search only events before TIME")
    hunt.add_argument("--now", metavar="TIME",
                      help="when the searches run, for relative times (default: just after the newest event)")
    hunt.add_argument("--window", action="store_true",
                      help="limit each search to its own dispatch window (dispatch.earliest_time/latest_time) "
                           "at --now: one scheduled run of each")
    hunt.add_argument("--replay", action="store_true",
                      help="replay the scheduler over the data's time span (cron_schedule, dispatch window, "
                           "alert.suppress throttling) and print the notables and risk events ES would create")
    inputs(hunt)
    hunt.set_defaults(fn=cmd_hunt)

    run = sub.add_parser("run", help="run one search")
    run.add_argument("spl", help="the search, e.g. '`c2hunt_sysmon_network` | stats count by Image'")
    run.add_argument("files", nargs="*")
    run.add_argument("--format", choices=("table", "json", "csv"), default="table")
    inputs(run)
    run.set_defaults(fn=cmd_run)

    lst = sub.add_parser("list", help="saved searches and whether they run offline")
    lst.add_argument("--format", choices=("table", "json", "csv"), default="table")
    lst.set_defaults(fn=cmd_list)

    read = sub.add_parser("read", help="print the normalised events of files (JSON lines)")
    read.add_argument("files", nargs="+")
    read.add_argument("--raw", action="store_true", help="include _raw")
    inputs(read)
    read.set_defaults(fn=cmd_read)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.fn(args)
    except BrokenPipeError:
        return EXIT_OK
