"""Hunt results as an analyst reads them: enriched notables, findings, a data summary.

The CLI (``hunt``) prints these; the HTML report renders the same structure. Entry point::

    from c2hunt_offline.results import hunt_results
    runner = Runner()
    events, issues = runner.read_files(["logs/"])
    results = hunt_results(runner, events, issues=issues)
    results.findings        # list[Finding]: what ES would show for each notable
    results.groups          # list[FindingGroup]: notables of the same activity together
    results.summary()       # dict: notables by host and signal, data read, data-source health
    results.as_dict()       # everything above as JSON-ready dicts (stable types)

- :class:`Finding`: one notable: the rule title and description with their ``$tokens$``
  filled from the row (as ES fills them), ATT&CK ids, risk objects and scores, threat
  objects, the drilldown searches, the key evidence (process, command line, parent, user,
  bytes, beacon period and sub-scores, DNS samples...) and every field of the row. Values
  are never cut; numbers are numbers and a field that can hold several values is always a
  list (:func:`stable_fields`).
- :class:`FindingGroup`: the same activity seen by several searches or sources (a Sysmon
  and a WFP twin, an endpoint notable and a network notable). Grouping key: two notables
  belong together when they share an endpoint (``host``, ``src`` or ``SourceIp``), share
  the remote end (``dest``, ``DestinationIp``, ``dest_ip``, ``group_dest``...) or, when
  either names no remote end, the program (file name of ``Image``/``process_path``...),
  and their time spans (``_time`` .. ``lastTime``) lie within :data:`GROUP_TOLERANCE`
  seconds of each other. Groups are the connected sets of that relation.
- :class:`DataSource`: one data-source macro (``c2hunt_sysmon_network``...), how many input
  events it matches and which searches read it: a search whose every source matched nothing
  "had no data to work on", which is not the same as "found nothing".
"""
import difflib
import json
import re
from dataclasses import asdict, dataclass, field

from .values import SplError, mv, to_number
from .values import to_str as _to_str


def to_str(value):
    """Text of a value; None is empty."""
    text = _to_str(value)
    return "" if text is None else text

# Sysmon and WFP log the same connection within a second; a sensor on the wire and the
# endpoint agree within their clock skew; an aggregated notable spans _time..lastTime. Five
# minutes covers skew and batching without merging the next day's activity.
GROUP_TOLERANCE = 300

# What an analyst looks at first, in this order: (label, the fields that carry it).
EVIDENCE = (
    ("process", ("Image", "process_path", "exe", "process_name", "Application_Name", "Application")),
    ("command line", ("CommandLine", "command_line", "cmdline", "proctitle", "shell_command")),
    ("parent", ("ParentImage", "parent_process")),
    ("parent command line", ("ParentCommandLine",)),
    ("user", ("User", "user", "account", "auid", "user_id")),
    ("source", ("src", "SourceIp")),
    ("destination", ("dest", "DestinationIp", "group_dest")),
    ("destination ip", ("dest_ip",)),
    ("destination port", ("dest_port",)),
    ("protocol", ("protocol", "app_protocol", "transport", "channel")),
    ("bytes out", ("bytes_out",)),
    ("bytes in", ("bytes_in",)),
    ("total bytes", ("total_bytes",)),
    ("outbound share", ("outbound_share",)),
    ("beacon period (s)", ("beacon_period",)),
    ("beacon score", ("beacon_score",)),
    ("beacon interval score", ("beacon_interval_score",)),
    ("beacon size score", ("beacon_size_score",)),
    ("beacon duration score", ("beacon_duration_score",)),
    ("beacon coverage", ("beacon_coverage",)),
    ("beacon jitter", ("beacon_jitter",)),
    ("check-ins", ("beacon_count",)),
    ("DNS domain", ("threat_domain", "candidate")),
    ("DNS query", ("query",)),
    ("unique subdomains", ("unique_subdomains",)),
    ("subdomain entropy (median)", ("subdomain_entropy_median",)),
    ("TLS server name", ("server_name",)),
    ("TLS certificate", ("subject",)),
    ("TLS issuer", ("issuer",)),
    ("JA3", ("ja3",)),
    ("sockets", ("sockets", "raw_socket")),
    ("signals", ("signals",)),
    ("events", ("count",)),
)
DNS_SAMPLES = 5

