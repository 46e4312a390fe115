"""Command line ``c2hunt`` (``python -m c2hunt_offline {hunt,run,list,read}``; README, "First hunt").

``hunt`` prints what :func:`c2hunt_offline.results.hunt_results` returns: a summary (data read,
data-source health, notables by host and signal), then each finding with its notables as ES
shows them (``--format table``), or one JSON object per notable (``json``), one CSV row per
notable with a column per field (``csv``), or one JSON document (``document``).

Exit codes: 0 done; 1 notables found and ``--fail-on-notables`` given; 2 usage error (bad
option, unknown search name, no input, an empty ``--baseline``); 3 some input could not be
read, or no event was read (the rest was searched and printed); 4 a search could not run
(unsupported command, macro missing, ...; the others ran and printed).
"""
import argparse
import csv
import datetime as _dt
import json
import os
import sys
from dataclasses import asdict

from . import timespec
from .engine import APP_ROOT, Runner, engine_name, expand_inputs, split_spec
from .results import SITE_ALLOWLIST_COLUMNS, health_lines, hunt_results, select_searches
from .values import SplError, to_str

EXIT_OK, EXIT_NOTABLES, EXIT_USAGE, EXIT_INPUT, EXIT_SEARCH = 0, 1, 2, 3, 4


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


