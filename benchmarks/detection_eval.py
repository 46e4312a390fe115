"""Detection scoreboard: the app's correlation searches over the third-party data in ../shared/datasets.

    python benchmarks/detection_eval.py [--repo PATH] [--dataset NAME ...] [--json OUT] [--markdown]

What it does
------------
Ground truth lives in ``benchmarks/ground_truth/<dataset>.json`` (written from each dataset's
README / LABELS.md / EXPECTED.md / CAPTURES.md / TRACES.md), never in this code. Each file lists:

- ``units``: the capture files or Zeek log folders the runner reads, one ``hunt`` each, so one
  capture's traffic never mixes with another's (paths relative to the dataset folder; ``exclude``
  leaves out files of a folder; ``role`` c2 / mixed / negative is for the reader: any notable
  that matches no channel or neutral entry counts as a notable on benign traffic);
- ``channels``: the labelled C2 channels (id, units, src, dest, dest_port, transport, domain,
  process, technique, ``detectable_from``; ``undetectable`` = the documented reason why this
  telemetry cannot show it);
- ``neutral``: traffic that is neither a labelled C2 channel nor benign (malicious non-C2
  activity, periodic software RITA scores as a beacon): a notable on it is listed, not counted;
- ``rita_expected_beacons`` (rita-test-data): the beacons RITA's own tests expect;
- ``metric: dns_tunnel`` (netrack-dns): a labelled name list for the DNS tunnel metric.

For each unit the app of ``--repo`` runs as a subprocess,
``python -m c2hunt_offline --app-root REPO hunt --no-progress --format json <unit>`` with
``PYTHONPATH=REPO/offline``, so a restructured engine does not break this script.

Matching a notable (or an event) to a ground-truth entry
--------------------------------------------------------
Searches name their entities differently (``dest``, ``DestinationIp``, ``group_dest``,
``dest_ip``; ``Image``, ``process_path``, ``process_name``, ``exe``), so matching reads values,
not names:

- IPs: every value of every field that parses as an IP address (normalised, so
  ``ff02:0:0:0:0:0:0:c`` equals ``ff02::c``), plus IPs embedded in values such as
  ``invalid-tld-via-192.168.203.167``. Direction is not required (flow readers may swap
  initiator and responder on partial captures).
- domains: every string value read as a host name (scheme, path, port and trailing dot
  removed, lower case); an entry's ``domain`` matches the name itself or any subdomain.
- ports: values of fields whose name ends in ``port`` or ``_p``, except source-port fields.
- processes: the base name (after ``/`` or ``\\``) of values of process fields, lower case.

An entry matches when one of its anchors is present (any of its ``dest`` IPs, or its
``domain``, or, when it has neither or the record carries no address or host name at all,
its ``process``; else its ``src``) and none of its other
attributes contradicts the record: ``src`` must be among the record's IPs when the record has
IPs, ``dest_port`` among its ports when it has ports, ``process`` among its processes when it
has processes. ``transport`` and ``technique`` describe the channel and are not matched
(searches disagree on ``protocol`` versus ``transport``). Only notables of the entry's own
units count. A notable that matches a channel
is a detection (credited to its search and signal); one that matches only a neutral entry is
neutral; any other notable is a notable on benign traffic.

Missed channels get a reason: ``documented undetectable`` (the ground truth's reason), ``no
events read for it`` (the runner's ``read`` of its units yields no event matching the channel;
reader issues are shown), or ``events read but no notable`` (with the count and sourcetypes).

RITA ranking: the beacon correlation searches run again on the units of
``rita_expected_beacons`` with ``c2hunt_beacon_timing_threshold`` set to 0 in a temporary copy
of the app's ``default/`` (every scored pair becomes a row); each expected beacon's rank among
the rows (by ``beacon_score``), whether it is above every row that matches no labelled
channel or expected beacon, whether it raised a notable in the real run, and ``met`` (both:
RITA's target).

DNS tunnel metric (netrack validate split): every labelled name becomes one Zeek dns.log
query (JSON) from a client of its own class (plain names from one client, each tunnel tool's
names from another, one query a second in file order, qtype A because the CSV has none), and
the app's DNS correlation search runs over them, as it would over a resolver's log. A name is
flagged when the notable's (src, group_dest) group contains it: recall over tunnel names,
false-positive rate over plain names. This is faithful to how the app decides (per client
and registered domain over the window), not per name. The per-name view (c2entropy mode=dns
and the encoded-label rule's macros, when the app still has them) is reported beside it.

Nothing is cached between runs.
"""
import argparse
import collections
import concurrent.futures
import csv
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUND_TRUTH_DIR = HERE / "ground_truth"
DEFAULT_REPO = HERE.parent
DEFAULT_DATASETS = HERE.parents[1] / "shared" / "datasets"