_ENDPOINT_FIELDS = ("host", "src", "SourceIp")
_REMOTE_FIELDS = ("dest", "DestinationIp", "dest_ip", "group_dest", "threat_domain", "server_name")
_PROGRAM_FIELDS = ("Image", "process_path", "exe", "process_name")
# Names of fields that hold numbers (a reader leaves "443" a string; the output must not).
_NUMERIC_NAME = re.compile(r"(^|_)(port|count|score|bytes|seconds|share|period|coverage|jitter|pid|ppid|"
                           r"prevalence|sources|checkins|entropy_median|queries|subdomains|size|"
                           r"risk_score|time|lastTime|firstTime)$|^(pcr|ProcessId|SourcePort|EventCode|"
                           r"lastTime|firstTime|beacon_\w+)$")
_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
_MULTIVALUE_SPL = re.compile(r"\b(?:values|list)\(\s*([^)\s]+)\s*\)(?:\s+AS\s+(\w+))?|"
                             r"\b(\w+)\s*=\s*(?:mvappend|split|mvdedup|mvsort)\(", re.I)
_TOKEN = re.compile(r"\$([^$\s]+)\$")


@dataclass
class Finding:
    """One notable, as ES shows it (see the module docstring)."""
    search: str
    title: str
    description: str
    time: float
    last_time: float
    host: str
    signal: str
    risk_score: float
    severity: str = ""
    security_domain: str = ""
    es_action: str = "notable"
    mitre_attack: list = field(default_factory=list)
    analytics: list = field(default_factory=list)
    signals: list = field(default_factory=list)
    risk_objects: list = field(default_factory=list)
    threat_objects: list = field(default_factory=list)
    drilldowns: list = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    allowlist_entry: dict = field(default_factory=dict)
    group: int = 0


@dataclass
class FindingGroup:
    """Notables of one activity (see the module docstring for the grouping key)."""
    id: int
    hosts: list
    remotes: list
    first_time: float
    last_time: float
    risk_score: float
    findings: list

    @property
    def searches(self):
        return sorted({f.search for f in self.findings})


@dataclass
class DataSource:
    macro: str
    label: str
    events: int
    searches: list


@dataclass
class HuntResults:
    findings: list
    groups: list
    events_read: int
    events_by_sourcetype: dict
    first_event: float
    last_event: float
    searches_run: list
    data_sources: list
    errors: dict
    issues: list
    timezone: str = "UTC"

    def searches_without_data(self):
        """Searches run whose every data source matched no input event."""
        return [name for name in self.searches_run if name not in self.errors
                and self._sources_of(name) and all(ds.events == 0 for ds in self._sources_of(name))]

    def _sources_of(self, name):
        return [ds for ds in self.data_sources if name in ds.searches]

    def missing_sources(self):
        """Data sources some run search reads that matched nothing in the input."""
        return [ds for ds in self.data_sources if ds.events == 0 and ds.searches]

    def notables_by_host(self):
        return _count(f.host or "-" for f in self.findings)

    def notables_by_signal(self):
        return _count(f.signal or "-" for f in self.findings)

    def summary(self):
        return {"events_read": self.events_read, "events_by_sourcetype": dict(self.events_by_sourcetype),
                "first_event": self.first_event, "last_event": self.last_event,
                "notables": len(self.findings), "findings": len(self.groups),
                "notables_by_host": self.notables_by_host(), "notables_by_signal": self.notables_by_signal(),
                "searches_run": list(self.searches_run), "searches_without_data": self.searches_without_data(),
                "search_errors": dict(self.errors), "input_issues": [str(i) for i in self.issues],
                "data_sources": [asdict(ds) for ds in self.data_sources]}

    def as_dict(self):
        return {"summary": self.summary(),
                "groups": [{"id": g.id, "hosts": g.hosts, "remotes": g.remotes, "first_time": g.first_time,
                            "last_time": g.last_time, "risk_score": g.risk_score, "searches": g.searches,
                            "findings": [asdict(f) for f in g.findings]} for g in self.groups]}


