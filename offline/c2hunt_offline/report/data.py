"""What the offline report shows: the hunt's notables and events as the dashboards' tables.

Panels whose Splunk search reads Enterprise Security's indexes (notable, risk) or Splunk's REST
API get their rows from the offline results here (one small function per data source id);
every other panel runs its own search with the offline runner. Pure functions of the results:
nothing here raises on odd values (a missing field is an empty cell).
"""
import datetime as _dt
import os
import re
from collections import Counter, OrderedDict, defaultdict

import numpy as np

from ..conf import read_conf
from ..values import SplError, to_number, to_str


def _text(value):
    """A field as text: '' for null, a multivalue joined with commas."""
    value = to_str(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return value

# How many values a token takes in the report (the highest-risk first): enough to cover what
# an analyst triages in one sitting, bounded so a noisy input cannot make the file huge.
MAX_HOSTS, MAX_PAIRS, MAX_DOMAINS = 30, 20, 10
GAP_BINS = 30
# Where a beaconing pair's connections come from (the beaconing rule's own data sources).
BEACON_SOURCES = ("(`c2hunt_zeek_conn`) OR (`c2hunt_flow` record_seq=0) OR (`c2hunt_zeek_http`) "
                  "OR (`c2hunt_zeek_ssl`)")

# Signal -> (allowlist lookup, {lookup column: notable field}). The lookup column names are the
# ones the correlation searches match on; anything else is silenced by the search's _filter macro.
ALLOWLISTS = (
    (r"^Beaconing_", "c2hunt_beacon_allowlist",
     (("src", "src"), ("dest", "dest"), ("dest_port", "dest_port"), ("transport", "protocol"))),
    (r"^DNS_Tunnel_", "c2hunt_dns_domain_allowlist", (("registered_domain", "threat_domain"),)),
    (r"^DNS_Over_HTTPS", "c2hunt_doh_process_allowlist", (("process_name", "process_name"),)),
    (r"ICMP", "c2hunt_icmp_process_allowlist", (("process_name", "process_name"),)),
    (r"^SOCKS_Proxy_Port", "c2hunt_socks_process_allowlist", (("process_name", "process_name"),)),
    (r"^Unusual_UDP", "c2hunt_udp_process_allowlist", (("process_name", "process_name"),)),
    (r"^Raw_Socket", "c2hunt_raw_socket_allowlist", (("process_path", "process_path"),)),
    (r"^Executable_In_Transient_Folder|User_Writable", "c2hunt_user_path_allowlist",
     (("process_path", "process_path"),)),
    (r"^ESXi_Guest_", "c2hunt_esxi_guest_ops_allowlist", (("account", "account"), ("vm", "vm"))),
    (r"^Guest_Shell_From_VMware_Tools", "c2hunt_vmtools_child_allowlist",
     (("process_name", "process_name"), ("command_line", "command_line"))),
)
_EVIDENCE = ("process_path", "Image", "exe", "command_line", "CommandLine", "cmdline", "proctitle",
             "parent_process", "ParentImage", "user", "User", "account", "vm", "src", "SourceIp", "dest",
             "DestinationIp", "dest_port", "protocol", "bytes_out", "bytes_in", "beacon_period",
             "beacon_score", "threat_domain", "unique_subdomains", "query", "guest_operations")


def iso(epoch):
    number = to_number(epoch)
    if number is None:
        return None
    return _dt.datetime.fromtimestamp(float(number), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(fields, rows):
    return {"fields": list(fields), "rows": list(rows)}


def nice_span(seconds, n_buckets=40):
    """A readable bucket width (1 s ... 1 day) giving about ``n_buckets`` over ``seconds``."""
    for span in (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400):
        if seconds / span <= n_buckets:
            return span
    return 86400


def bucket_times(times, span):
    times = np.asarray([t for t in times if t is not None and np.isfinite(t)], dtype=float)
    if times.size == 0:
        return np.array([]), np.array([], dtype=int)
    starts = np.floor(times / span) * span
    buckets, counts = np.unique(starts, return_counts=True)
    return buckets, counts


def gap_histogram(times, n_bins=GAP_BINS, spread=4.0):
    """Counts of the gaps between consecutive check-ins (same-second events are one check-in).

    The bins span the shortest gap to ``spread`` times the median gap (a beacon's period, and
    missed check-ins at two or three times it); longer gaps (the channel asleep, the capture's
    gaps) are counted in one last ``>N`` bin so they do not squeeze the rest into one column.
    """
    times = np.unique(np.floor(np.asarray([t for t in times if t is not None], dtype=float)))
    gaps = np.diff(times)
    if gaps.size == 0:
        return []
    low = float(gaps.min())
    high = min(float(gaps.max()), max(low + 1, spread * float(np.median(gaps))))
    if float(gaps.max()) - low < 1:
        return [("%d" % low, int(gaps.size))]
    edges = np.linspace(low, high, n_bins + 1)
    counts, _ = np.histogram(gaps[gaps <= high], bins=edges)
    bins = [("%d-%d" % (edges[i], edges[i + 1]), int(c)) for i, c in enumerate(counts)]
    beyond = int(np.count_nonzero(gaps > high))
    if beyond:
        bins.append((">%d" % high, beyond))
    return bins


def pair_of(fields):
    return "%s>%s:%s/%s" % (_text(fields.get("src")), _text(fields.get("dest")),
                            _text(fields.get("dest_port")), _text(fields.get("protocol") or fields.get("transport")))


class OfflineResults(object):
    """A hunt's results (events read, notables, search errors) seen as dashboard data."""

    def __init__(self, runner, events, notables, errors=None):
        self.runner, self.events, self.notables = runner, events, notables
        self.errors = errors or {}
        self._source_counts = None
        self._beacon_cache = None
        self.capped = []

    # ------------------------------------------------------------------ tokens
    def token_values(self, name):
        if name == "host":
            values = [h for h, _ in self._hosts_by_risk()]
            limit = MAX_HOSTS
        elif name == "pair":
            values = list(OrderedDict.fromkeys(pair_of(n.fields) for n in self.beacon_notables()))
            limit = MAX_PAIRS
        elif name == "domain":
            values = list(OrderedDict.fromkeys(
                _text(n.fields.get("threat_domain") or n.fields.get("group_dest"))
                for n in self.notables if (n.signal or "").startswith("DNS_Tunnel")))
            limit = MAX_DOMAINS
        else:
            return []
        note = "%s: the first %d of %d" % (name, limit, len(values))
        if len(values) > limit and note not in self.capped:
            self.capped.append(note)
        return values[:limit]

    def beacon_notables(self):
        return [n for n in self.notables if (n.signal or "").startswith("Beaconing_")]

    def _hosts_by_risk(self):
        risk = defaultdict(float)
        for n in self.notables:
            risk[n.host or ""] += float(n.risk_score or 0)
        return sorted(risk.items(), key=lambda kv: (-kv[1], kv[0]))

    # ------------------------------------------------------------------ filling
    def fill(self, ds_id, ds, tokens):
        """Rows for one data source, or None when it has no offline equivalent."""
        method = getattr(self, "_" + ds_id, None)
        if method is not None:
            return method(tokens)
        query = ds.get("options", {}).get("query", "")
        if ds.get("type") != "ds.search" or not query:
            return None
        from .studio import substitute
        try:
            result = self.runner.run(substitute(query, tokens), self.events)
        except SplError:
            return None
        return table(result.fields(), result.rows)

    def _time_by_signal(self, value):
        times = [to_number(n.time) for n in self.notables if to_number(n.time) is not None]
        if not times:
            return None
        span = nice_span(max(times) - min(times))
        signals = [s for s, _ in Counter(n.signal for n in self.notables).most_common()]
        top, other = signals[:9], len(signals) > 9
        series = defaultdict(lambda: defaultdict(float))
        for n in self.notables:
            t = to_number(n.time)
            if t is None:
                continue
            key = n.signal if n.signal in top else "OTHER"
            series[np.floor(t / span) * span][key] += value(n)
        fields = ["_time"] + top + (["OTHER"] if other else [])
        rows = [dict({"_time": iso(b)}, **{f: series[b].get(f, 0) for f in fields[1:]}) for b in sorted(series)]
        return table(fields, rows)

    def _ds_notables_over_time(self, tokens):
        return self._time_by_signal(lambda n: 1)

    def _ds_risk_over_time(self, tokens):
        return self._time_by_signal(lambda n: float(n.risk_score or 0))

    def _ds_top_hosts(self, tokens):
        rows = []
        for host, total in self._hosts_by_risk():
            mine = [n for n in self.notables if (n.host or "") == host]
            signals = sorted({n.signal for n in mine if n.signal})
            rows.append({"risk_object": host, "total_risk": total, "risk_events": len(mine),
                         "signals": len(signals), "signal_names": signals,
                         "last_seen": _last(mine)})
        return table(["risk_object", "total_risk", "risk_events", "signals", "signal_names", "last_seen"], rows)

    def _ds_notables_by_rule(self, tokens):
        by_rule = defaultdict(list)
        for n in self.notables:
            by_rule[n.search].append(n)
        rows = [{"search_name": name, "notables": len(ns), "hosts": len({n.host for n in ns}),
                 "max_risk": max(float(n.risk_score or 0) for n in ns),
                 "last_seen": _last(ns)} for name, ns in by_rule.items()]
        rows.sort(key=lambda r: (-r["max_risk"], r["search_name"]))
        return table(["search_name", "notables", "hosts", "max_risk", "last_seen"], rows)

    def _ds_host_findings(self, tokens):
        host = tokens.get("host")
        mine = [n for n in self.notables if (n.host or "") == host]
        rows = [{"_time": iso(n.time), "search_name": n.search, "detection_signal": n.signal,
                 "risk_score": n.risk_score, "evidence": evidence(n.fields),
                 "allowlist_entry": self.allowlist_entry(n)} for n in mine]
        rows.sort(key=lambda r: (-(to_number(r["risk_score"]) or 0), r["_time"] or ""))
        return table(["_time", "search_name", "detection_signal", "risk_score", "evidence", "allowlist_entry"], rows)

    def _notable_for_pair(self, pair):
        for n in self.beacon_notables():
            if pair_of(n.fields) == pair:
                return n
        return None

    def _beacon_rows(self):
        """The beaconing rule's data sources, searched once for every pair."""
        if self._beacon_cache is None:
            try:
                self._beacon_cache = self.runner.run(BEACON_SOURCES + " | sort 0 _time", self.events).rows
            except SplError:
                self._beacon_cache = []
        return self._beacon_cache

    def _pair_events(self, pair):
        n = self._notable_for_pair(pair)
        if n is None:
            return []
        f = n.fields
        # a TLS or HTTP beacon names its server (SNI, Host): match it, or the addresses behind it
        ips = f.get("dest_ip")
        names = {_text(f.get("dest"))} | {_text(v) for v in (ips if isinstance(ips, list) else [ips])}
        names.discard("")
        src, port = _text(f.get("src")), _text(f.get("dest_port"))
        return [r for r in self._beacon_rows()
                if _text(r.get("src")) == src
                and names & {_text(r.get(k)) for k in ("dest", "server_name", "http_host")}
                and (port in ("", "0") or _text(r.get("dest_port")) == port)]

    def _ds_pair_scores(self, tokens):
        n = self._notable_for_pair(tokens.get("pair"))
        if n is None:
            return None
        names = (("overall", "beacon_score"), ("interval", "beacon_interval_score"), ("size", "beacon_size_score"),
                 ("duration", "beacon_duration_score"))  # the labels the dashboard's search renames to
        return table(["sub_score", "score"], [{"sub_score": label, "score": to_number(n.fields.get(k))}
                                              for label, k in names])

    def _ds_checkins(self, tokens):
        times = [to_number(r.get("_time")) for r in self._pair_events(tokens.get("pair"))]
        times = [t for t in times if t is not None]
        if not times:
            return None
        buckets, counts = bucket_times(times, nice_span(max(times) - min(times), 60))
        return table(["_time", "checkins"], [{"_time": iso(b), "checkins": int(c)} for b, c in zip(buckets, counts)])

    def _ds_gaps(self, tokens):
        times = [to_number(r.get("_time")) for r in self._pair_events(tokens.get("pair"))]
        bins = gap_histogram([t for t in times if t is not None])
        return table(["gap_seconds", "checkins"], [{"gap_seconds": b, "checkins": c} for b, c in bins])

    def _ds_pair_events(self, tokens):
        rows = self._pair_events(tokens.get("pair"))[-200:][::-1]
        fields = ["_time", "src", "src_port", "dest", "dest_port", "transport", "duration", "bytes_out", "bytes_in"]
        return table(fields, [dict({k: r.get(k) for k in fields}, _time=iso(r.get("_time"))) for r in rows])

    # ------------------------------------------------------------------ health
    def data_source_macros(self):
        """Macros that select data (their definition names a sourcetype or source), in file order."""
        stanzas = read_conf(os.path.join(self.runner.app_root, "default", "macros.conf"))
        names = []
        for name, body in stanzas.items():
            definition = body.get("definition", "")
            if re.search(r"\b(sourcetype|source)\s*=", definition) or \
                    any("`%s`" % n in definition for n in names):
                names.append(name)
        return names

    def source_counts(self):
        if self._source_counts is None:
            counts = OrderedDict()
            for name in self.data_source_macros():
                try:
                    rows = self.runner.run("`%s` | stats count as events max(_time) as last_event" % name,
                                           self.events).rows
                except SplError:
                    rows = []
                row = rows[0] if rows else {}
                counts[name] = (int(to_number(row.get("events")) or 0), to_number(row.get("last_event")))
            self._source_counts = counts
        return self._source_counts

    def _ds_data_sources(self, tokens):
        rows = [{"data_source": name, "state": "returns data" if n else "no data", "events": n,
                 "last_event": iso(last)} for name, (n, last) in self.source_counts().items()]
        rows.sort(key=lambda r: (-r["events"], r["data_source"]))
        return table(["data_source", "state", "events", "last_event"], rows)

    def _ds_sourcetypes(self, tokens):
        counts, last = Counter(), {}
        for ev in self.events:
            key = (_text(ev.get("index")) or "main", _text(ev.get("sourcetype")))
            counts[key] += 1
            t = to_number(ev.get("_time"))
            if t is not None and t > last.get(key, float("-inf")):
                last[key] = t
        rows = [{"index": k[0], "sourcetype": k[1], "events": c, "last_event": iso(last.get(k))}
                for k, c in counts.most_common()]
        return table(["index", "sourcetype", "events", "last_event"], rows)

    def search_health(self):
        """One row per correlation search: shipped state, what it reads, what it found offline."""
        counts = self.source_counts()
        found = Counter(n.search for n in self.notables)
        rows = []
        for saved in self.runner.saved_searches():
            if saved.kind != "correlation":
                continue
            sources = [m for m in re.findall(r"`([A-Za-z0-9_]+)`", saved.search) if m in counts]
            events = sum(counts[m][0] for m in sources)
            if saved.name in self.errors:
                offline = "not run: %s" % self.errors[saved.name]
            elif sources and events == 0:
                offline = "no data: none of its sources are in the input"
            else:
                offline = "ran"
            rows.append({"search_name": saved.name,
                         "state": "disabled" if saved.stanza.get("disabled", "0").strip() in ("1", "true")
                         else "enabled",
                         "data_sources": sorted(set(sources)), "events_in_scope": events,
                         "notables": found.get(saved.name, 0), "offline": offline})
        return rows

    def _ds_searches(self, tokens):
        return table(["search_name", "state", "data_sources", "events_in_scope", "notables", "offline"],
                     self.search_health())

    # ------------------------------------------------------------------ per finding
    def allowlist_entry(self, notable):
        """The line that would silence this finding: an allowlist row, else the _filter macro."""
        fields = notable.fields
        for pattern, lookup, columns in ALLOWLISTS:
            if re.search(pattern, notable.signal or ""):
                values = [(column, _lookup_value(column, fields.get(field), fields)) for column, field in columns]
                if all(v for _, v in values):
                    return "lookups/%s.csv: %s" % (lookup, ", ".join("%s=%s" % cv for cv in values))
        saved = {s.name: s for s in self.runner.saved_searches()}.get(notable.search)
        macro = re.findall(r"`(c2hunt_\w+_filter)`", saved.search)[-1:] if saved else []
        if not macro:
            return ""
        terms = ['detection_signal="%s"' % notable.signal]
        if notable.host:
            terms.insert(0, 'host="%s"' % _quote(notable.host))
        return "macros.conf [%s]: definition = search NOT (%s)" % (macro[0], " ".join(terms))

    def summary(self):
        times = [to_number(e.get("_time")) for e in self.events]
        times = [t for t in times if t is not None]
        return {
            "events": len(self.events),
            "first_event": iso(min(times)) if times else None,
            "last_event": iso(max(times)) if times else None,
            "notables": len(self.notables),
            "by_host": [(h, sum(1 for n in self.notables if (n.host or "") == h), r)
                        for h, r in self._hosts_by_risk()],
            "by_signal": Counter(n.signal for n in self.notables).most_common(),
            "searches": self.search_health(),
        }


def _last(notables):
    times = [to_number(n.time) for n in notables if to_number(n.time) is not None]
    return iso(max(times)) if times else None


def _lookup_value(column, value, fields):
    value = _text(value[0] if isinstance(value, list) and value else value)
    if column == "process_name" and not value:
        path = _text(fields.get("process_path") or fields.get("Image") or fields.get("exe"))
        value = re.split(r"[\\/]", path)[-1] if path else ""
    return value.lower() if column == "process_name" else value


def _quote(value):
    return _text(value).replace("\\", "\\\\").replace('"', '\\"')


def evidence(fields):
    """The key evidence of a finding, in full (never cut)."""
    parts = []
    for key in _EVIDENCE:
        value = fields.get(key)
        if value in (None, "", []):
            continue
        parts.append("%s=%s" % (key, ", ".join(_text(v) for v in value) if isinstance(value, list) else _text(value)))
    return "; ".join(parts)