def render_table(columns, rows, out, max_width=None):
    """Plain text table; cells are cut at ``max_width`` characters only when one is given."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    if max_width:
        cells = [[c if len(c) <= max_width else c[:max_width - 1] + "~" for c in row] for row in cells]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def _input_files(paths):
    """(file specs, issues of folders that could not be walked)."""
    return expand_inputs(paths)


def _read(runner, args, stream=None):
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
    if stream is not None:  # a hunt: read a chunk at a time, the searches' prefixes run as it reads
        events, issues = runner.read_stream(files, sourcetype=args.sourcetype, host=args.host, progress=progress,
                                            **stream)
    else:
        events, issues = runner.read_table(files, sourcetype=args.sourcetype, host=args.host, progress=progress)
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


def _zone(name):
    """A tzinfo for --timezone (UTC, an IANA name such as Europe/Paris, or local)."""
    if not name or name.upper() in ("UTC", "Z"):
        return _dt.timezone.utc
    if name.lower() == "local":
        return _dt.datetime.now().astimezone().tzinfo
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SplError("--timezone %r is not a time zone (use UTC, local or an IANA name such as "
                       "Europe/Paris)" % name)


def _when(epoch, zone):
    """ISO 8601 in ``zone`` (UTC ends in Z, as the JSON output always did)."""
    if epoch is None:
        return ""
    moment = _dt.datetime.fromtimestamp(float(epoch), zone)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    offset = moment.strftime("%z")
    return text + ("Z" if offset in ("+0000", "") and zone is _dt.timezone.utc else offset[:3] + ":" + offset[3:])


def _progress_bar(args, total, desc, unit):
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr)


def _read_baseline(runner, args):
    """(events, issues, error text): the --baseline files; reading nothing is an error."""
    files, walk_issues = _input_files(args.baseline)
    events, issues = runner.read_files(files, sourcetype=args.sourcetype)
    issues = walk_issues + issues
    for issue in issues:
        sys.stderr.write("c2hunt: baseline input: %s\n" % issue)
    if not events:
        return None, issues, ("--baseline read no event from %s: the baseline searches (the lookups they "
                              "write, such as the protocol usage baseline) need a period of normal traffic"
                              % ", ".join(args.baseline))
    return events, issues, None


def _install_allowlist(runner, path):
    """Copy a site allowlist CSV where the c2hunt_site_allowlist lookup reads it offline
    (error text or None)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [c.strip() for c in next(reader, [])]
            rows = [dict(zip(header, row)) for row in reader if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return "--allowlist %s: cannot read it (%s)" % (path, exc)
    missing = [c for c in SITE_ALLOWLIST_COLUMNS if c not in header]
    if missing:
        return "--allowlist %s: a CSV with the columns %s is needed (missing: %s)" % (
            path, ",".join(SITE_ALLOWLIST_COLUMNS), ", ".join(missing))
    if rows:
        runner.lookups.write("c2hunt_site_allowlist", [{c: r.get(c) or "" for c in SITE_ALLOWLIST_COLUMNS}
                                                       for r in rows])
    return None


def cmd_hunt(args):
    runner = Runner(args.app_root, args.lookup_dir)
    try:
        zone = _zone(args.timezone)
        earliest = timespec.parse_instant(args.time_from) if args.time_from else None
        latest = timespec.parse_instant(args.time_to) if args.time_to else None
        now = timespec.parse_instant(args.now) if args.now else None
    except SplError as exc:
        sys.stderr.write("c2hunt: %s\n" % exc)
        return EXIT_USAGE
    selected, problem = select_searches(runner, args.search, args.skip)
    if problem:
        sys.stderr.write("c2hunt: %s\n" % problem.replace("\n", "\nc2hunt: "))
        return EXIT_USAGE
    if not args.files:
        samples = os.path.join(runner.app_root, "samples")
        if not os.path.isdir(samples):
            sys.stderr.write("c2hunt: no files given and no bundled samples/ folder in %s\n" % runner.app_root)
            return EXIT_USAGE
        args.files = [samples]
    if args.allowlist:
        problem = _install_allowlist(runner, args.allowlist)
        if problem:
            sys.stderr.write("c2hunt: %s\n" % problem)
            return EXIT_USAGE
    # streamed unless the events are needed again (replay, report), a baseline's lookups must
    # come first, or each search has its own dispatch window
    streamable = not (args.replay or args.report or args.baseline or args.window)
    if engine_name() == "col" and not args.replay:
        from .columnar import parallel, stream
        if not (streamable and stream.enabled(args.files)):  # whole-table: workers start while it reads
            parallel.warm_for(runner, args.files)
    events, issues = _read(runner, args, stream=dict(names=selected, earliest=earliest, latest=latest)
                           if streamable else None)
    if events is None:
        return EXIT_USAGE
    baseline = None
    if args.baseline:
        baseline, more, problem = _read_baseline(runner, args)
        issues = list(issues) + list(more)
        if problem:
            sys.stderr.write("c2hunt: %s\n" % problem)
            return EXIT_USAGE
    if not events:
        message = "read no event from %s%s: nothing was searched" % (
            ", ".join(args.files), " (see the input errors above)" if _errors(issues) else "")
        sys.stderr.write("c2hunt: %s\n" % message)
        if args.format == "table":
            sys.stdout.write("c2hunt: %s\n" % message)
        return EXIT_INPUT
    skipped = [s.name for s in runner.saved_searches() if s.kind == "correlation" and s.name not in selected]
    if not selected:
        sys.stderr.write("c2hunt: every correlation search was skipped: nothing to run\n")
        return EXIT_USAGE
    if args.replay:
        if args.report:
            sys.stderr.write("c2hunt: --report shows one hunt's notables; it cannot be combined with --replay\n")
            return EXIT_USAGE
        return _replay(runner, args, events, issues, selected, earliest, latest, zone)
    bar = _progress_bar(args, len(selected), "searching", "search")

    def progress(done, total, name):
        bar.update(1)
        bar.set_postfix_str(name.replace("C2Hunt - ", "")[:40])
    results = hunt_results(runner, events, names=selected, skip=skipped, baseline_events=baseline,
                           earliest=earliest, latest=latest, now=now, dispatch=args.window, issues=issues,
                           progress=progress if bar is not None else None, timezone=str(args.timezone or "UTC"))
    if bar is not None:
        bar.close()
    for name, error in sorted(results.errors.items()):
        sys.stderr.write("c2hunt: search %r not run: %s\n" % (name, error))
    if args.report:
        from .report import write_report
        try:  # a Finding has a Notable's attributes (search, time, host, signal, risk_score, fields)
            panels = write_report(args.report, runner, events, results.findings, results.errors)
        except OSError as exc:
            sys.stderr.write("c2hunt: report: cannot write %s: %s\n" % (args.report, exc.strerror or exc))
            return EXIT_USAGE
        sys.stderr.write("c2hunt: report: %s (%d panels)\n" % (args.report, panels))
    out = sys.stdout
    if args.format == "json":
        for f in results.findings:
            out.write(json.dumps(_finding_json(f, zone)) + "\n")
    elif args.format == "document":
        doc = results.as_dict()
        for group in doc["groups"]:
            for f in group["findings"]:
                f["time"], f["last_time"] = _when(f["time"], zone), _when(f["last_time"], zone)
        out.write(json.dumps(doc, indent=1) + "\n")
    elif args.format == "csv":
        _findings_csv(results, out, zone)
    else:
        render_results(results, out, zone)
    # the summary goes with the progress bars: to a person watching stderr, not to a script
    # that asked --no-progress (its stderr carries only warnings and errors)
    if args.format != "table" and (args.progress if args.progress is not None else sys.stderr.isatty()):
        for line in summary_lines(results, zone):
            sys.stderr.write("c2hunt: %s\n" % line)
    if results.errors:
        return EXIT_SEARCH
    if _errors(issues):
        return EXIT_INPUT
    if results.findings and args.fail_on_notables:
        return EXIT_NOTABLES
    return EXIT_OK


def _finding_json(f, zone):
    """One notable as a JSON object: the keys it always had (search, time, host, signal,
    risk_score, fields) and what ES shows (title, description, ATT&CK, risk objects...)."""
    d = asdict(f)
    d["time"], d["last_time"] = _when(f.time, zone), _when(f.last_time, zone)
    d["fields"] = {k: _jsonable(v) for k, v in f.fields.items()}
    return d


_CSV_HEAD = ["group", "search", "title", "time", "last_time", "host", "signal", "risk_score", "severity",
             "mitre_attack", "risk_objects", "threat_objects", "description", "drilldown_search"]


def _findings_csv(results, out, zone):
    """One row per notable: the ES columns, then one column per field any notable returned
    (several values in one cell on separate lines, as Splunk exports them)."""
    from .engine import KEY_FIELDS
    names = []
    for f in results.findings:
        names.extend(k for k in f.fields if k not in names and k != "_time")
    names = [k for k in KEY_FIELDS if k in names] + [k for k in names if k not in KEY_FIELDS]
    names = [k for k in names if k not in _CSV_HEAD]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_HEAD + names)

    def cell(value):
        if value is None:
            return ""
        return "\n".join(to_str(v) for v in value) if isinstance(value, list) else to_str(value)
    for f in results.findings:
        head = [f.group, f.search, f.title, _when(f.time, zone), _when(f.last_time, zone), f.host, f.signal,
                to_str(f.risk_score), f.severity, "\n".join(f.mitre_attack),
                "\n".join("%s (%s) %s" % (r["object"], r["type"], to_str(r["score"])) for r in f.risk_objects),
                "\n".join("%s (%s)" % (t["object"], t["type"]) for t in f.threat_objects),
                f.description, f.drilldowns[0]["search"] if f.drilldowns else ""]
        writer.writerow(head + [cell(f.fields.get(k)) for k in names])