PROCESS_FIELDS = ("image", "process_path", "process_name", "process", "exe", "app", "application",
                  "processname", "process_exec", "comm")
SOURCE_PORT_FIELDS = ("src_port", "sourceport", "source_port", "id.orig_p", "id_orig_p", "orig_p", "srcport")
_IP_IN_TEXT = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")
_HOSTNAME = re.compile(r"^[a-z0-9_*-]+(\.[a-z0-9_*-]+)+$")


# ----------------------------------------------------------------------------- ground truth
def load_ground_truth(names=None, directory=GROUND_TRUTH_DIR):
    """{dataset: ground-truth dict} for every JSON file (or only ``names``)."""
    out = {}
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text())
        name = doc.get("dataset", path.stem)
        if names and name not in names:
            continue
        out[name] = doc
    return out


def unit_inputs(root, unit):
    """The paths one unit hands the runner: the file or folder, minus the unit's ``exclude`` names."""
    path = Path(root) / unit["path"]
    exclude = set(unit.get("exclude") or ())
    if not exclude or not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name not in exclude)


# ----------------------------------------------------------------------------- matching
def _values(value):
    if isinstance(value, list):
        for v in value:
            yield from _values(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif value is not None:
        yield str(value)


def _ip(text):
    text = text.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text.split("%")[0]))
    except ValueError:
        return None


def _hostname(text):
    text = text.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.rstrip(".")
    return text if _HOSTNAME.match(text) and not _ip(text) else None


def _basename(text):
    return re.split(r"[\\/]", text.strip())[-1].lower()


def entities(record):
    """The IPs, host names, destination ports and process names a notable or event carries."""
    fields = record.get("fields", record) if isinstance(record.get("fields"), dict) else record
    ips, domains, ports, processes = set(), set(), set(), set()
    for key, value in fields.items():
        lkey = key.lower()
        for text in _values(value):
            ip = _ip(text)
            if ip:
                ips.add(ip)
            else:
                ips.update(filter(None, (_ip(m) for m in _IP_IN_TEXT.findall(text))))
                host = _hostname(text)
                if host:
                    domains.add(host)
            if (lkey.endswith("port") or lkey.endswith("_p")) and lkey not in SOURCE_PORT_FIELDS:
                if text.strip().isdigit():
                    ports.add(str(int(text)))
            if lkey in PROCESS_FIELDS and text.strip():
                processes.add(_basename(text))
    if isinstance(record.get("host"), str) and _ip(record["host"]):
        ips.add(_ip(record["host"]))
    return {"ips": ips, "domains": domains, "ports": ports, "processes": processes}


def _domain_match(domain, names):
    domain = domain.lower().rstrip(".")
    return any(n == domain or n.endswith("." + domain) for n in names)


def matches(entry, ent):
    """Whether a ground-truth entry (channel, neutral, expected beacon) matches ``entities()``."""
    dests = {_ip(d) for d in entry.get("dest") or []} - {None}
    domain = entry.get("domain")
    process = (entry.get("process") or "").lower() or None
    src = _ip(entry["src"]) if entry.get("src") else None
    port = str(entry["dest_port"]) if entry.get("dest_port") else None
    if dests or domain:
        anchored = bool(dests & ent["ips"]) or bool(domain and _domain_match(domain, ent["domains"]))
        # A notable about a process alone (a command line, no address in it) is anchored by
        # the channel's process: nothing in it can contradict the channel's addresses.
        if not anchored and process and not ent["ips"] and not ent["domains"]:
            anchored = process in ent["processes"]
    elif process:
        anchored = process in ent["processes"]
    else:
        anchored = bool(src and src in ent["ips"])
    if not anchored:
        return False
    if src and ent["ips"] and src not in ent["ips"]:
        return False
    if port and ent["ports"] and port not in ent["ports"]:
        return False
    if process and ent["processes"] and process not in ent["processes"]:
        return False
    return True