def _count(items, weights=None):
    """How many of each item (``weights``: how many each item stands for), most first."""
    out = {}
    for item, weight in zip(items, weights or iter(lambda: 1, None)):
        out[item] = out.get(item, 0) + weight
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


# ----------------------------------------------------------------------------- search selection
def select_searches(runner, wanted=(), skip=()):
    """(names of the correlation searches to run, error text or None).

    A ``wanted``/``skip`` entry is a full name (any case) or, when no name equals it, a part
    of names; an entry that matches nothing is an error naming the closest names.
    """
    names = [s.name for s in runner.saved_searches() if s.kind == "correlation"]
    every = [s.name for s in runner.saved_searches()]

    def resolve(entry):
        low = entry.lower()
        exact = [n for n in every if n.lower() == low]
        return exact or [n for n in every if low in n.lower()]

    problems, chosen, skipped = [], [], set()
    for entry in wanted or ():
        hits = resolve(entry)
        if not hits:
            problems.append(_no_match("--search", entry, every))
        chosen.extend(h for h in hits if h not in chosen)
    for entry in skip or ():
        hits = resolve(entry)
        if not hits:
            problems.append(_no_match("--skip", entry, every))
        skipped.update(hits)
    if problems:
        return [], "\n".join(problems)
    selected = [n for n in names if (not wanted or n in chosen) and n not in skipped]
    return selected, None


def _no_match(option, entry, names):
    close = difflib.get_close_matches(entry, names, n=3, cutoff=0.4)
    if not close:  # words in common count too ("beacon" -> "Periodic Beaconing")
        words = set(re.findall(r"[a-z0-9]{3,}", entry.lower()))
        close = [n for n in names if words & set(re.findall(r"[a-z0-9]{3,}", n.lower()))][:3]
    hint = ("; closest: " + "; ".join(repr(c) for c in close)) if close else ""
    return "%s %r matches no saved search%s (c2hunt list shows them all)" % (option, entry, hint)


# ----------------------------------------------------------------------------- running
def hunt_results(runner, events, names=None, skip=(), baseline_events=None, earliest=None, latest=None,
                 now=None, dispatch=False, issues=(), progress=None, timezone="UTC"):
    """Run the correlation searches and return :class:`HuntResults`.

    ``names``/``skip`` are full search names (use :func:`select_searches` to resolve what a
    user typed). ``progress(done, total, name)`` is called after each search.
    """
    selected, _ = select_searches(runner, None, ())
    selected = [n for n in selected if n not in set(skip or ())]
    if names:
        selected = [n for n in selected if n in set(names)]
    findings, errors = [], {}
    saved = {s.name: s for s in runner.saved_searches()}
    window = _window(events, earliest, latest, now)
    done = []

    def ended(search):
        done.append(search.name)
        if progress is not None:
            progress(len(done), len(selected), search.name)
    # one hunt of every search (so they can run across workers), notables in the searches' order
    notables, errs = [], {}
    if selected:
        notables, errs = runner.hunt(events, names=selected, baseline_events=baseline_events, skip=skip,
                                     earliest=earliest, latest=latest, now=now, dispatch=dispatch,
                                     progress=ended)
    errors.update(errs)
    findings.extend(_finding(saved[n.search], n, window) for n in notables)
    _stabilise(findings, saved)
    _add_dns_samples(findings, events)
    groups = group_findings(findings)
    first_event, last_event = _time_range(events)
    kinds = _distinct(events, ["sourcetype"])
    by_st = _count([to_str(e.get("sourcetype")) or "-" for e, _n in kinds], [n for _e, n in kinds])
    return HuntResults(findings=[f for g in groups for f in g.findings], groups=groups, events_read=len(events),
                       events_by_sourcetype=by_st, first_event=first_event,
                       last_event=last_event, searches_run=selected,
                       data_sources=data_sources(runner, events, selected), errors=errors,
                       issues=list(issues), timezone=timezone)