def _span(results, zone):
    if results.first_event is None:
        return "no timestamps"
    return "%s .. %s" % (_when(results.first_event, zone), _when(results.last_event, zone))


def summary_lines(results, zone):
    """The summary, as lines: data read, searches, data-source health, notables."""
    lines = ["read %d events (%s), %s" % (
        results.events_read, ", ".join("%s %d" % kv for kv in results.events_by_sourcetype.items()) or "none",
        _span(results, zone))]
    lines.append("ran %s%s" % (_plural(len(results.searches_run), "correlation search", "correlation searches"),
                               (", %d could not run" % len(results.errors)) if results.errors else ""))
    lines.extend(health_lines(results))
    if results.findings:
        lines.append("%s in %s" % (_plural(len(results.findings), "notable"), _plural(len(results.groups), "finding")))
        lines.append("by host: " + _top(results.notables_by_host()))
        lines.append("by signal: " + _top(results.notables_by_signal()))
    else:
        lines.append("no notables")
    return lines


def _plural(n, one, many=None):
    return "%d %s" % (n, one if n == 1 else (many or one + "s"))


def _top(counts, n=10):
    items = list(counts.items())
    text = ", ".join("%s %d" % kv for kv in items[:n])
    return text + (" and %d more" % (len(items) - n) if len(items) > n else "")