def classify(notable, channels, neutral):
    """('channel', [ids]) / ('neutral', [ids]) / ('benign', [])."""
    ent = entities(notable)
    hit = [c["id"] for c in channels if matches(c, ent)]
    if hit:
        return "channel", hit
    hit = [n["id"] for n in neutral if matches(n, ent)]
    if hit:
        return "neutral", hit
    return "benign", []


# ----------------------------------------------------------------------------- runner
class AppRunner(object):
    """The offline runner of one checkout, always as a subprocess."""

    def __init__(self, repo, python=None):
        self.repo = Path(repo).resolve()
        self.python = python or sys.executable
        self.env = dict(os.environ, PYTHONPATH=str(self.repo / "offline"), TZ="UTC", LC_ALL="C.UTF-8",
                        PYTHONHASHSEED="0")

    def _call(self, args, app_root=None):
        cmd = [self.python, "-m", "c2hunt_offline", "--app-root", str(app_root or self.repo)] + list(args)
        proc = subprocess.run(cmd, cwd=str(self.repo), env=self.env, capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    def hunt(self, paths, searches=(), app_root=None):
        args = ["hunt", "--no-progress", "--format", "json"]
        for s in searches:
            args += ["--search", s]
        rc, out, err = self._call(args + [str(p) for p in paths], app_root)
        notables = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
        return notables, rc, [line for line in err.splitlines() if line.strip()]

    def read(self, paths):
        rc, out, err = self._call(["read"] + [str(p) for p in paths])
        events = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
        return events, [line for line in err.splitlines() if line.strip()]

    def correlation_searches(self, word):
        """Names of the app's correlation searches whose stanza name contains ``word``."""
        names, current, enabled = [], None, False
        conf = self.repo / "default" / "savedsearches.conf"
        for line in conf.read_text().splitlines() + ["[]"]:
            m = re.match(r"^\[(.*)\]\s*$", line)
            if m:
                if current and enabled and word.lower() in current.lower():
                    names.append(current)
                current, enabled = m.group(1), False
            elif re.match(r"^action\.(correlationsearch\.enabled|notable)\s*=\s*(1|true)\s*$", line.strip()):
                enabled = True
        return names

    def has_macro(self, name):
        conf = self.repo / "default" / "macros.conf"
        return re.search(r"^\[%s\]\s*$" % re.escape(name), conf.read_text(), re.M) is not None

    def app_copy_with_macros(self, overrides):
        """A temporary app root: this app with some macro definitions replaced (caller removes it)."""
        tmp = Path(tempfile.mkdtemp(prefix="c2hunt-eval-app-"))
        for child in self.repo.iterdir():
            if child.name in ("default", ".git"):
                continue
            (tmp / child.name).symlink_to(child)
        shutil.copytree(self.repo / "default", tmp / "default")
        macros = tmp / "default" / "macros.conf"
        lines, current = [], None
        for line in macros.read_text().splitlines():
            m = re.match(r"^\[(.*)\]\s*$", line)
            if m:
                current = m.group(1)
            elif current in overrides and re.match(r"^definition\s*=", line):
                line = "definition = %s" % overrides[current]
            lines.append(line)
        macros.write_text("\n".join(lines) + "\n")
        return tmp


# ----------------------------------------------------------------------------- scoring
def _signal(notable):
    return "%s / %s %s" % (notable.get("search", "").replace("C2Hunt - ", "").replace(" - Rule", ""),
                           notable.get("signal"), notable.get("risk_score"))


def _brief(notable):
    ent = entities(notable)
    f = notable.get("fields", {})
    keys = [k for k in ("src", "dest", "group_dest", "DestinationIp", "dest_port", "protocol", "Image",
                        "process_path", "beacon_score") if f.get(k) not in (None, "")]
    return " ".join("%s=%s" % (k, f[k] if not isinstance(f[k], list) else ",".join(map(str, f[k])))
                    for k in keys) or " ".join(sorted(ent["ips"]))


def evaluate_dataset(runner, doc, root, log=print, jobs=1):
    """Score one dataset's units (``jobs`` hunts at a time); returns a result dict."""
    channels, neutral = doc.get("channels", []), doc.get("neutral", [])
    result = {"dataset": doc["dataset"], "units": [], "channels": {}, "benign_notables": [],
              "neutral_notables": [], "seconds": 0.0}
    for c in channels:
        result["channels"][c["id"]] = {"id": c["id"], "technique": c.get("technique"), "units": c["units"],
                                       "detected": False, "by": [], "undetectable": c.get("undetectable"),
                                       "description": c.get("description", "")}
    unit_issues, read_cache = {}, {}
    unit_by_path = {u["path"]: u for u in doc.get("units", [])}

    def timed_hunt(unit):
        t0 = time.monotonic()
        out = runner.hunt(unit_inputs(root, unit))
        return out, time.monotonic() - t0

    present = [u for u in doc.get("units", []) if (root / u["path"]).exists()]
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        hunted = dict(zip([u["path"] for u in present], pool.map(timed_hunt, present)))
    for unit in doc.get("units", []):
        if unit["path"] not in hunted:
            log("  %-70s absent" % unit["path"])
            result["units"].append({"path": unit["path"], "absent": True})
            continue
        (notables, rc, issues), seconds = hunted[unit["path"]]
        result["seconds"] += seconds
        unit_issues[unit["path"]] = issues
        here = [c for c in channels if unit["path"] in c["units"]]
        here_neutral = [n for n in neutral if unit["path"] in n["units"]]
        counts = collections.Counter()
        for n in notables:
            kind, ids = classify(n, here, here_neutral)
            counts[kind] += 1
            row = {"unit": unit["path"], "signal": _signal(n), "entities": _brief(n), "matched": ids}
            if kind == "channel":
                for cid in ids:
                    ch = result["channels"][cid]
                    ch["detected"] = True
                    if row["signal"] not in ch["by"]:
                        ch["by"].append(row["signal"])
            elif kind == "neutral":
                result["neutral_notables"].append(row)
            else:
                result["benign_notables"].append(row)
        result["units"].append({"path": unit["path"], "role": unit.get("role"), "notables": len(notables),
                                "rc": rc, "seconds": round(seconds, 2), "issues": len(issues),
                                "channel_notables": counts["channel"], "benign": counts["benign"],
                                "neutral": counts["neutral"],
                                "first_issue": _short_issue(issues[0]) if issues else None})
        log("  %-70s %5.1f s  rc=%d  notables=%d (channel %d, benign %d, neutral %d)"
            % (unit["path"][-70:], seconds, rc, len(notables), counts["channel"], counts["benign"], counts["neutral"]))
    for c in channels:
        ch = result["channels"][c["id"]]
        if ch["detected"]:
            continue
        if c.get("undetectable"):
            ch["miss_reason"] = "documented undetectable: " + c["undetectable"]
            ch["miss_class"] = "undetectable"
            continue
        seen = []
        for unit in c["units"]:
            if unit not in read_cache and (root / unit).exists():
                read_cache[unit] = runner.read(unit_inputs(root, unit_by_path.get(unit, {"path": unit})))[0]
            seen += [e for e in read_cache.get(unit, []) if matches(c, entities(e))]
        issues = [i for u in c["units"] for i in unit_issues.get(u, [])]
        if not seen:
            ch["miss_class"] = "no_events"
            ch["miss_reason"] = "no events read for it" + ("; %d reader issue(s), first: %s" % (
                len(issues), _short_issue(issues[0])) if issues else "")
        else:
            types = collections.Counter(e.get("sourcetype", "?") for e in seen)
            ch["miss_class"] = "no_notable"
            ch["miss_reason"] = "events read but no notable: %d events (%s)" % (
                len(seen), ", ".join("%s %d" % kv for kv in types.most_common()))
    return result


def _short_issue(text):
    return re.sub(r"^c2hunt: input: \S*/", "", text)[:160]


def rita_ranking(runner, doc, root, log=print, result=None):
    """Rank of each RITA expected beacon among the app's beacon rows with no score threshold.

    ``result`` (evaluate_dataset's) says whether the beacon also raised a notable in the real run.
    """
    expected = doc.get("rita_expected_beacons") or []
    if not expected:
        return []
    searches = runner.correlation_searches("Beacon")
    if not searches:
        return [{"id": e["id"], "error": "no beacon correlation search in the app"} for e in expected]
    threshold = "c2hunt_beacon_timing_threshold"
    if not runner.has_macro(threshold):
        log("  rank: macro %s is gone; the rows are the beacon notables only" % threshold)
    app = runner.app_copy_with_macros({threshold: "0"})
    out = []
    try:
        units = sorted({u for e in expected for u in e["units"]})
        rows_by_unit = {}
        for unit in units:
            path = root / unit
            if not path.exists():
                continue
            t0 = time.monotonic()
            unit_doc = next((u for u in doc.get("units", []) if u["path"] == unit), {"path": unit})
            rows, _, _ = runner.hunt(unit_inputs(root, unit_doc), searches=searches, app_root=app)
            rows.sort(key=lambda r: -float(r.get("fields", {}).get("beacon_score") or 0))
            rows_by_unit[unit] = rows
            log("  rank %-65s %5.1f s  beacon rows=%d" % (unit, time.monotonic() - t0, len(rows)))
        for e in expected:
            best = None
            for unit in e["units"]:
                rows = rows_by_unit.get(unit, [])
                labelled = [c for c in doc.get("channels", []) if unit in c["units"]] + \
                           [x for x in expected if unit in x["units"]]
                benign = [r for r in rows if not any(matches(x, entities(r)) for x in labelled)]
                top_benign = max((float(r["fields"].get("beacon_score") or 0) for r in benign), default=None)
                for rank, r in enumerate(rows, 1):
                    if matches(e, entities(r)):
                        score = float(r["fields"].get("beacon_score") or 0)
                        cand = {"id": e["id"], "unit": unit, "rank": rank, "rows": len(rows),
                                "beacon_score": score, "rita_score": e.get("rita_score"),
                                "top_benign_score": top_benign,
                                "above_all_benign": top_benign is None or score > top_benign}
                        if best is None or _better(cand, best):
                            best = cand
                        break
            if best is None:
                n = sum(len(rows_by_unit.get(u, [])) for u in e["units"])
                best = {"id": e["id"], "unit": ",".join(e["units"]), "rank": None, "rows": n,
                        "beacon_score": None, "rita_score": e.get("rita_score"), "above_all_benign": False}
            best["notable"] = _raised_notable(e["id"], result)
            # RITA's target: found (a notable) and ranked above everything benign
            best["met"] = bool(best["notable"] and best["above_all_benign"])
            out.append(best)
    finally:
        shutil.rmtree(app, ignore_errors=True)
    return out


DNS_SESSION_NAMES = 10


def _replay_clients(names, pos, neg, session):
    """Client address per name: a new client every ``session`` names of a class (None: one per class)."""
    labels = sorted(pos | neg)
    seen = collections.Counter()
    out = []
    for label, _ in names:
        k = labels.index(label)
        chunk = seen[label] // session if session else 0
        seen[label] += 1
        out.append("10.%d.%d.%d" % (100 + k, chunk // 250, chunk % 250 + 1))
    return out


def _dns_replay(runner, names, clients, workdir):
    """Run the app's DNS correlation search(es) over the names as Zeek dns.log; flags per name."""
    start, lines = 1700000000.0, []
    for i, ((label, qname), src) in enumerate(zip(names, clients)):
        lines.append(json.dumps({"ts": start + i, "uid": "C%08d" % i, "id.orig_h": src,
                                 "id.orig_p": 40000 + i % 20000, "id.resp_h": "10.99.1.1", "id.resp_p": 53,
                                 "proto": "udp", "trans_id": i % 65536, "query": qname.rstrip("."),
                                 "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1, "qtype_name": "A",
                                 "rcode": 0, "rcode_name": "NOERROR"}))
    log_path = workdir / "dns.log"
    log_path.write_text("\n".join(lines) + "\n")
    notables, _, _ = runner.hunt([log_path], searches=runner.correlation_searches("DNS"))
    groups = set()
    for n in notables:
        f = n.get("fields", {})
        for src in _values(f.get("src")):
            for g in _values(f.get("group_dest")):
                groups.add((src, g.lower().rstrip(".")))
    flags = []
    for (label, qname), src in zip(names, clients):
        q = qname.lower().rstrip(".")
        flags.append(any(s == src and (q == g or q.endswith("." + g)) for s, g in groups))
    return flags, log_path, len(notables)


def _rates(names, flags, pos):
    tp = sum(1 for (label, _), f in zip(names, flags) if label in pos and f)
    fp = sum(1 for (label, _), f in zip(names, flags) if label not in pos and f)
    n_pos = sum(1 for label, _ in names if label in pos)
    n_neg = len(names) - n_pos
    return (round(tp / n_pos, 4) if n_pos else None), (round(fp / n_neg, 4) if n_neg else None)


def _better(a, b):
    """The more favourable of two sightings of one expected beacon (above benign, then rank)."""
    return (a["above_all_benign"], -a["rank"]) > (b["above_all_benign"], -b["rank"])


def _raised_notable(entry_id, result):
    if not result:
        return None
    if entry_id in result["channels"]:
        return result["channels"][entry_id]["detected"]
    return any(entry_id in n["matched"] for n in result["neutral_notables"])


def dns_metric(runner, doc, root, log=print, session=DNS_SESSION_NAMES):
    """Recall and FPR of the app's DNS search on the labelled names (see module docstring)."""
    path = root / doc["split"]
    if not path.exists():
        return {"error": "%s absent" % path}
    pos, neg = set(doc["positive_labels"]), set(doc["negative_labels"])
    names = []
    with open(path, newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if len(row) < 2 or (i == 0 and doc.get("header")):
                continue
            if row[0] in pos or row[0] in neg:
                names.append((row[0], row[1]))
    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="c2hunt-eval-dns-"))
    try:
        flags, log_path, n_notables = _dns_replay(runner, names, _replay_clients(names, pos, neg, session), tmp)
        recall, fpr = _rates(names, flags, pos)
        whole, _, _ = _dns_replay(runner, names, _replay_clients(names, pos, neg, None), tmp)
        whole_recall, whole_fpr = _rates(names, whole, pos)
        per_name = _per_name_flags(runner, log_path)
        by_label = collections.Counter((label, f) for (label, _), f in zip(names, flags))
        missed_domains = collections.Counter(
            _registered_guess(q) for (label, q), f in zip(names, flags) if label in pos and not f)
        flagged_plain = sorted({q.rstrip(".") for (label, q), f in zip(names, flags) if label not in pos and f})
        out = {"split": doc["split"], "session_names": session, "names": len(names),
               "tunnel_names": sum(1 for label, _ in names if label in pos),
               "plain_names": sum(1 for label, _ in names if label not in pos),
               "recall": recall, "fpr": fpr, "notables": n_notables, "target": doc.get("target"),
               "one_client_per_class": {"recall": whole_recall, "fpr": whole_fpr},
               "missed_tunnel_domains": dict(missed_domains.most_common(10)),
               "flagged_plain_names": flagged_plain[:20],
               "by_label": {"%s %s" % (doc.get("label_names", {}).get(label, label), "flagged" if f else "not flagged"): c
                            for (label, f), c in sorted(by_label.items())}}
        if per_name is not None:
            out["per_name"] = dict(zip(("recall", "fpr"), _rates(names, [bool(per_name.get(q.lower().rstrip(".")))
                                                                           for _, q in names], pos)))
        t = out["target"] or {}
        out["meets_target"] = bool(recall is not None and fpr is not None
                                   and recall >= t.get("recall", 0) and fpr <= t.get("fpr", 1))
        out["seconds"] = round(time.monotonic() - t0, 1)
        log("  dns metric %-58s %5.1f s  recall=%s fpr=%s" % (doc["split"], out["seconds"], recall, fpr))
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _registered_guess(qname):
    """Last two labels, for grouping misses in the report (the app uses the Public Suffix List)."""
    return ".".join(qname.lower().rstrip(".").split(".")[-2:])


def _per_name_flags(runner, dns_log):
    """{query: encoded?} by the app's per-name encoded-label rule, or None when its macros are gone."""
    spl = ("`c2hunt_zeek_dns` | c2entropy field=query mode=dns "
           "| eval encoded=if(query_entropy_norm>=`c2hunt_dns_label_entropy_threshold` "
           "AND query_longest_label>=`c2hunt_dns_label_length_threshold`, 1, 0) | table query encoded")
    rc, out, _ = runner._call(["run", spl, str(dns_log), "--format", "json"])
    if rc not in (0, 3):
        return None
    flags = {}
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            flags[str(d.get("query", "")).lower().rstrip(".")] = str(d.get("encoded")) == "1"
    return flags


# ----------------------------------------------------------------------------- report
COLUMNS = [("dataset", "dataset"), ("units", "units"), ("channels", "C2 channels"), ("detected", "detected"),
           ("missed", "missed"), ("undetectable", "of which documented undetectable"),
           ("benign_notables", "notables on benign traffic"), ("neutral_notables", "neutral notables"),
           ("seconds", "seconds")]


def summarise(results):
    rows = []
    for r in results:
        chans = list(r["channels"].values())
        missed = [c for c in chans if not c["detected"]]
        rows.append({"dataset": r["dataset"], "units": len([u for u in r["units"] if not u.get("absent")]),
                     "channels": len(chans), "detected": sum(c["detected"] for c in chans),
                     "missed": len(missed),
                     "undetectable": sum(c.get("miss_class") == "undetectable" for c in missed),
                     "benign_notables": len(r["benign_notables"]),
                     "neutral_notables": len(r["neutral_notables"]), "seconds": round(r["seconds"], 1)})
    total = {"dataset": "total"}
    for k, _ in COLUMNS[1:]:
        total[k] = round(sum(r[k] for r in rows), 1) if k == "seconds" else sum(r[k] for r in rows)
    return rows, total


def markdown_table(rows, total):
    out = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows + [total]:
        cells = [str(r[k]) for k, _ in COLUMNS]
        if r is total:
            cells = ["**%s**" % c for c in cells]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def text_report(results, ranking, dns, rows, total, markdown=False):
    lines = []
    if markdown:
        lines += [markdown_table(rows, total), ""]
    else:
        widths = [max([len(h)] + [len(str(r[k])) for r in rows + [total]]) for k, h in COLUMNS]
        lines.append("  ".join(h.ljust(w) for (_, h), w in zip(COLUMNS, widths)))
        for r in rows + [total]:
            lines.append("  ".join(str(r[k]).ljust(w) for (k, _), w in zip(COLUMNS, widths)))
        lines.append("")
    bullet = "- " if markdown else "  "
    for r in results:
        lines.append(("### " if markdown else "== ") + r["dataset"])
        for u in r["units"]:
            if u.get("absent"):
                lines.append("%sABSENT   %s" % (bullet, u["path"]))
            elif u.get("rc") not in (0, 3) or u.get("issues"):
                lines.append("%sREADER   %s: exit %s, %d input issue(s)%s" % (
                    bullet, u["path"], u.get("rc"), u.get("issues", 0),
                    ": " + u["first_issue"] if u.get("first_issue") else ""))
        for c in r["channels"].values():
            if c["detected"]:
                lines.append("%sDETECTED %s (%s): %s" % (bullet, c["id"], c["technique"], "; ".join(c["by"])))
        for c in r["channels"].values():
            if not c["detected"]:
                lines.append("%sMISSED   %s (%s): %s" % (bullet, c["id"], c["technique"], c.get("miss_reason")))
        for n in r["benign_notables"]:
            lines.append("%sBENIGN   %s: %s [%s]" % (bullet, n["unit"], n["signal"], n["entities"]))
        for n in r["neutral_notables"]:
            lines.append("%sNEUTRAL  %s: %s [%s] matches %s" % (bullet, n["unit"], n["signal"], n["entities"],
                                                              ",".join(n["matched"])))
        lines.append("")
    if ranking:
        lines.append(("### " if markdown else "== ")
                     + "RITA expected beacons (rank among the app's beacon rows, no threshold)")
        if markdown:
            lines += ["", "| expected beacon | unit | rank | rows | beacon_score | RITA score | top benign score "
                          "| above all benign | notable | met |", "|---|---|---|---|---|---|---|---|---|---|"]
        for x in ranking:
            vals = (x["id"], x.get("unit"), x.get("rank"), x.get("rows"), x.get("beacon_score"),
                    x.get("rita_score"), x.get("top_benign_score"), x.get("above_all_benign"), x.get("notable"),
                    x.get("met"))
            if markdown:
                lines.append("| " + " | ".join(str(v) for v in vals) + " |")
            else:
                lines.append("  %s in %s: rank %s of %s rows, beacon_score %s (RITA %s), top benign %s, "
                             "above all benign: %s, notable: %s, target met: %s" % vals)
        lines.append("")
    if dns:
        lines.append(("### " if markdown else "== ") + "DNS tunnel metric (netrack %s)" % dns.get("split"))
        if "error" in dns:
            lines.append(bullet + dns["error"])
        else:
            lines.append("%srecall %s, false-positive rate %s on %d tunnel / %d plain names replayed as sessions of %d "
                         "names per client (target recall >= %s at FPR <= %s: %s)"
                         % (bullet, dns["recall"], dns["fpr"], dns["tunnel_names"], dns["plain_names"],
                            dns["session_names"], dns["target"]["recall"], dns["target"]["fpr"],
                            "met" if dns["meets_target"] else "not met"))
            lines.append("%sall names of a class from one client: recall %s, FPR %s"
                         % (bullet, dns["one_client_per_class"]["recall"], dns["one_client_per_class"]["fpr"]))
            if "per_name" in dns:
                lines.append("%sper-name encoded-label rule alone: recall %s, FPR %s"
                             % (bullet, dns["per_name"]["recall"], dns["per_name"]["fpr"]))
            lines.append("%stunnel names not flagged, by domain: %s" % (bullet, ", ".join(
                "%s %d" % kv for kv in dns["missed_tunnel_domains"].items()) or "none"))
            lines.append("%splain names flagged: %s" % (bullet, ", ".join(dns["flagged_plain_names"]) or "none"))
        lines.append("")
    return "\n".join(lines)


def run(repo=DEFAULT_REPO, datasets_root=DEFAULT_DATASETS, names=None, python=None, log=print,
        dns_session=DNS_SESSION_NAMES, jobs=1):
    """The whole scoreboard as a dict (what ``--json`` writes)."""
    runner = AppRunner(repo, python)
    truth = load_ground_truth(names)
    results, ranking, dns = [], [], None
    t0 = time.monotonic()
    for name, doc in truth.items():
        root = Path(datasets_root) / name
        if not root.exists():
            log("%s: absent under %s" % (name, datasets_root))
            continue
        log("%s" % name)
        if doc.get("metric") == "dns_tunnel":
            dns = dns_metric(runner, doc, root, log, dns_session)
            continue
        results.append(evaluate_dataset(runner, doc, root, log, jobs))
        ranking += rita_ranking(runner, doc, root, log, results[-1])
    rows, total = summarise(results)
    return {"repo": str(runner.repo), "datasets_root": str(datasets_root), "results": results, "summary": rows,
            "total": total, "rita_ranking": ranking, "dns_tunnel": dns,
            "seconds": round(time.monotonic() - t0, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(DEFAULT_REPO), help="checkout whose app is evaluated (default: this one)")
    parser.add_argument("--datasets", default=str(DEFAULT_DATASETS), help="the shared datasets folder")
    parser.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    parser.add_argument("--python", default=None, help="interpreter for the runner (default: this one)")
    parser.add_argument("--dns-session", type=int, default=DNS_SESSION_NAMES,
                        help="names per replayed DNS client session in the netrack metric (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="units hunted at a time (default 1: the machine is shared; the seconds per unit "
                             "are wall time and grow with jobs)")
    parser.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the report as Markdown (for docs)")
    args = parser.parse_args(argv)
    if not Path(args.datasets).exists():
        sys.stderr.write("datasets folder %s absent\n" % args.datasets)
        return 2
    result = run(args.repo, args.datasets, args.dataset, args.python, log=lambda m: sys.stderr.write(m + "\n"),
                 dns_session=args.dns_session, jobs=args.jobs)
    sys.stdout.write(text_report(result["results"], result["rita_ranking"], result["dns_tunnel"],
                                 result["summary"], result["total"], markdown=args.markdown) + "\n")
    sys.stderr.write("total %.1f s\n" % result["seconds"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