def _time_range(events):
    """(earliest, latest) of the events' non-zero numeric times; (None, None) without any."""
    if hasattr(events, "times"):  # an EventTable: read from its columns, not as a list
        times = events.times().drop_nulls()
        times = times.filter(times != 0)
        return (times.min(), times.max()) if len(times) else (None, None)
    times = [t for t in (to_number(e.get("_time")) for e in events) if t]
    return (min(times), max(times)) if times else (None, None)


def _distinct(events, fields):
    """(a representative event, how many share its values of ``fields``) for the events."""
    if hasattr(events, "distinct"):  # an EventTable: grouped on its columns
        try:
            return events.distinct(fields)
        except Exception:  # noqa: BLE001  (a column the table cannot group: every event)
            pass
    return [(e, 1) for e in events]


def _window(events, earliest, latest, now):
    first, last = _time_range(events)
    lo = earliest if earliest is not None else first
    hi = latest if latest is not None else (now if now is not None else (int(last) + 1 if last is not None else None))
    return lo, hi


# ----------------------------------------------------------------------------- one notable
def fill_tokens(text, fields, extra=None):
    """``$name$`` replaced by the field's value (several values joined by ", "), as ES fills
    notable titles; a token the row does not carry is left as it is."""
    def value(m):
        name = m.group(1)
        if extra and name in extra:
            return to_str(extra[name])
        if name not in fields or fields[name] is None:
            return m.group(0)
        values = [to_str(v) for v in mv(fields[name])]
        return ", ".join(values)
    return _TOKEN.sub(value, text or "")


def _json_param(stanza, key, default):
    try:
        value = json.loads(stanza.get(key, "") or "null")
    except ValueError:
        return default
    return value if value is not None else default


def _finding(saved, notable, window):
    stanza, row = saved.stanza, notable.fields
    info = {"info_min_time": _fmt_number(window[0]), "info_max_time": _fmt_number(window[1])}
    annotations = _json_param(stanza, "action.correlationsearch.annotations", {})
    risk_objects, threat_objects = [], []
    for entry in _json_param(stanza, "action.risk.param._risk", []):
        if not isinstance(entry, dict):
            continue
        if entry.get("risk_object_field"):
            for v in mv(row.get(entry["risk_object_field"])):
                if to_str(v):
                    risk_objects.append({"object": to_str(v), "type": entry.get("risk_object_type", "system"),
                                         "field": entry["risk_object_field"], "score": notable.risk_score})
        if entry.get("threat_object_field"):
            for v in mv(row.get(entry["threat_object_field"])):
                if to_str(v):
                    threat_objects.append({"object": to_str(v), "type": entry.get("threat_object_type", ""),
                                           "field": entry["threat_object_field"]})
    drilldowns = []
    for d in _json_param(stanza, "action.notable.param.drilldown_searches", []):
        if isinstance(d, dict):
            drilldowns.append({"name": fill_tokens(d.get("name"), row, info),
                               "search": fill_tokens(d.get("search"), row, info),
                               "earliest": fill_tokens(d.get("earliest_offset", ""), row, info),
                               "latest": fill_tokens(d.get("latest_offset", ""), row, info)})
    if not drilldowns and stanza.get("action.notable.param.drilldown_search"):
        drilldowns.append({"name": fill_tokens(stanza.get("action.notable.param.drilldown_name", ""), row, info),
                           "search": fill_tokens(stanza["action.notable.param.drilldown_search"], row, info),
                           "earliest": "", "latest": ""})
    evidence = {}
    for label, names in EVIDENCE:
        for name in names:
            values = [v for v in mv(row.get(name)) if to_str(v) not in ("", "-")]
            if values:
                evidence[label] = values if len(values) > 1 or isinstance(row.get(name), list) else values[0]
                break
    if evidence.get("destination ip") == evidence.get("destination"):
        evidence.pop("destination ip", None)
    last = to_number(row.get("lastTime")) or to_number(row.get("beacon_last")) or notable.time
    return Finding(search=saved.name,
                   title=fill_tokens(stanza.get("action.notable.param.rule_title", saved.name), row),
                   description=fill_tokens(stanza.get("action.notable.param.rule_description", ""), row),
                   time=notable.time, last_time=last, host=notable.host or "", signal=notable.signal,
                   risk_score=notable.risk_score, severity=stanza.get("action.notable.param.severity", ""),
                   security_domain=stanza.get("action.notable.param.security_domain", ""),
                   es_action=_es_action(stanza),
                   mitre_attack=list(annotations.get("mitre_attack", [])) if isinstance(annotations, dict) else [],
                   analytics=list(annotations.get("c2hunt_analytic", [])) if isinstance(annotations, dict) else [],
                   signals=[to_str(s) for s in mv(row.get("signals")) if to_str(s)],
                   risk_objects=risk_objects, threat_objects=threat_objects, drilldowns=drilldowns,
                   evidence=evidence, fields=dict(row), allowlist_entry=allowlist_entry(row))