def _value(value):
    if isinstance(value, list):
        return ", ".join(to_str(v) for v in value)
    return to_str(value)


def render_results(results, out, zone):
    """The table format: the summary, then each finding with its notables in full."""
    out.write("== c2hunt summary\n")
    for line in summary_lines(results, zone):
        out.write("  %s\n" % line)
    for g in results.groups:
        remote = (" -> " + ", ".join(g.remotes)) if g.remotes else ""
        out.write("\n== finding %d: %s%s, risk %s, %s .. %s (%d notable%s)\n" % (
            g.id, ", ".join(g.hosts) or "-", remote, to_str(g.risk_score), _when(g.first_time, zone),
            _when(g.last_time, zone), len(g.findings), "s" if len(g.findings) != 1 else ""))
        for f in g.findings:
            kind = "" if f.es_action == "notable" else "  (in ES: %s events only)" % f.es_action
            out.write("  [%s] %s%s\n" % (to_str(f.risk_score), f.title, kind))
            rows = [("search", f.search), ("time", "%s .. %s" % (_when(f.time, zone), _when(f.last_time, zone))),
                    ("signal", f.signal), ("ATT&CK", ", ".join(f.mitre_attack + f.analytics)),
                    ("risk", "; ".join("%s %s (%s) +%s" % (r["field"], r["object"], r["type"], to_str(r["score"]))
                                       for r in f.risk_objects)),
                    ("threat objects", ", ".join("%s (%s)" % (t["object"], t["type"]) for t in f.threat_objects)),
                    ("description", f.description)]
            rows += [(label, _value(v)) for label, v in f.evidence.items()]
            rows += [("drilldown", "%s: %s" % (d["name"], d["search"])) for d in f.drilldowns[:1]]
            rows.append(("allowlist entry", ",".join('"%s"' % f.allowlist_entry[c].replace('"', '""')
                                                     for c in SITE_ALLOWLIST_COLUMNS[:4]) + ',"<why>"'))
            width = max(len(label) for label, _ in rows)
            for label, text in rows:
                if text:
                    out.write("    %s  %s\n" % (label.ljust(width), text))


def _replay(runner, args, events, issues, names, earliest, latest, zone):
    """``hunt --replay``: the notables and risk events ES would create, firing by firing."""
    from .replay import replay

    def _iso(epoch):
        return _when(epoch, zone)
    result = replay(runner, events, names=names, start=earliest, end=latest)
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
            render_table(columns, rows, out)
        else:
            out.write("no notables or risk events (%d events)\n" % len(events))
    if result.errors:
        return EXIT_SEARCH
    if issues:
        return EXIT_INPUT
    if result.notables and args.fail_on_notables:
        return EXIT_NOTABLES
    return EXIT_OK


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


EXAMPLES = """examples:
  c2hunt hunt                                   the bundled samples/
  c2hunt hunt logs/ zeek/conn.log               folders and files, any mix of formats
  c2hunt hunt capture.pcap --format json        one JSON object per notable
  c2hunt hunt logs/ --search Beaconing --from 2024-05-14T08:00 --timezone Europe/Paris
  c2hunt hunt today/ --baseline lastweek/ --baseline lastweek-dns/
  c2hunt hunt export.csv:XmlWinEventLog:Microsoft-Windows-Sysmon/Operational
  c2hunt run '`c2hunt_sysmon_network` | stats count by Image' sysmon.evtx
  c2hunt list

(c2hunt is offline/c2hunt in the repository, or PYTHONPATH=offline python -m c2hunt_offline)

exit codes:
  0  done (notables or none)
  1  notables found and --fail-on-notables given
  2  usage error: bad option, unknown search name, no input, an empty --baseline
  3  some input could not be read, or no event was read (the rest was searched and printed)
  4  a search could not run (the others ran and printed)
"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="c2hunt", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Run c2hunt's saved searches (the app's own SPL, macros, lookups and commands)\n"
                    "over exported logs and packet captures, without Splunk.")
    parser.add_argument("--app-root", default=APP_ROOT, help="app folder (default: this repository)")
    parser.add_argument("--lookup-dir", default=None,
                        help="where outputlookup writes and lookups are read first (default: a temporary folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def inputs(p):
        p.add_argument("--sourcetype", help="sourcetype for CSV/JSON lines files (or give a file as PATH:SOURCETYPE)")
        p.add_argument("--host", help="host for events that carry none (default: the file name)")
        p.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="progress bars on stderr for reading and searching, and with hunt --format "
                            "json/csv/document the summary (default: when stderr is a terminal)")
        p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")

    def formats(p, extra=()):
        p.add_argument("--format", choices=("table", "json", "csv") + tuple(extra), default="table",
                       help="table (for people), json (one object per line), csv (one column per field)"
                            + (", document (one JSON document: summary and findings)" if extra else ""))

    hunt = sub.add_parser("hunt", help="run every correlation search over the files",
                          formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
                          description="Run the correlation searches over log files and captures; print a\n"
                                      "summary (data read, data-source health, notables by host and signal)\n"
                                      "and each finding with what ES would show.")
    hunt.add_argument("files", nargs="*", help="log files or folders (default: the app's samples/)")
    formats(hunt, ("document",))
    hunt.add_argument("--search", action="append", metavar="NAME",
                      help="run only this correlation search: a full name or part of names (repeatable)")
    hunt.add_argument("--skip", action="append", metavar="NAME",
                      help="do not run this search: a full name or part of names (repeatable)")
    hunt.add_argument("--baseline", action="append", metavar="FILE",
                      help="a file or folder of normal traffic for the baseline searches (outputlookup), "
                           "run before the correlation searches (repeatable, one path each)")
    hunt.add_argument("--report", metavar="FILE",
                      help="also write a self-contained HTML report (the app's dashboards over the results)")
    hunt.add_argument("--fail-on-notables", action="store_true", help="exit 1 when any notable is found")
    hunt.add_argument("--from", dest="time_from", metavar="TIME",
                      help="search only events at or after TIME (epoch or ISO 8601, UTC unless it names a zone)")
    hunt.add_argument("--to", dest="time_to", metavar="TIME", help="search only events before TIME")
    hunt.add_argument("--now", metavar="TIME",
                      help="when the searches run, for relative times (default: just after the newest event)")
    hunt.add_argument("--window", action="store_true",
                      help="limit each search to its own dispatch window (dispatch.earliest_time/latest_time) "
                           "at --now: one scheduled run of each")
    hunt.add_argument("--replay", action="store_true",
                      help="replay the scheduler over the data's time span (cron_schedule, dispatch window, "
                           "alert.suppress throttling) and print the notables and risk events ES would create")
    hunt.add_argument("--allowlist", metavar="CSV",
                      help="site allowlist (columns host,dest,process,signal,reason; lower case, * wildcards): "
                           "the rows the c2hunt_site_allowlist KV store collection holds in Splunk")
    hunt.add_argument("--timezone", metavar="ZONE", default="UTC",
                      help="show times in ZONE: UTC (default), local, or an IANA name such as Europe/Paris")
    inputs(hunt)
    hunt.set_defaults(fn=cmd_hunt)

    run = sub.add_parser("run", help="run one search", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("spl", help="the search, e.g. '`c2hunt_sysmon_network` | stats count by Image'")
    run.add_argument("files", nargs="*", help="log files or folders")
    formats(run)
    inputs(run)
    run.set_defaults(fn=cmd_run)

    lst = sub.add_parser("list", help="saved searches (full names) and whether they run offline")
    formats(lst)
    lst.set_defaults(fn=cmd_list)

    read = sub.add_parser("read", help="print the normalised events of files (JSON lines)")
    read.add_argument("files", nargs="+", help="log files or folders")
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