SITE_ALLOWLIST_COLUMNS = ("host", "dest", "process", "signal", "reason")


def allowlist_entry(row):
    """The site allowlist row (macro c2hunt_site_allowlist) that would silence this notable:
    the values the macro compares, lower case; "*" where the notable has no such field."""
    def first(*names):
        for name in names:
            values = [to_str(v) for v in mv(row.get(name)) if to_str(v) not in ("", "-")]
            if values:
                return values[0]
        return ""
    return {"host": first("host", "src").lower() or "*",
            "dest": first("dest", "DestinationIp", "group_dest", "dest_ip") or "*",
            "process": first("Image", "process_path", "exe", "process_name").lower() or "*",
            "signal": first("detection_signal").lower() or "*",
            "reason": ""}


def _es_action(stanza):
    """What ES makes of a result: "notable" (and risk events), "risk" (risk events only:
    the notable comes from a risk incident rule), or "none"."""
    def on(key):
        return str(stanza.get(key, "0")).strip().lower() in ("1", "true")
    return "notable" if on("action.notable") else ("risk" if on("action.risk") else "none")


def _fmt_number(value):
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else "%.3f" % value


def multivalue_fields(search_text):
    """Fields a search builds with values()/list()/mvappend()/split(): always lists."""
    out = set()
    for m in _MULTIVALUE_SPL.finditer(search_text or ""):
        out.add(m.group(2) or m.group(1) or m.group(3))
    return out


def _as_number(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    text = to_str(value)
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    return value


def stable_fields(rows, search_text=""):
    """The rows' fields with stable JSON types, in place: a multivalue field (built by
    values()/mvappend()... or a list in any row) is a list in every row; a field that holds
    numbers (a number in any row, or a name such as ``*_port``/``*_score``/``count``) has
    its numeric strings as numbers. Anything else stays as the search returned it."""
    multi = multivalue_fields(search_text)
    numeric = set()
    for row in rows:
        for k, v in row.items():
            if isinstance(v, list):
                multi.add(k)
            if any(isinstance(x, (int, float)) and not isinstance(x, bool) for x in mv(v)) or _NUMERIC_NAME.search(k):
                numeric.add(k)
    for row in rows:
        for k in list(row):
            v = row[k]
            if k in numeric:
                v = [_as_number(x) for x in v] if isinstance(v, list) else _as_number(v)
            if k in multi and not isinstance(v, list):
                v = [] if v is None else [v]
            row[k] = v
    return rows


def _stabilise(findings, saved):
    by_search = {}
    for f in findings:
        by_search.setdefault(f.search, []).append(f)
    for name, group in by_search.items():
        stable_fields([f.fields for f in group], saved[name].search)
        multi = {k for f in group for k, v in f.fields.items() if isinstance(v, list)}
        for f in group:
            f.evidence = {k: _as_number(v) if not isinstance(v, list) else [_as_number(x) for x in v]
                          for k, v in f.evidence.items()}
            f.risk_score = _as_number(f.risk_score) if f.risk_score is not None else None
            for ro in f.risk_objects:
                ro["score"] = f.risk_score
            for label, names in EVIDENCE:
                name = next((n for n in names if n in f.fields), None)
                if label in f.evidence and name in multi and not isinstance(f.evidence[label], list):
                    f.evidence[label] = [f.evidence[label]]


def _add_dns_samples(findings, events):
    """Up to DNS_SAMPLES query names under the domain a DNS notable names, from its source."""
    wanted = {}
    for f in findings:
        domains = [to_str(d).lower().rstrip(".") for d in mv(f.fields.get("threat_domain")) if to_str(d)]
        if not domains or not f.search.lower().count("dns"):
            continue
        sources = {to_str(s) for s in mv(f.fields.get("src"))} | {f.host}
        wanted[id(f)] = (f, domains, sources, [])
    if not wanted:
        return
    if hasattr(events, "partitions"):  # an EventTable: only the events that carry a query
        from .columnar.events import POSITION, select
        from .columnar.table import rows_from_frame
        read = (POSITION, "query", "src", "host")  # the fields read below, and the global order
        frames = [f.select([c for c in read if c in f.columns]) for f in events.partitions.values()
                  if "query" in f.columns]
        frames = [f.filter(f.get_column("query").is_not_null()) for f in frames]
        domains = sorted({d for _f, names, _s, _samples in wanted.values() for d in names})
        if all(d.isascii() for d in domains):
            frames = [_may_name_a_domain(f, domains) for f in frames]
        events = rows_from_frame(select(frames))
    for ev in events:
        query = to_str(ev.get("query")).lower().rstrip(".")
        if not query:
            continue
        for f, domains, sources, samples in wanted.values():
            if len(samples) >= DNS_SAMPLES or query in samples:
                continue
            if (to_str(ev.get("src")) in sources or to_str(ev.get("host")) in sources) and \
                    any(query == d or query.endswith("." + d) for d in domains):
                samples.append(query)
    for f, _domains, _sources, samples in wanted.values():
        if samples:
            f.evidence["DNS samples"] = sorted(samples)


def _may_name_a_domain(frame, domains):
    """The rows of ``frame`` whose text ``query`` may be one of ``domains`` (ASCII, lower
    case) or under one, so only those become dicts: a query that is, or ends with, ``.`` plus
    a domain holds it once lower-cased, and on ASCII text polars lower-cases as Python does
    (other text is kept for the exact test). A query column not held as text is kept whole."""
    import polars as pl
    query = frame.get_column("query")
    if query.dtype != pl.String or not domains:
        return frame
    lowered = query.str.to_lowercase()
    candidate = query.str.len_bytes() != query.str.len_chars()
    for domain in domains:
        candidate = candidate | lowered.str.contains(domain, literal=True)
    return frame.filter(candidate.fill_null(False))


# ----------------------------------------------------------------------------- grouping
def _identities(f, names):
    out = set()
    for name in names:
        for v in mv(f.fields.get(name)):
            text = to_str(v).strip().lower()
            if text and text != "-":
                out.add(text)
    return out


def _program(f):
    out = set()
    for name in _PROGRAM_FIELDS:
        for v in mv(f.fields.get(name)):
            text = to_str(v).strip().lower().replace("\\", "/")
            if text and text != "-":
                out.add(text.rsplit("/", 1)[-1])
    return out


def group_findings(findings, tolerance=GROUP_TOLERANCE):
    """Findings grouped by activity (see the module docstring); groups and the findings in
    them sorted by risk score, highest first, then time."""
    n = len(findings)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    ends = [_identities(f, _ENDPOINT_FIELDS) | ({f.host.lower()} if f.host else set()) for f in findings]
    remotes = [_identities(f, _REMOTE_FIELDS) for f in findings]
    programs = [_program(f) for f in findings]
    spans = [(f.time or 0, max(f.last_time or 0, f.time or 0)) for f in findings]
    buckets = {}
    for i, ids in enumerate(ends):
        for ident in ids:
            buckets.setdefault(ident, []).append(i)
    for items in buckets.values():
        # sorted by start: once a later start is past i's end (+ tolerance), so are the rest
        items.sort(key=lambda k: spans[k][0])
        for a, i in enumerate(items):
            for j in items[a + 1:]:
                if spans[j][0] > spans[i][1] + tolerance:
                    break
                if root(i) == root(j):
                    continue
                if remotes[i] and remotes[j]:
                    if not remotes[i] & remotes[j]:
                        continue
                elif not programs[i] & programs[j]:
                    continue
                parent[root(i)] = root(j)
    members = {}
    for i in range(n):
        members.setdefault(root(i), []).append(findings[i])

    def order(f):
        return (-(to_number(f.risk_score) or 0), -(f.time or 0), f.search)
    groups = []
    for items in members.values():
        items.sort(key=order)
        groups.append(items)
    groups.sort(key=lambda items: order(items[0]))
    out = []
    for gid, items in enumerate(groups, 1):
        for f in items:
            f.group = gid
        times = [f.time for f in items if f.time] + [f.last_time for f in items if f.last_time]
        out.append(FindingGroup(id=gid, hosts=sorted({f.host for f in items if f.host}),
                                remotes=sorted(set().union(*[_identities(f, _REMOTE_FIELDS) for f in items]))[:10],
                                first_time=min(times) if times else None, last_time=max(times) if times else None,
                                risk_score=items[0].risk_score, findings=items))
    return out


# ----------------------------------------------------------------------------- data sources
_SOURCE_LABELS = {
    "c2hunt_sysmon": "Sysmon (any event id)",
    "c2hunt_sysmon_network": "Sysmon EID 3 (network connections)",
    "c2hunt_sysmon_process": "Sysmon EID 1 (process creation)",
    "c2hunt_wineventlog_wfp": "Windows Security 5156 (WFP connections)",
    "c2hunt_wineventlog_logon": "Windows Security 4624 (logons)",
    "c2hunt_auditd": "auditd",
    "c2hunt_zeek_conn": "Zeek conn.log",
    "c2hunt_zeek_dns": "Zeek dns.log or c2hunt:dns",
    "c2hunt_zeek_http": "Zeek http.log",
    "c2hunt_zeek_ssl": "Zeek ssl.log",
    "c2hunt_zeek_x509": "Zeek x509.log",
    "c2hunt_zeek_open_conn": "Zeek open_conn.log",
    "c2hunt_flow": "c2hunt:flow (packet captures)",
    "c2hunt_osquery_results": "osquery results",
    "c2hunt_esxi_hostd": "ESXi hostd",
    "c2hunt_esxi_vpxa": "ESXi vpxa",
    "c2hunt_esxi_shell": "ESXi shell",
    "c2hunt_socket_inventory": "c2sockets socket inventory",
}
_MACRO_CALL = re.compile(r"`\s*([A-Za-z0-9_]+)\s*(?:\([^`]*\))?\s*`")


def _macro_definition(runner, name):
    entry = runner.macros.defs.get((name, 0))
    return entry[1] if entry else None


def data_source_macros(runner):
    """Names of the 0-argument macros that select events: their definition starts with the
    index and names a sourcetype or source (the app's convention for data sources; a list of
    sourcetypes used to leave data out, such as c2hunt_cim_native_data, is not one), or
    narrows another such macro."""
    out = []
    for (name, arity), (_args, definition, _iseval) in runner.macros.defs.items():
        if arity == 0 and re.match(r"\s*index\s*=", definition or "") and \
                re.search(r"\b(sourcetype|source)\s*=", definition or ""):
            out.append(name)
    for (name, arity), (_args, definition, _iseval) in runner.macros.defs.items():
        m = re.match(r"^\s*`\s*([A-Za-z0-9_]+)\s*`", definition or "")
        if arity == 0 and m and m.group(1) in out and name not in out:
            out.append(name)
    return out


def sources_of_search(runner, text, sources, depth=0):
    """The data-source macros a search reads, directly or through other macros; a source
    macro read through a narrower one (`c2hunt_sysmon` via `c2hunt_sysmon_network`) counts
    once, as the narrower."""
    found = []
    if depth > 20:
        return found
    for m in _MACRO_CALL.finditer(text or ""):
        name = m.group(1)
        if name in sources:
            if name not in found:
                found.append(name)
        else:
            definition = _macro_definition(runner, name)
            if definition:
                found.extend(x for x in sources_of_search(runner, definition, sources, depth + 1) if x not in found)
    return found


def data_sources(runner, events, searches):
    """:class:`DataSource` for every data-source macro a run search reads.

    Counts come from running the macro itself, over one representative event per distinct
    combination of the fields the macro tests (sourcetype, source, EventCode...) weighted by
    how many events share it: exact, and one small search per macro however large the input.
    """
    sources = data_source_macros(runner)
    readers = {}
    for saved in runner.saved_searches():
        if saved.name in searches:
            for name in sources_of_search(runner, saved.search, sources):
                readers.setdefault(name, []).append(saved.name)
    used = [name for name in sources if name in readers]
    counts = _matching(runner, used, events)
    return [DataSource(macro=name, label=_SOURCE_LABELS.get(name, name), events=counts.get(name, 0),
                       searches=sorted(readers[name])) for name in used]


_FIELD_TEST = re.compile(r"([A-Za-z_][\w.:]*)\s*(?:!=|=|\s+IN\s*\()", re.I)


def _matching(runner, macros, events):
    """{macro: how many events it selects}, from one pass over the events."""
    definitions = {}
    for macro in macros:
        try:
            definitions[macro] = runner.expand("`%s`" % macro)
        except SplError:
            continue
    tested = sorted({m.group(1) for d in definitions.values()
                     for m in _FIELD_TEST.finditer(re.sub(r'"[^"]*"', '""', d))} - {"NOT", "OR", "AND"})
    weights, samples = {}, {}
    for ev, n in _distinct(events, tested):
        key = tuple(to_str(ev.get(f)) for f in tested)
        if key in weights:
            weights[key] += n
            continue
        weights[key] = n
        samples[key] = dict({f: ev.get(f) for f in tested if ev.get(f) is not None}, _time=ev.get("_time"),
                            _key=len(samples))
    keys = list(samples)
    counts = {}
    for macro in definitions:
        try:
            rows = runner.run("`%s` | fields _key" % macro, [dict(e) for e in samples.values()]).rows
        except SplError:
            continue
        counts[macro] = sum(weights[keys[int(row["_key"])]] for row in rows if row.get("_key") is not None)
    return counts


def health_lines(results):
    """The data-source health: which sources the run searches read were in the input, which
    were not, and which searches therefore had nothing to look at."""
    present = [ds for ds in results.data_sources if ds.events]
    absent = results.missing_sources()
    blind = results.searches_without_data()
    lines = []
    if present:
        lines.append("data sources with events: " + "; ".join("%s %d" % (ds.label, ds.events) for ds in present))
    if absent:
        lines.append("data sources absent from the input: " + "; ".join(ds.label for ds in absent))
    if blind:
        lines.append("%d of %d searches had nothing to look at (none of their data sources is in the input): %s"
                     % (len(blind), len(results.searches_run), "; ".join(_short(s) for s in blind)))
    return lines


def _short(name):
    return re.sub(r"^C2Hunt - | - Rule$", "", name)
