"""Metamorphic checks on the real datasets: the same telemetry, written differently, must give
the same detections.

    python benchmarks/metamorphic.py [--transform NAME ...] [--unit DATASET:PATH ...] [--repo PATH]

Held-out telemetry differs from ``../shared/datasets`` in ways that say nothing about C2: Zeek
logs as TSV or JSON, gzip, CRLF, one file or hourly rotated files, another year or time zone,
another private address plan, Windows events as an XML export instead of EVTX, captures with
another link type. Each transform here rewrites one unit of the scoreboard
(``benchmarks/detection_eval.py``) into a temporary folder (never into the repository), the
unit is hunted again through the same subprocess the scoreboard runs, and the outcome (the
labelled channels detected, the notables on benign traffic) is compared with the untransformed
run. A transform that renumbers addresses renumbers the ground truth with the same map.

Transforms (``TRANSFORMS``; ``--transform a+b`` applies a, then b to a's output):

- Zeek text: ``zeek_tsv_to_json``, ``zeek_json_to_tsv`` (the ``#fields``/``#types`` layouts
  of the real Zeek logs in the datasets), ``zeek_json_iso8601`` (``JSON::TS_ISO8601``),
  ``zeek_json_shuffled`` (field order), ``zeek_underscore_names`` (``id_orig_h``),
  ``zeek_tsv_other_layout`` (columns reordered per file, community_id/ip_proto/_node_name
  added), ``zeek_site_unset`` (no local_orig/local_resp), ``zeek_json_streaming`` (every log
  in one file with ``_path``), ``zeek_splunk_export`` / ``zeek_splunk_csv`` (Splunk JSON / CSV
  exports of ``_raw``), ``split_by_hour`` (Zeek's rotated names, each with its header),
  ``merge_files`` (the reverse), ``zeek_mixed_rotation`` (hours alternating TSV and JSON, a
  header-only hour);
- any text: ``gzip``, ``crlf``, ``utf16`` (UTF-16LE with a byte-order mark);
- time: ``shift_years`` (1,096 days on), ``shift_past_2038``, ``shift_dst_local_tz`` (onto the
  US daylight-saving change, hunted with ``TZ=America/New_York``); Zeek time fields, EVTX
  SystemTime/UtcTime, packet timestamps;
- addresses: ``renumber_private`` (each private /24 into another private block, last octet
  kept; public, loopback, link-local, CGNAT kept), ``renumber_private_ipv6`` (into
  ``fd00:a:b:c::d``), ``add_benign_hosts`` (each private host's records that match no
  channel repeated by three new hosts of its /24);
- Windows: ``evtx_to_xml`` (wevtutil), ``evtx_to_pretty_xml``, ``evtx_to_rendered_xml`` (Event
  Viewer's "Save as XML" with ``<RenderingInfo>``), ``xml_without_namespace``,
  ``evtx_to_classic_text`` (the TA's classic rendering, message templates of Sysmon and
  Security 4624/4688/5156/5158), ``evtx_to_wevtutil_text`` (``wevtutil qe /f:text``),
  ``evtx_to_winlogbeat``, ``evtx_to_nxlog``, ``evtx_to_splunk_json``;
- captures: ``pcap_raw_ip``, ``pcap_linux_sll``, ``pcap_vlan`` (802.1Q), ``pcap_fragment``
  (IPv4 payloads over 512 bytes as fragments), ``pcap_ns_bigendian`` (nanosecond, big-endian,
  snap length 65535), ``pcap_to_pcapng``.

Round 2, the forms a SOC hands over (each after the exporter's public description):

- Windows: ``evtx_dump_json`` (``evtx_dump -o json``: "Record <id>" and indented JSON),
  ``evtx_dump_jsonl`` (``-o jsonl --separate-json-attributes``, typed values),
  ``evtx_json_array`` (one indented array: Chainsaw, Kibana/Elasticsearch exports),
  ``evtx_to_eventviewer_csv`` (Event Viewer "Save as CSV");
- Zeek: ``zeek_filebeat_ecs`` (Filebeat's Zeek module in Elasticsearch, exported as hits),
  ``zeek_json_ts_millis`` (``JSON::TS_MILLIS``: time fields in whole milliseconds),
  ``zeek_tsv_other_header`` (other LogAscii separators and placeholders, no #open/#close),
  ``zeek_tsv_concatenated`` (every log in one file, one #path section after another),
  ``zeek_tsv_mode`` (LogAscii's ``tsv=T``: one line of column names, no other header);
- captures: ``pcap_snaplen_96``, ``pcap_span_duplicates`` (every packet twice),
  ``pcap_out_of_order`` (neighbours swapped, times going back), ``pcap_renumber_private``
  (addresses renumbered inside the packets, checksums and DNS A answers rewritten).

A transform that does not apply to a unit's files is reported as skipped. Some transforms
move details the app reads on purpose: a time shift ages a TLS
certificate past its validity (cert-no-cn's self-signed score rises 75 -> 85), more hosts make
a destination rarer (Remcos' beacon 70 -> 80); neither is counted as broken.
"""
import argparse
import gzip
import ipaddress
import json
import random
import re
import shutil
import struct
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import repo_paths  # noqa: F401  (the repository's import folders, as pytest has them)
import detection_eval as ev
from c2hunt_offline.readers.zeek import zeek_kind_from_name

# ----------------------------------------------------------------------------- Zeek text
ZEEK_HEADER_DEFAULTS = {"separator": "\t", "set_separator": ",", "empty_field": "(empty)", "unset_field": "-"}
NUMERIC_INT = ("count", "int", "port")
NUMERIC_FLOAT = ("time", "interval", "double")


def _unescape_separator(text):
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def zeek_kind(path):
    """The Zeek log a file holds, as the runner names it (conn for conn.log, conn.log.gz,
    conn.00:00:00-01:00:00.log.gz, conn.log.labeled, conn_json.log), so a rewritten file says
    the same ``#path`` / ``_path``."""
    return zeek_kind_from_name(path) or Path(path).name.split(".")[0]


def read_text(path):
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="surrogateescape")


def write_text(path, text):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(text.encode("utf-8", errors="surrogateescape"))


def is_zeek_tsv(text):
    start = text.lstrip()
    return start.startswith("#separator") or start.startswith("#fields")


def is_json_lines(text):
    return text.lstrip().startswith("{")


def parse_zeek_tsv(text):
    """[(fields, types, [row dict, ...])] per header block of a Zeek TSV log; a row dict maps
    each field to its text (unset fields are left out) with the header's separators applied."""
    blocks, header = [], dict(ZEEK_HEADER_DEFAULTS)
    fields = types = None
    rows = None
    for line in text.splitlines():
        if not line.strip():
            continue
        stripped = line.lstrip("\t ") if line.lstrip("\t ").startswith("#") else line
        if stripped.startswith("#"):
            parts = stripped[1:].split(header["separator"] if not stripped.startswith("#separator") else " ", 1)
            key = parts[0]
            value = parts[1] if len(parts) > 1 else ""
            if key == "separator":
                header["separator"] = _unescape_separator(value.strip())
            elif key in ("set_separator", "empty_field", "unset_field"):
                header[key] = value
            elif key == "fields":
                fields = value.split(header["separator"])
            elif key == "types":
                types = value.split(header["separator"])
                rows = []
                blocks.append((fields, types, rows, dict(header)))
            continue
        if fields is None or rows is None:
            continue
        values = line.split(header["separator"])
        rows.append({f: v for f, v in zip(fields, values) if v != header["unset_field"]})
    return blocks


def _zeek_value(text, ztype, header):
    """The JSON value Zeek's JSON writer gives for one TSV cell."""
    if ztype.startswith(("set[", "vector[", "table[")):
        if text == header["empty_field"]:
            return []
        inner = ztype[ztype.index("[") + 1:-1]
        return [_zeek_value(v, inner, header) for v in text.split(header["set_separator"])]
    if text == header["empty_field"] and ztype in ("string", "enum"):
        return ""
    try:
        if ztype in NUMERIC_INT:
            return int(text)
        if ztype in NUMERIC_FLOAT:
            return float(text)
    except ValueError:
        return text
    if ztype == "bool":
        return text == "T"
    return text


def json_records(text):
    """The JSON objects of JSON lines; a line that does not parse (a truncated log's last
    line) is left out, as the readers report and skip it."""
    out = []
    for line in text.splitlines():
        if line.strip().startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
    return out


def tsv_to_json_lines(text):
    """Zeek TSV -> Zeek JSON lines (one object a row, unset fields left out, typed values)."""
    out = []
    for fields, types, rows, header in parse_zeek_tsv(text):
        ztypes = dict(zip(fields, types))
        for row in rows:
            out.append(json.dumps({f: _zeek_value(v, ztypes.get(f, "string"), header) for f, v in row.items()},
                                  separators=(",", ":")))
    return "\n".join(out) + "\n"


def zeek_layouts(roots):
    """{log kind: [(field, type), ...]} from every Zeek TSV header under ``roots`` (the real
    layouts of the datasets: Zeek 2.x to 6.x, RITA's and Slips' sensors), first seen wins."""
    layouts = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or path.stat().st_size > 5_000_000 or ".log" not in path.name:
                continue
            with open(path, "rb") as handle:
                head = handle.read(4096)
            if head[:2] == b"\x1f\x8b":
                try:
                    head = gzip.decompress(path.read_bytes())[:4096]
                except (OSError, EOFError):
                    continue
            text = head.decode("utf-8", errors="replace")
            if not is_zeek_tsv(text):
                continue
            kind = zeek_kind(path)
            if kind in layouts:
                continue
            for fields, types, _, _ in parse_zeek_tsv(text)[:1]:
                layouts[kind] = list(zip(fields, types))
    return layouts


def _guess_type(name, value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "port" if name.endswith("_p") else "count"
    if isinstance(value, float):
        return "time" if name == "ts" or name.endswith("_ts") else "interval"
    if isinstance(value, list):
        return "vector[string]"
    return "string"


def _tsv_cell(value, ztype, header):
    if value is None:
        return header["unset_field"]
    if isinstance(value, list):
        if not value:
            return header["empty_field"]
        inner = ztype[ztype.index("[") + 1:-1] if "[" in ztype else "string"
        return header["set_separator"].join(_tsv_cell(v, inner, header).replace(",", "\\x2c") for v in value)
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        return "%.6f" % value
    text = str(value)
    if text == "":
        return header["empty_field"]
    return text.replace("\t", "\\x09")


def json_lines_to_tsv(text, kind, layouts, opened="2024-01-01-00-00-00"):
    """Zeek JSON lines -> Zeek TSV with the real layout of ``kind`` (fields in its order, its
    types), fields the layout lacks appended with a guessed type."""
    records = json_records(text)
    layout = list(layouts.get(kind, []))
    present = set().union(*records) if records else set()
    fields = [(f, t) for f, t in layout if f in present] if records else layout
    known = {f for f, _ in fields}
    for record in records:
        for name, value in record.items():
            if name not in known:
                fields.append((name, _guess_type(name, value)))
                known.add(name)
    header = dict(ZEEK_HEADER_DEFAULTS)
    lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
             "#path\t%s" % kind, "#open\t%s" % opened,
             "#fields\t" + "\t".join(f for f, _ in fields), "#types\t" + "\t".join(t for _, t in fields)]
    for record in records:
        lines.append("\t".join(_tsv_cell(record.get(f), t, header) for f, t in fields))
    lines.append("#close\t%s" % opened)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- time
def _time_fields(kind, layouts):
    return {f for f, t in layouts.get(kind, []) if t == "time"} | {"ts"}


def shift_zeek_text(text, seconds, kind, layouts):
    """Zeek TSV or JSON lines with every ``time`` field (and #open/#close) moved by ``seconds``."""
    if is_json_lines(text):
        out = []
        names = _time_fields(kind, layouts)
        for record in json_records(text):
            for name in names & set(record):
                if isinstance(record[name], (int, float)) and not isinstance(record[name], bool):
                    record[name] = record[name] + seconds
            out.append(json.dumps(record, separators=(",", ":")))
        return "\n".join(out) + "\n"
    out, sep, timed = [], "\t", set()
    for line in text.splitlines():
        bare = line.lstrip("\t ")
        if bare.startswith("#separator"):
            sep = _unescape_separator(bare.split(" ", 1)[1].strip())
        elif bare.startswith("#types"):
            timed = {i for i, t in enumerate(bare.split(sep)[1:]) if t == "time"}
        elif bare.startswith(("#open", "#close")):
            key, _, stamp = bare.partition(sep)
            try:
                moved = datetime.strptime(stamp.strip(), "%Y-%m-%d-%H-%M-%S").timestamp() + seconds
                line = key + sep + datetime.fromtimestamp(moved, timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
            except ValueError:
                pass
        elif not bare.startswith("#") and line.strip() and timed:
            cells = line.split(sep)
            for i in timed:
                if i < len(cells):
                    try:
                        cells[i] = "%.6f" % (float(cells[i]) + seconds)
                    except ValueError:
                        pass
            line = sep.join(cells)
        out.append(line)
    return "\n".join(out) + "\n"


def first_time(texts, kinds, layouts):
    """The earliest ``ts`` of the Zeek texts (None when none)."""
    best = None
    for text, kind in zip(texts, kinds):
        for line in text.splitlines()[:2000]:
            value = None
            if line.lstrip().startswith("{"):
                value = (json_records(line) or [{}])[0].get("ts")
            elif not line.lstrip().startswith("#") and line.strip():
                continue
            if isinstance(value, (int, float)):
                best = value if best is None else min(best, value)
    for text in texts:
        if is_zeek_tsv(text):
            for fields, types, rows, _ in parse_zeek_tsv(text):
                if "ts" in fields:
                    for row in rows[:2000]:
                        try:
                            v = float(row.get("ts", "x"))
                        except ValueError:
                            continue
                        best = v if best is None else min(best, v)
    return best


# ----------------------------------------------------------------------------- addresses
PRIVATE_BLOCKS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d])")


class PrivateRenumbering(object):
    """A consistent map of private IPv4 addresses into another private block: 192.168.c.d ->
    10.168.c.d, 10.a.c.d -> 172.(16+k).c.d (k counts the distinct second octets), 172.b.c.d
    -> 192.168.k.d (k counts the distinct /24s). /24 neighbours stay neighbours and keep their
    last octet; public, loopback, link-local and CGNAT addresses are kept."""

    def __init__(self):
        self.tens, self.one72 = {}, {}

    def address(self, text):
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            return text
        o = [int(x) for x in text.split(".")]
        if ip in PRIVATE_BLOCKS[2]:
            return "10.168.%d.%d" % (o[2], o[3])
        if ip in PRIVATE_BLOCKS[0]:
            k = self.tens.setdefault(o[1], len(self.tens) % 16)
            return "172.%d.%d.%d" % (16 + k, o[2], o[3])
        if ip in PRIVATE_BLOCKS[1]:
            k = self.one72.setdefault((o[1], o[2]), len(self.one72) % 256)
            return "192.168.%d.%d" % (k, o[3])
        return text

    def text(self, text):
        return _IPV4.sub(lambda m: self.address(m.group(0)), text)


class PrivateToIpv6(PrivateRenumbering):
    """Private IPv4 a.b.c.d -> IPv6 unique local fd00:a:b:c::d (a /24 becomes a /64, so
    neighbours stay neighbours); other addresses kept."""

    def address(self, text):
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            return text
        if not any(ip in block for block in PRIVATE_BLOCKS):
            return text
        a, b, c, d = (int(x) for x in text.split("."))
        return str(ipaddress.IPv6Address("fd00:%x:%x:%x::%x" % (a, b, c, d)))


def renumber_truth(doc, mapper):
    """The ground truth with src and dest renumbered (ids and domains unchanged)."""
    doc = json.loads(json.dumps(doc))
    for entry in doc.get("channels", []) + doc.get("neutral", []):
        if entry.get("src"):
            entry["src"] = mapper.address(entry["src"])
        if entry.get("dest"):
            entry["dest"] = [mapper.address(d) for d in entry["dest"]]
    return doc


# ----------------------------------------------------------------------------- EVTX
def evtx_xml_records(path):
    """The XML of each record of an EVTX file (the Rust parser's rendering)."""
    import evtx as rust_evtx
    out = []
    for record in rust_evtx.PyEvtxParser(str(path)).records():
        xml = record["data"]
        out.append(re.sub(r"^<\?xml[^>]*\?>\s*", "", xml))
    return out


def _wevtutil_style(xml):
    """One line, single-quoted attributes, as ``wevtutil qe /f:xml`` prints an event."""
    xml = re.sub(r">\s+<", "><", xml.strip())
    return re.sub(r'(\s[\w:]+)="([^"]*)"', r"\1='\2'", xml)


# ----------------------------------------------------------------------------- captures
def read_capture(path):
    """(linktype, [(seconds, fraction in ns, bytes), ...]) of a pcap or pcapng file."""
    import dpkt
    with open(path, "rb") as handle:
        reader = dpkt.pcap.UniversalReader(handle)
        linktype = reader.datalink()
        packets = []
        for ts, buf in reader:
            ns = int(round(float(ts) * 1e9))
            packets.append((ns // 1_000_000_000, ns % 1_000_000_000, bytes(buf)))
    return linktype, packets


def _strip_ethernet(frame):
    """(ethertype, network-layer bytes) of an Ethernet frame (802.1Q tags skipped)."""
    if len(frame) < 14:
        return 0, b""
    ethertype, at = struct.unpack("!H", frame[12:14])[0], 14
    while ethertype in (0x8100, 0x88A8) and len(frame) >= at + 4:
        ethertype, at = struct.unpack("!H", frame[at + 2:at + 4])[0], at + 4
    return ethertype, frame[at:]


def write_pcap(path, linktype, packets, nanosecond=False, big_endian=False, snaplen=262144):
    end = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    with open(path, "wb") as out:
        out.write(struct.pack(end + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for sec, ns, data in packets:
            frac = ns if nanosecond else ns // 1000
            kept = data[:snaplen]    # the original length stays: a short snap length cuts, not shrinks
            out.write(struct.pack(end + "IIII", sec, frac, len(kept), len(data)) + kept)


def write_pcapng(path, linktype, packets):
    def block(kind, body):
        body += b"\x00" * (-len(body) % 4)
        size = len(body) + 12
        return struct.pack("<II", kind, size) + body + struct.pack("<I", size)
    with open(path, "wb") as out:
        out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        out.write(block(1, struct.pack("<HHI", linktype, 0, 262144)))   # microsecond ticks (default)
        for sec, ns, data in packets:
            ticks = sec * 1_000_000 + ns // 1000
            out.write(block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
                            + data))


def relink(linktype, packets, target):
    """Ethernet frames re-framed as ``target`` (101 raw IP, 113 Linux cooked); other link
    types are returned unchanged (None: the transform does not apply)."""
    if linktype != 1:
        return None
    out = []
    for sec, ns, frame in packets:
        ethertype, payload = _strip_ethernet(frame)
        if target == 101:
            if ethertype not in (0x0800, 0x86DD):
                continue              # raw IP carries IP only (ARP, LLDP dropped: not IP anyway)
            out.append((sec, ns, payload))
        else:
            sll = struct.pack("!HHH8sH", 0, 1, 6, frame[6:12] + b"\x00\x00", ethertype)
            out.append((sec, ns, sll + payload))
    return out


# ----------------------------------------------------------------------------- transforms
LAYOUT_ROOTS = ("rita-test-data", "slips-cc-beacons", "slips-dataset-extra")


class Context(object):
    """What a transform may use: the datasets root, the real Zeek layouts, a seed."""

    def __init__(self, datasets):
        self.datasets = Path(datasets)
        self._layouts = None
        self.rng = random.Random(7)

    @property
    def layouts(self):
        if self._layouts is None:
            self._layouts = zeek_layouts([self.datasets / r for r in LAYOUT_ROOTS if (self.datasets / r).exists()])
        return self._layouts


def _files(inputs):
    """Every file of the unit's inputs (folders walked), with its name relative to its root."""
    out = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            out += [(f, f.relative_to(p)) for f in sorted(p.rglob("*")) if f.is_file()]
        else:
            out.append((p, Path(p.name)))
    return out


def _plain_name(rel):
    return rel.with_name(rel.name[:-3]) if rel.name.endswith(".gz") else rel


# pcap in either byte order, micro- or nanosecond, and pcapng
CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")


def _head(path):
    """A file's first four bytes (its magic), without reading the rest of it."""
    with open(path, "rb") as handle:
        return handle.read(4)


def _per_text_file(fn):
    """A transform applied to each text file alone: fn(text, rel, ctx) -> [(rel, text)] or
    None (file copied unchanged). Returns (paths, truth map, env) or None when nothing changed."""
    def transform(inputs, out, ctx):
        changed = False
        for path, rel in _files(inputs):
            head = _head(path)
            if head in CAPTURE_MAGICS + (b"ElfF",):
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out / rel)
                continue
            result = fn(read_text(path), _plain_name(rel), ctx)
            if result is None:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out / rel)
                continue
            changed = True
            for new_rel, text in result:
                if isinstance(text, bytes):
                    (out / new_rel).parent.mkdir(parents=True, exist_ok=True)
                    (out / new_rel).write_bytes(text)
                else:
                    write_text(out / new_rel, text)
        return ([out], None, None) if changed else None
    return transform


@_per_text_file
def zeek_tsv_to_json(text, rel, ctx):
    if not is_zeek_tsv(text):
        return None
    return [(rel, tsv_to_json_lines(text))]


@_per_text_file
def zeek_json_to_tsv(text, rel, ctx):
    if not is_json_lines(text) or not text.lstrip().startswith('{"') or '"ts"' not in text[:2000]:
        return None
    return [(rel, json_lines_to_tsv(text, zeek_kind(rel), ctx.layouts))]


def _zeek_times_rewritten(text, rel, ctx, write):
    """A Zeek log (TSV or JSON) as JSON lines with every numeric time field ``write(seconds)``
    (None: not a Zeek log)."""
    if is_zeek_tsv(text):
        text = tsv_to_json_lines(text)
    elif not is_json_lines(text) or '"ts"' not in text[:2000]:
        return None
    names = _time_fields(zeek_kind(rel), ctx.layouts)
    out = []
    for record in json_records(text):
        for name in names & set(record):
            v = record[name]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                record[name] = write(v)
        out.append(json.dumps(record, separators=(",", ":")))
    return [(rel, "\n".join(out) + "\n")]


@_per_text_file
def zeek_json_iso8601(text, rel, ctx):
    """Zeek's JSON::TS_ISO8601: every time field as ``2018-01-30T18:14:00.123456Z``."""
    return _zeek_times_rewritten(
        text, rel, ctx, lambda v: datetime.fromtimestamp(v, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


@_per_text_file
def zeek_json_ts_millis(text, rel, ctx):
    """Zeek's ``LogAscii::json_timestamps = JSON::TS_MILLIS``: every time field as whole
    milliseconds since the epoch (the setting for Elasticsearch ingestion)."""
    return _zeek_times_rewritten(text, rel, ctx, lambda v: int(round(v * 1000)))


@_per_text_file
def zeek_json_shuffled(text, rel, ctx):
    if is_zeek_tsv(text):
        text = tsv_to_json_lines(text)
    elif not is_json_lines(text):
        return None
    out = []
    for record in json_records(text):
        items = list(record.items())
        ctx.rng.shuffle(items)
        out.append(json.dumps(dict(items)))
    return [(rel, "\n".join(out) + "\n")]


@_per_text_file
def gzip_files(text, rel, ctx):
    return [(rel.with_name(rel.name + ".gz"), gzip.compress(text.encode("utf-8", errors="surrogateescape"),
                                                            mtime=0))]


@_per_text_file
def utf16(text, rel, ctx):
    """UTF-16LE with a byte-order mark, as Windows PowerShell 5 redirects and Event Viewer's
    Unicode text save (chain it after evtx_to_xml or evtx_to_classic_text)."""
    return [(rel, b"\xff\xfe" + text.encode("utf-16-le", errors="surrogatepass"))]


@_per_text_file
def zeek_underscore_names(text, rel, ctx):
    """Zeek with ``Log::default_scope_sep = "_"``: record fields flattened as ``id_orig_h``."""
    if is_zeek_tsv(text):
        return [(rel, "\n".join("\t".join(c.replace(".", "_") for c in line.split("\t"))
                                if line.lstrip("\t ").startswith("#fields") else line
                                for line in text.splitlines()) + "\n")]
    if is_json_lines(text) and '"ts"' in text[:2000]:
        return [(rel, "\n".join(json.dumps({k.replace(".", "_"): v for k, v in record.items()})
                                for record in json_records(text)) + "\n")]
    return None


@_per_text_file
def xml_without_namespace(text, rel, ctx):
    """Windows XML without the event namespace (``<Event>``), as some converters write it."""
    if "<Event" not in text[:4096]:
        return None
    return [(rel, re.sub(r"<Event xmlns=['\"][^'\"]*['\"]>", "<Event>", text))]


@_per_text_file
def crlf(text, rel, ctx):
    return [(rel, "\r\n".join(text.splitlines()) + "\r\n")]


@_per_text_file
def split_by_hour(text, rel, ctx):
    """Zeek's hourly rotation: ``conn.HH:00:00-HH+1:00:00.log`` per hour, each with the header."""
    if is_zeek_tsv(text):
        head = [line for line in text.splitlines() if line.lstrip("\t ").startswith("#") and
                not line.lstrip("\t ").startswith("#close")]
        head = [h for h in head if not h.lstrip("\t ").startswith("#close")]
        # one header (the first block's) then rows grouped by hour of their ts column
        blocks = parse_zeek_tsv(text)
        if not blocks or "ts" not in blocks[0][0]:
            return None
        sep = blocks[0][3]["separator"]
        idx = blocks[0][0].index("ts")
        header_lines = []
        for line in text.splitlines():
            if line.lstrip("\t ").startswith("#") and not line.lstrip("\t ").startswith("#close"):
                header_lines.append(line)
            elif line.strip():
                break
        groups = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip("\t ").startswith("#"):
                continue
            try:
                hour = int(float(line.split(sep)[idx]) // 3600)
            except (ValueError, IndexError):
                hour = -1
            groups.setdefault(hour, []).append(line)
        del head
        return [(_rotated(rel, hour), "\n".join(header_lines + rows) + "\n") for hour, rows in groups.items()]
    if is_json_lines(text) and '"ts"' in text[:2000]:
        groups = {}
        for record in json_records(text):
            ts = record.get("ts")
            hour = int(ts // 3600) if isinstance(ts, (int, float)) else -1
            groups.setdefault(hour, []).append(json.dumps(record))
        return [(_rotated(rel, hour), "\n".join(rows) + "\n") for hour, rows in groups.items()]
    return None


def _rotated(rel, hour):
    kind = zeek_kind(rel)
    if hour < 0:
        return rel
    start = datetime.fromtimestamp(hour * 3600, timezone.utc)
    day = start.strftime("%Y-%m-%d")
    stop = datetime.fromtimestamp((hour + 1) * 3600, timezone.utc)
    end = stop.strftime("%H:%M:%S") if stop.day == start.day else "24:00:00"
    return rel.parent / day / ("%s.%s-%s.log" % (kind, start.strftime("%H:%M:%S"), end))


def merge_files(inputs, out, ctx):
    """Rotated logs of one kind concatenated into one ``<kind>.log`` (every header kept, as
    ``zcat conn.*.log.gz > conn.log`` gives)."""
    merged, changed = {}, False
    for path, rel in _files(inputs):
        kind = zeek_kind(rel)
        if kind in merged:
            changed = True
        merged.setdefault(kind, []).append(read_text(path))
    if not changed:
        return None
    for kind, texts in merged.items():
        write_text(out / ("%s.log" % kind), "".join(t if t.endswith("\n") else t + "\n" for t in texts))
    return [out], None, None


SHIFT_YEARS_DAYS = 3 * 365 + 1     # about three years on, not a whole number of weeks
DST_TARGET = datetime(2025, 11, 2, 5, 30, tzinfo=timezone.utc).timestamp()   # US DST ends at 06:00 UTC


def _shift(inputs, out, ctx, seconds_for):
    files = _files(inputs)
    texts, kinds = [], []
    for path, rel in files:
        head = _head(path)
        if head in CAPTURE_MAGICS:
            texts.append(None)
        elif head == b"ElfF":
            texts.append(None)
        else:
            texts.append(read_text(path))
        kinds.append(zeek_kind(_plain_name(rel)))
    start = first_time([t for t in texts if t], [k for t, k in zip(texts, kinds) if t], ctx.layouts)
    if start is None and all(t is not None for t in texts):
        return None
    for (path, rel), text, kind in zip(files, texts, kinds):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            if start is None:
                shutil.copyfile(path, target)
                continue
            data = shift_zeek_text(text, seconds_for(start), kind, ctx.layouts)
            if rel.name.endswith(".gz"):
                target.write_bytes(gzip.compress(data.encode("utf-8", errors="surrogateescape"), mtime=0))
            else:
                write_text(target, data)
            continue
        if _head(path) == b"ElfF":
            records = [_wevtutil_style(x) for x in evtx_xml_records(path)]
            stamps = [_xml_time(m.group(0)) for x in records for m in _XML_TIME.finditer(x)]
            if not stamps:
                return None
            delta = seconds_for(min(stamps))
            write_text(target.with_suffix(".xml"), "\n".join(
                _XML_TIME.sub(lambda m: _restamp(m.group(0), delta), x) for x in records) + "\n")
            continue
        linktype, packets = read_capture(path)
        if not packets:
            return None
        first = min(p[0] for p in packets)
        delta = int(seconds_for(first))
        write_pcap(target.with_suffix(".pcap"), linktype, [(s + delta, ns, d) for s, ns, d in packets])
        if target.suffix != ".pcap":
            pass
    return [out], None, None


_XML_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?Z?")


def _xml_time(text):
    """Epoch seconds of an EVTX time (SystemTime, Sysmon's UtcTime), read as UTC."""
    date, _, clock = text.rstrip("Z").replace("T", " ").partition(" ")
    whole, _, frac = clock.partition(".")
    moment = datetime.strptime(date + " " + whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return moment.timestamp() + (float("0." + frac) if frac else 0.0)


def _restamp(text, delta):
    """An EVTX time moved by ``delta`` seconds, in its own layout (``T`` or space, ``Z`` or
    none, as many fraction digits)."""
    frac = len(text.rstrip("Z").partition(".")[2])
    moment = datetime.fromtimestamp(_xml_time(text) + delta, timezone.utc)
    out = moment.strftime("%Y-%m-%d" + ("T" if "T" in text else " ") + "%H:%M:%S")
    if frac:
        out += "." + ("%09d" % (moment.microsecond * 1000))[:frac]
    return out + ("Z" if text.endswith("Z") else "")


def _xml_stamp(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _whole_days_to(target):
    return lambda start: round((target - start) / 86400.0) * 86400


def shift_years(inputs, out, ctx):
    return _shift(inputs, out, ctx, lambda start: SHIFT_YEARS_DAYS * 86400)


PAST_2038 = datetime(2039, 6, 1, tzinfo=timezone.utc).timestamp()   # past the signed 32-bit epoch


def shift_past_2038(inputs, out, ctx):
    return _shift(inputs, out, ctx, _whole_days_to(PAST_2038))


def shift_dst_local_tz(inputs, out, ctx):
    result = _shift(inputs, out, ctx, _whole_days_to(DST_TARGET))
    if result is None:
        return None
    return result[0], None, {"TZ": "America/New_York"}


def renumber_private(inputs, out, ctx):
    """Every private IPv4 address (in Zeek text and Windows XML) moved by PrivateRenumbering."""
    return _renumber(inputs, out, PrivateRenumbering())


def _renumber(inputs, out, mapper):
    changed = False
    for path, rel in _files(inputs):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        head = _head(path)
        if head == b"ElfF":
            text = "\n".join(_wevtutil_style(x) for x in evtx_xml_records(path)) + "\n"
            target = target.with_suffix(".xml")
        elif head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a"):
            return None                      # captures: addresses sit in checksummed headers
        else:
            text = read_text(path)
        new = mapper.text(text)
        changed |= new != text
        if rel.name.endswith(".gz"):
            target.write_bytes(gzip.compress(new.encode("utf-8", errors="surrogateescape"), mtime=0))
        else:
            write_text(target, new)
    return ([out], mapper, None) if changed else None


def renumber_private_ipv6(inputs, out, ctx):
    """Every private IPv4 address moved to an IPv6 unique local address (PrivateToIpv6)."""
    return _renumber(inputs, out, PrivateToIpv6())


def _zeek_records(inputs):
    """[(kind, [record, ...])] of every Zeek file of the unit (TSV read as Zeek's JSON), or
    None when a file is not Zeek text."""
    out = []
    for path, rel in _files(inputs):
        text = read_text(path)
        if is_zeek_tsv(text):
            text = tsv_to_json_lines(text)
        elif not is_json_lines(text):
            return None
        out.append((zeek_kind(_plain_name(rel)),
                    json_records(text)))
    return out


def zeek_json_streaming(inputs, out, ctx):
    """Every log of the unit in one file, each record naming its log in ``_path`` (and the
    ``_write_ts`` the json-streaming-logs package adds), under a name that says nothing."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    lines = []
    for kind, records in logs:
        for record in records:
            lines.append(json.dumps(dict({"_path": kind, "_write_ts": record.get("ts")}, **record),
                                    separators=(",", ":")))
    write_text(out / "zeek-export.json", "\n".join(lines) + "\n")
    return [out / "zeek-export.json"], None, None


def zeek_splunk_export(inputs, out, ctx):
    """A Splunk search export (``| table _raw sourcetype``, JSON) of the unit's Zeek JSON events
    under the Zeek TA's ``bro:<log>:json`` sourcetypes, all in one file."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    lines = []
    for kind, records in logs:
        for record in records:
            lines.append(json.dumps({"preview": False, "result": {
                "_raw": json.dumps(record, separators=(",", ":")), "sourcetype": "bro:%s:json" % kind}}))
    write_text(out / "splunk-export.json", "\n".join(lines) + "\n")
    return [out / "splunk-export.json"], None, None


def zeek_splunk_csv(inputs, out, ctx):
    """Splunk's "Export results as CSV" of ``| table _time _raw sourcetype host source`` over
    the unit's Zeek JSON events (bro:<log>:json), all in one file."""
    import csv
    import io
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["_time", "_raw", "sourcetype", "host", "source"])
    for kind, records in logs:
        for record in records:
            ts = record.get("ts")
            when = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") \
                if isinstance(ts, (int, float)) else ""
            writer.writerow([when, json.dumps(record, separators=(",", ":")), "bro:%s:json" % kind, "sensor",
                             "/opt/zeek/logs/current/%s.log" % kind])
    write_text(out / "splunk-export.csv", buffer.getvalue())
    return [out / "splunk-export.csv"], None, None


SITE_FIELDS = ("local_orig", "local_resp")


def zeek_site_unset(inputs, out, ctx):
    """Zeek without ``Site::local_nets``: conn's local_orig/local_resp unset (left out)."""
    logs = _zeek_records(inputs)
    if logs is None or not any(f in r for _, rs in logs for r in rs for f in SITE_FIELDS):
        return None
    for n, (kind, records) in enumerate(logs):
        text = "\n".join(json.dumps({k: v for k, v in r.items() if k not in SITE_FIELDS}) for r in records)
        write_text(out / ("%s.%d.log" % (kind, n)), text + "\n")
    return [out], None, None


BENIGN_CLONES = 3


def add_benign_hosts(inputs, out, ctx, truth_entries=()):
    """More hosts around the channel: each private originator's records that match no labelled
    channel or neutral entry are repeated by BENIGN_CLONES new hosts of its /24 (a last octet
    the unit does not use), shifted by a few seconds so no two rows are the same."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    used = set()
    for _, records in logs:
        for r in records:
            for key in ("id.orig_h", "id.resp_h"):
                if isinstance(r.get(key), str):
                    used.add(r[key])
    fresh = {}

    def clone_of(host, i):
        key = (host, i)
        if key not in fresh:
            prefix = host.rsplit(".", 1)[0]
            for last in range(254, 1, -1):
                candidate = "%s.%d" % (prefix, last)
                if candidate not in used:
                    used.add(candidate)
                    fresh[key] = candidate
                    break
        return fresh.get(key)

    added = 0
    for n, (kind, records) in enumerate(logs):
        extra = []
        for r in records:
            host = r.get("id.orig_h")
            try:
                private = isinstance(host, str) and any(ipaddress.ip_address(host) in b for b in PRIVATE_BLOCKS)
            except ValueError:
                private = False
            if not private or any(ev.matches(e, ev.entities(r)) for e in truth_entries):
                continue
            for i in range(BENIGN_CLONES):
                new = clone_of(host, i)
                if new is None:
                    continue
                copy = dict(r, **{"id.orig_h": new})
                if isinstance(copy.get("uid"), str):
                    copy["uid"] = copy["uid"] + "x%d" % i
                if isinstance(copy.get("ts"), (int, float)):
                    copy["ts"] = copy["ts"] + 0.5 * (i + 1)
                extra.append(copy)
        added += len(extra)
        records = sorted(records + extra, key=lambda r: r.get("ts") if isinstance(r.get("ts"), (int, float)) else 0)
        write_text(out / ("%s.%d.log" % (kind, n)), "\n".join(json.dumps(r) for r in records) + "\n")
    return ([out], None, None) if added else None


EXTRA_COLUMNS = (("community_id", "string"), ("ip_proto", "count"), ("_node_name", "string"))


def zeek_tsv_other_layout(inputs, out, ctx):
    """Each file in another Zeek version's layout: its columns in another order (a different
    one per file) with columns other versions and packages add (community_id, ip_proto,
    _node_name) unset or filled, as a site that upgraded Zeek mid-collection has."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    for n, (kind, records) in enumerate(logs):
        layout = dict(ctx.layouts.get(kind, []))
        names = list(dict.fromkeys(k for r in records for k in r))
        types = [(f, layout.get(f) or _guess_type(f, next(r[f] for r in records if f in r))) for f in names]
        types += [e for e in EXTRA_COLUMNS if e[0] not in names]
        random.Random(n).shuffle(types)
        layouts = {kind: types}
        filled = [dict(r, _node_name="worker-%d" % (n % 3)) for r in records]
        write_text(out / ("%s.%d.log" % (kind, n)), json_lines_to_tsv(
            "\n".join(json.dumps(r) for r in filled), kind, layouts))
    return [out], None, None


def zeek_mixed_rotation(inputs, out, ctx):
    """Hourly rotated files where the sensor's output changes format: even hours Zeek TSV, odd
    hours Zeek JSON, and an empty hour written as a header-only TSV file."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    wrote = False
    for kind, records in logs:
        hours = {}
        for r in records:
            ts = r.get("ts")
            hours.setdefault(int(ts // 3600) if isinstance(ts, (int, float)) else -1, []).append(r)
        for hour, rows in sorted(hours.items()):
            name = _rotated(Path("%s.log" % kind), hour)
            text = "\n".join(json.dumps(r) for r in rows) + "\n"
            if hour % 2 == 0 or hour < 0:
                text = json_lines_to_tsv(text, kind, ctx.layouts)
            write_text(out / name, text)
        last = max(hours, default=-1)
        if last >= 0:
            empty = json_lines_to_tsv("", kind, ctx.layouts) if kind in ctx.layouts else ""
            if empty:
                write_text(out / _rotated(Path("%s.log" % kind), last + 1), empty)
        wrote = True
    return ([out], None, None) if wrote else None


def _evtx_export(inputs, out, suffix, render):
    """Each EVTX input written as ``render(its XML records)`` to its relative path under ``out``
    with ``suffix`` (the transform's result), or None when an input is not EVTX."""
    paths = []
    for path, rel in _files(inputs):
        if _head(path) != b"ElfF":
            return None
        target = (out / rel).with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, render(list(evtx_xml_records(path))))
        paths.append(target)
    return (paths, None, None) if paths else None


def evtx_to_xml(inputs, out, ctx):
    return _evtx_export(inputs, out, ".xml", lambda records: "\r\n".join(_wevtutil_style(x) for x in records) + "\r\n")


def evtx_to_pretty_xml(inputs, out, ctx):
    """An XML export pretty-printed (an element a line, indented, as XML tools and the EVTX
    parsers print it), empty Data elements self-closed (``<Data Name="RuleName"/>``)."""
    def render(records):
        records = [re.sub(r'(<Data Name="[^"]*")></Data>', r"\1/>", x) for x in records]
        return '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n' + "\n".join(records) + "\n</Events>\n"
    return _evtx_export(inputs, out, ".xml", render)


def evtx_to_splunk_json(inputs, out, ctx):
    def render(records):
        return "\n".join(json.dumps({"preview": False, "result": {"_raw": _wevtutil_style(xml), "sourcetype": "XmlWinEventLog",
                                                                   "source": "XmlWinEventLog:Security"}})
                         for xml in records) + "\n"
    return _evtx_export(inputs, out, ".json", render)


SYSMON_TITLES = {"1": "Process Create:", "3": "Network connection detected:", "5": "Process terminated:",
                 "6": "Driver loaded:", "7": "Image loaded:", "10": "Process accessed:", "11": "File created:",
                 "12": "Registry object added or deleted:", "13": "Registry value set:", "18": "Pipe Connected:",
                 "22": "Dns query:"}
# Security messages as Windows renders them (labels and sections of the event's message
# template); %%codes resolved as the Event Log service does for en-US.
SECURITY_TEMPLATES = {
    "5156": ("The Windows Filtering Platform has permitted a connection.", [
        ("Application Information", [("Process ID", "ProcessID"), ("Application Name", "Application")]),
        ("Network Information", [("Direction", "Direction"), ("Source Address", "SourceAddress"),
                                 ("Source Port", "SourcePort"), ("Destination Address", "DestAddress"),
                                 ("Destination Port", "DestPort"), ("Protocol", "Protocol")]),
        ("Filter Information", [("Filter Run-Time ID", "FilterRTID"), ("Layer Name", "LayerName"),
                                ("Layer Run-Time ID", "LayerRTID")])]),
    "5158": ("The Windows Filtering Platform has permitted a bind to a local port.", [
        ("Application Information", [("Process ID", "ProcessId"), ("Application Name", "Application")]),
        ("Network Information", [("Source Address", "SourceAddress"), ("Source Port", "SourcePort"),
                                 ("Protocol", "Protocol")]),
        ("Filter Information", [("Filter Run-Time ID", "FilterRTID"), ("Layer Name", "LayerName"),
                                ("Layer Run-Time ID", "LayerRTID")])]),
    "4624": ("An account was successfully logged on.", [
        ("Subject", [("Security ID", "SubjectUserSid"), ("Account Name", "SubjectUserName"),
                     ("Account Domain", "SubjectDomainName"), ("Logon ID", "SubjectLogonId")]),
        ("Logon Information", [("Logon Type", "LogonType"), ("Restricted Admin Mode", "RestrictedAdminMode"),
                               ("Virtual Account", "VirtualAccount"), ("Elevated Token", "ElevatedToken")]),
        ("", [("Impersonation Level", "ImpersonationLevel")]),
        ("New Logon", [("Security ID", "TargetUserSid"), ("Account Name", "TargetUserName"),
                       ("Account Domain", "TargetDomainName"), ("Logon ID", "TargetLogonId"),
                       ("Linked Logon ID", "TargetLinkedLogonId"), ("Logon GUID", "LogonGuid")]),
        ("Process Information", [("Process ID", "ProcessId"), ("Process Name", "ProcessName")]),
        ("Network Information", [("Workstation Name", "WorkstationName"),
                                 ("Source Network Address", "IpAddress"), ("Source Port", "IpPort")]),
        ("Detailed Authentication Information", [("Logon Process", "LogonProcessName"),
                                                 ("Authentication Package", "AuthenticationPackageName"),
                                                 ("Transited Services", "TransmittedServices"),
                                                 ("Package Name (NTLM only)", "LmPackageName"),
                                                 ("Key Length", "KeyLength")])]),
    "4688": ("A new process has been created.", [
        ("Creator Subject", [("Security ID", "SubjectUserSid"), ("Account Name", "SubjectUserName"),
                             ("Account Domain", "SubjectDomainName"), ("Logon ID", "SubjectLogonId")]),
        ("Target Subject", [("Security ID", "TargetUserSid"), ("Account Name", "TargetUserName"),
                            ("Account Domain", "TargetDomainName"), ("Logon ID", "TargetLogonId")]),
        ("Process Information", [("New Process ID", "NewProcessId"), ("New Process Name", "NewProcessName"),
                                 ("Token Elevation Type", "TokenElevationType"),
                                 ("Mandatory Label", "MandatoryLabel"),
                                 ("Creator Process ID", "ProcessId"), ("Creator Process Name", "ParentProcessName"),
                                 ("Process Command Line", "CommandLine")])]),
}
MESSAGE_CODES = {"%%14592": "Inbound", "%%14593": "Outbound", "%%14610": "Receive/Accept", "%%14611": "Connect",
                 "%%14608": "Listen", "%%1842": "Yes", "%%1843": "No", "%%1833": "Impersonation",
                 "%%1936": "TokenElevationTypeDefault (1)", "%%1937": "TokenElevationTypeFull (2)",
                 "%%1938": "TokenElevationTypeLimited (3)"}


def _event_parts(xml):
    """(channel, event id, computer, record id, system time, [(data name, value)]) of an event's XML."""
    def tag(name):
        m = re.search(r"<%s[^>]*>([^<]*)</%s>" % (name, name), xml)
        return m.group(1) if m else ""
    stamp = re.search(r"SystemTime=['\"]([^'\"]+)", xml).group(1)
    data = [(m.group(1), _xml_unescape(m.group(2))) for m in
            re.finditer(r"<Data Name=['\"]([^'\"]+)['\"]>([^<]*)</Data>", xml)]
    if not data:   # UserData: its leaf elements
        body = xml.split("<UserData>", 1)[1] if "<UserData>" in xml else ""
        data = [(m.group(1), _xml_unescape(m.group(2))) for m in re.finditer(r"<(\w+)>([^<]*)</\1>", body)]
    return tag("Channel"), tag("EventID"), tag("Computer"), tag("EventRecordID"), _xml_time(stamp), data


def _xml_unescape(text):
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def classic_rendering(xml):
    """The Splunk Windows TA's classic (non-XML) text of one event: date line, header lines,
    ``Message=`` with the message Windows renders (Sysmon: ``Name: value`` a line; Security
    4624/4688/5156/5158: their message templates; other events: their data names)."""
    channel, eid, computer, record, seconds, data = _event_parts(xml)
    values = dict(data)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    lines = [moment.strftime("%m/%d/%Y %I:%M:%S %p"), "LogName=%s" % channel, "EventCode=%s" % eid,
             "EventType=0", "ComputerName=%s" % computer, "RecordNumber=%s" % record, "Keywords=None"]
    if "Sysmon" in channel:
        lines.append("Message=%s" % SYSMON_TITLES.get(eid, "Sysmon event:"))
        lines += ["%s: %s" % (name, value) for name, value in data]
    elif eid in SECURITY_TEMPLATES:
        title, sections = SECURITY_TEMPLATES[eid]
        lines.append("Message=%s" % title)
        for section, rows in sections:
            lines.append("")
            if section:
                lines.append("%s:" % section)
            for label, name in rows:
                value = values.get(name, "-")
                lines.append("%s%s:\t\t%s" % ("\t" if section else "", label, MESSAGE_CODES.get(value, value)))
    else:
        lines.append("Message=Event %s." % eid)
        lines += ["\t%s:\t%s" % (name, value) for name, value in data]
    return "\n".join(lines)


def wevtutil_rendering(xml, index):
    """``wevtutil qe <log> /f:text`` of one event: "Event[N]:", the indented header, then
    "Description:" and the message (as classic_rendering renders it)."""
    channel, eid, computer, _, seconds, _ = _event_parts(xml)
    message = classic_rendering(xml).split("\nMessage=", 1)[1]
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return "\n".join(["Event[%d]:" % index, "  Log Name: %s" % channel, "  Source: %s" % channel,
                      "  Date: %s" % moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (moment.microsecond // 1000),
                      "  Event ID: %s" % eid, "  Task: N/A", "  Level: Information", "  Opcode: Info",
                      "  Keyword: N/A", "  User: N/A", "  User Name: N/A", "  Computer: %s" % computer,
                      "  Description: ", message])


def evtx_to_wevtutil_text(inputs, out, ctx):
    """``wevtutil qe <log> /f:text`` output (CRLF), the same messages as the classic rendering."""
    def render(records):
        return ("\n\n".join(wevtutil_rendering(x, n) for n, x in enumerate(records)) + "\n").replace("\n", "\r\n")
    return _evtx_export(inputs, out, ".txt", render)


def evtx_to_classic_text(inputs, out, ctx):
    """Windows events in the TA's classic rendering (``renderXml=false``), CRLF as Windows writes."""
    def render(records):
        return ("\n\n".join(classic_rendering(x) for x in records) + "\n").replace("\n", "\r\n")
    return _evtx_export(inputs, out, ".txt", render)


def _rendering_info(xml):
    """The ``<RenderingInfo>`` block Event Viewer's "Save as XML" and ``wevtutil qe
    /f:RenderedXml`` add: the message and the level, task, opcode and keyword names."""
    channel, eid, _, _, _, data = _event_parts(xml)
    if "Sysmon" in channel:
        title = SYSMON_TITLES.get(eid, "Sysmon event:")
        message = "\r\n".join([title] + ["%s: %s" % kv for kv in data])
        task = title.rstrip(":") + " (rule: %s)" % ("NetworkConnect" if eid == "3" else "ProcessCreate")
    else:
        title, _ = SECURITY_TEMPLATES.get(eid, ("Event %s." % eid, []))
        message = title
        task = "Filtering Platform Connection" if eid in ("5156", "5158") else "Logon"
    def esc(text):
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ("<RenderingInfo Culture='en-US'><Message>%s</Message><Level>Information</Level><Task>%s</Task>"
            "<Opcode>Info</Opcode><Channel>%s</Channel><Provider>%s</Provider><Keywords><Keyword>Audit Success"
            "</Keyword></Keywords></RenderingInfo>" % (esc(message), esc(task), esc(channel), esc(channel)))


def evtx_to_rendered_xml(inputs, out, ctx):
    """Event Viewer's "Save All Events As... XML": ``<Events>`` with each event's
    ``<RenderingInfo>`` (message, level/task/opcode names) after its data."""
    def render(records):
        events = []
        for xml in records:
            flat = _wevtutil_style(xml)
            events.append(flat[:flat.rindex("</Event>")] + _rendering_info(xml) + "</Event>")
        return '<?xml version="1.0" encoding="UTF-8"?>\r\n<Events>' + "".join(events) + "</Events>"
    return _evtx_export(inputs, out, ".xml", render)


def _json_export(inputs, out, record_of):
    return _evtx_export(inputs, out, ".json",
                        lambda records: "\n".join(json.dumps(record_of(_event_parts(x))) for x in records) + "\n")


def evtx_to_winlogbeat(inputs, out, ctx):
    """Winlogbeat 8's JSON: ``winlog.event_data``, ``winlog.event_id`` as a string, ``@timestamp``."""
    def record(parts):
        channel, eid, computer, number, seconds, data = parts
        return {"@timestamp": _xml_stamp(seconds), "event": {"code": eid, "provider": channel},
                "winlog": {"channel": channel, "event_id": eid, "computer_name": computer,
                           "record_id": int(number), "event_data": dict(data)},
                "host": {"name": computer}}
    return _json_export(inputs, out, record)


def evtx_to_nxlog(inputs, out, ctx):
    """NXLog im_msvistalog JSON: flat, EventID a number, EventTime ``YYYY-MM-DD HH:MM:SS``."""
    def record(parts):
        channel, eid, computer, number, seconds, data = parts
        flat = {"EventTime": datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                "Hostname": computer, "EventID": int(eid), "SourceName": channel, "Channel": channel,
                "RecordNumber": int(number), "Severity": "INFO", "EventType": "INFO"}
        flat.update(dict(data))
        return flat
    return _json_export(inputs, out, record)


def _capture_transform(fn):
    def transform(inputs, out, ctx):
        paths = []
        for path, rel in _files(inputs):
            head = _head(path)
            if head not in CAPTURE_MAGICS:
                return None
            linktype, packets = read_capture(path)
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            written = fn(target, linktype, packets)
            if written is None:
                return None
            paths.append(written)
        return (paths, None, None) if paths else None
    return transform


def _relinked(to):
    """A capture transform writing the packets re-framed for link type ``to`` (101 raw IP,
    113 Linux cooked), or None where :func:`relink` cannot."""
    def transform(target, linktype, packets):
        packets = relink(linktype, packets, to)
        if packets is None:
            return None
        write_pcap(target.with_suffix(".pcap"), to, packets)
        return target.with_suffix(".pcap")
    return transform


def _vlan(target, linktype, packets):
    """Ethernet frames with an 802.1Q tag (VLAN 100), as a SPAN port or trunk capture has them."""
    if linktype != 1:
        return None
    tagged = [(sec, ns, frame[:12] + b"\x81\x00\x00\x64" + frame[12:]) for sec, ns, frame in packets]
    write_pcap(target.with_suffix(".pcap"), 1, tagged)
    return target.with_suffix(".pcap")


FRAGMENT_PAYLOAD = 512     # bytes of IP payload per fragment (a multiple of 8)


def _ipv4_checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return struct.pack("!H", ~total & 0xFFFF)


def fragment_ipv4(ip, size=FRAGMENT_PAYLOAD):
    """An IPv4 packet cut into fragments of ``size`` payload bytes (one when it fits, or when
    it says don't fragment or is already a fragment)."""
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return [ip]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    flags = struct.unpack("!H", ip[6:8])[0]
    payload = ip[ihl:total]
    if len(payload) <= size or flags & 0x4000 or flags & 0x3FFF:
        return [ip]
    out = []
    for at in range(0, len(payload), size):
        piece = payload[at:at + size]
        more = 0x2000 if at + size < len(payload) else 0
        header = bytearray(ip[:ihl])
        header[2:4] = struct.pack("!H", ihl + len(piece))
        header[6:8] = struct.pack("!H", more | (at // 8))
        header[10:12] = b"\x00\x00"
        header[10:12] = _ipv4_checksum(bytes(header))
        out.append(bytes(header) + piece)
    return out


def _fragmented(target, linktype, packets):
    """Ethernet IPv4 packets over FRAGMENT_PAYLOAD bytes of payload sent as fragments (a link
    with a small MTU on the way; don't-fragment packets stay whole)."""
    if linktype != 1:
        return None
    out, cut = [], 0
    for sec, ns, frame in packets:
        ethertype, ip = _strip_ethernet(frame)
        pieces = fragment_ipv4(ip) if ethertype == 0x0800 else [ip]
        cut += len(pieces) > 1
        head = frame[:len(frame) - len(ip)]
        out += [(sec, ns, head + piece) for piece in pieces]
    if not cut:
        return None
    write_pcap(target.with_suffix(".pcap"), 1, out)
    return target.with_suffix(".pcap")


def _ns_bigendian(target, linktype, packets):
    write_pcap(target.with_suffix(".pcap"), linktype, packets, nanosecond=True, big_endian=True, snaplen=65535)
    return target.with_suffix(".pcap")


def _to_pcapng(target, linktype, packets):
    write_pcapng(target.with_suffix(".pcapng"), linktype, packets)
    return target.with_suffix(".pcapng")


# ----------------------------------------------------------------------------- round 2: other exporters
def evtx_json_records(path, separate_attributes=False, indent=False):
    """(record id, JSON text) of each record of an EVTX file as ``evtx_dump -o json`` renders it
    (the same Rust parser): attributes under ``#attributes``, or beside the element as
    ``<Name>_attributes`` with ``--separate-json-attributes``; data values typed (numbers,
    booleans)."""
    import evtx as rust_evtx
    parser = rust_evtx.PyEvtxParser(str(path), separate_json_attributes=separate_attributes, indent=indent)
    return [(r["event_record_id"], r["data"]) for r in parser.records_json()]


def _evtx_json_export(inputs, out, suffix, render, **how):
    """As :func:`_evtx_export`, ``render`` given each EVTX input's [(record id, JSON text)]."""
    paths = []
    for path, rel in _files(inputs):
        if _head(path) != b"ElfF":
            return None
        target = (out / rel).with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, render(evtx_json_records(path, **how)))
        paths.append(target)
    return (paths, None, None) if paths else None


def evtx_dump_json(inputs, out, ctx):
    """``evtx_dump -o json``: each record as "Record <id>" then its indented JSON document."""
    return _evtx_json_export(inputs, out, ".json", lambda records: "".join(
        "Record %d\n%s\n" % (number, text) for number, text in records), indent=True)


def evtx_dump_jsonl(inputs, out, ctx):
    """``evtx_dump -o jsonl --separate-json-attributes``: a compact document a line, attributes
    beside their element (``TimeCreated_attributes``), the form loaded into Elasticsearch."""
    return _evtx_json_export(inputs, out, ".jsonl", lambda records: "".join(
        text + "\n" for _, text in records), separate_attributes=True)


def evtx_json_array(inputs, out, ctx):
    """One indented JSON array of evtx_dump documents (Chainsaw's ``dump --json``, a
    Kibana/Elasticsearch export of the hits' ``_source``, ``ConvertTo-Json`` of a list)."""
    def render(records):
        docs = [json.loads(text) for _, text in records]
        return json.dumps(docs, indent=2, ensure_ascii=False) + "\n"
    return _evtx_json_export(inputs, out, ".json", render, separate_attributes=True)


_TASK_CATEGORY = {"1": "Process Create (rule: ProcessCreate)", "3": "Network connection detected (rule: NetworkConnect)",
                  "5": "Process terminated (rule: ProcessTerminate)", "7": "Image loaded (rule: ImageLoad)",
                  "11": "File created (rule: FileCreate)", "22": "Dns query (rule: DnsQuery)",
                  "5156": "Filtering Platform Connection", "5158": "Filtering Platform Connection",
                  "4624": "Logon", "4688": "Process Creation"}


def eventviewer_csv_row(xml):
    """One Event Viewer "Save As... CSV" row: Level, Date and Time (the viewer's short date and
    long time, here in UTC), Source (the provider), Event ID, Task Category, then the message
    (a sixth column the header does not name)."""
    channel, eid, _, _, seconds, _ = _event_parts(xml)
    provider = re.search(r"<Provider Name=['\"]([^'\"]+)", xml)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    when = "%d/%d/%d %d:%s" % (moment.month, moment.day, moment.year, (moment.hour % 12) or 12,
                               moment.strftime("%M:%S %p"))
    message = classic_rendering(xml).split("\nMessage=", 1)[1].replace("\n", "\r\n")
    return ["Information", when, provider.group(1) if provider else channel, eid,
            _TASK_CATEGORY.get(eid, "None"), message]


def evtx_to_eventviewer_csv(inputs, out, ctx):
    """Event Viewer's "Save All Events As... CSV (Comma Separated)": the header names five
    columns (Level, Date and Time, Source, Event ID, Task Category), every row has six (the
    rendered message last), no channel and no computer; UTF-8 with a byte-order mark."""
    import csv
    import io

    def render(records):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write("Level,Date and Time,Source,Event ID,Task Category\r\n")
        for xml in records:
            writer.writerow(eventviewer_csv_row(xml))
        return "\ufeff" + buffer.getvalue()
    return _evtx_export(inputs, out, ".csv", render)


OTHER_HEADER = {"separator": "|", "set_separator": ";", "empty_field": "EMPTY", "unset_field": "NULL"}


def _tsv_with_header(records, kind, layouts, header):
    """Zeek TSV of JSON records with the given separators and placeholders (LogAscii's
    ``separator``, ``set_separator``, ``empty_field``, ``unset_field`` redefined) and no
    #open/#close lines (a writer that leaves them out, or a file cut from a longer one)."""
    text = json_lines_to_tsv("\n".join(json.dumps(r) for r in records), kind, layouts)
    fields = types = None
    rows = []
    for fields_, types_, parsed, _ in parse_zeek_tsv(text):
        fields, types, rows = fields_, types_, parsed
    if fields is None:
        return ""
    sep = header["separator"]
    hexsep = "\\x%02x" % ord(sep)
    lines = ["#separator %s" % hexsep, "#set_separator%s%s" % (sep, header["set_separator"]),
             "#empty_field%s%s" % (sep, header["empty_field"]), "#unset_field%s%s" % (sep, header["unset_field"]),
             "#path%s%s" % (sep, kind), "#fields%s%s" % (sep, sep.join(fields)), "#types%s%s" % (sep, sep.join(types))]
    for row in rows:
        cells = []
        for f, t in zip(fields, types):
            v = row.get(f)
            if v is None:
                cells.append(header["unset_field"])
            elif v == "(empty)":
                cells.append(header["empty_field"])
            else:
                if t.startswith(("set[", "vector[")):
                    v = v.replace(",", header["set_separator"])
                cells.append(v.replace(sep, hexsep))
        lines.append(sep.join(cells))
    return "\n".join(lines) + "\n"


def zeek_tsv_other_header(inputs, out, ctx):
    """Zeek TSV written with other LogAscii settings: ``|`` between fields, ``;`` between set
    members, ``EMPTY`` and ``NULL`` for empty and unset fields, no #open/#close lines."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    for n, (kind, records) in enumerate(logs):
        write_text(out / ("%s.%d.log" % (kind, n)), _tsv_with_header(records, kind, ctx.layouts, OTHER_HEADER))
    return [out], None, None


def zeek_tsv_mode(inputs, out, ctx):
    """Zeek's LogAscii ``tsv=T`` filter mode: one header line of column names (no ``#fields``,
    no other meta lines), then the rows with the default separators and placeholders."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    for n, (kind, records) in enumerate(logs):
        text = json_lines_to_tsv("\n".join(json.dumps(r) for r in records), kind, ctx.layouts)
        kept = [line[len("#fields\t"):] if line.startswith("#fields\t") else line
                for line in text.splitlines() if not line.startswith("#") or line.startswith("#fields\t")]
        write_text(out / ("%s.%d.log" % (kind, n)), "\n".join(kept) + "\n")
    return [out], None, None


def zeek_tsv_concatenated(inputs, out, ctx):
    """Every log of the unit as Zeek TSV in one file, one #path section after another (``cat
    *.log > zeek.txt``, a support bundle), under a name that says nothing."""
    logs = _zeek_records(inputs)
    if logs is None or len(logs) < 2:
        return None
    parts = [json_lines_to_tsv("\n".join(json.dumps(r) for r in records), kind, ctx.layouts)
             for kind, records in logs if records]
    write_text(out / "zeek-bundle.txt", "".join(parts))
    return [out / "zeek-bundle.txt"], None, None


SNAPLEN_SHORT = 96     # bytes kept of each packet (tcpdump -s 96, a header-only sensor)


def _snaplen_short(target, linktype, packets):
    """Each packet cut to SNAPLEN_SHORT bytes, its original length kept (headers only)."""
    write_pcap(target.with_suffix(".pcap"), linktype, packets, snaplen=SNAPLEN_SHORT)
    return target.with_suffix(".pcap")


SPAN_DELAY_US = 20     # a SPAN port's second copy of a packet (ingress and egress mirrored)


def _span_duplicates(target, linktype, packets):
    """Every packet seen twice, the copy SPAN_DELAY_US later (both directions of a port mirrored)."""
    doubled = []
    for sec, ns, data in packets:
        later = sec * 1_000_000_000 + ns + SPAN_DELAY_US * 1000
        doubled += [(sec, ns, data), (later // 1_000_000_000, later % 1_000_000_000, data)]
    write_pcap(target.with_suffix(".pcap"), linktype, doubled)
    return target.with_suffix(".pcap")


def _out_of_order(target, linktype, packets):
    """Neighbouring packets written in swapped order, each with its own time (a capture merged
    from two interfaces or queues): times go back at every other packet."""
    swapped = []
    for at in range(0, len(packets) - 1, 2):
        swapped += [packets[at + 1], packets[at]]
    swapped += packets[len(swapped):]
    write_pcap(target.with_suffix(".pcap"), linktype, swapped)
    return target.with_suffix(".pcap")


def renumber_ipv4_packet(ip_bytes, mapper):
    """An IPv4 packet with its addresses renumbered by ``mapper`` and checksums recomputed (IP;
    TCP/UDP unless a fragment); DNS A answers over UDP renumbered too. Other bytes unchanged."""
    import socket
    import dpkt
    try:
        ip = dpkt.ip.IP(ip_bytes)
    except (dpkt.UnpackError, ValueError):
        return ip_bytes
    new_src = mapper.address(socket.inet_ntoa(ip.src))
    new_dst = mapper.address(socket.inet_ntoa(ip.dst))
    fragment = bool(ip.mf) or bool(ip.offset)
    changed = (new_src, new_dst) != (socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst))
    udp = ip.data if isinstance(ip.data, dpkt.udp.UDP) and not fragment else None
    if udp is not None and 53 in (udp.sport, udp.dport):
        try:
            dns = dpkt.dns.DNS(udp.data)
            moved = False
            for rr in dns.an + dns.ar:
                if rr.type == dpkt.dns.DNS_A and len(rr.rdata) == 4:
                    new = mapper.address(socket.inet_ntoa(rr.rdata))
                    if new != socket.inet_ntoa(rr.rdata):
                        rr.rdata = rr.ip = socket.inet_aton(new)
                        moved = True
            if moved:
                udp.data = bytes(dns)
                udp.ulen = 8 + len(udp.data)
                ip.len = ip.hl * 4 + udp.ulen
                changed = True
        except (dpkt.UnpackError, ValueError, IndexError, struct.error):
            pass
    if not changed:
        return ip_bytes
    ip.src, ip.dst = socket.inet_aton(new_src), socket.inet_aton(new_dst)
    ip.sum = 0
    if not fragment and isinstance(ip.data, (dpkt.tcp.TCP, dpkt.udp.UDP)):
        ip.data.sum = 0
    return bytes(ip)


def pcap_renumber_private(inputs, out, ctx):
    """Captures with their private IPv4 addresses renumbered inside the packets (PrivateRenumbering;
    IP, TCP and UDP checksums recomputed, DNS A answers rewritten), as a capture from another
    site's address plan."""
    mapper = PrivateRenumbering()
    written = []
    for path, rel in _files(inputs):
        head = _head(path)
        if head not in CAPTURE_MAGICS:
            return None
        linktype, packets = read_capture(path)
        if linktype not in (1, 101):
            return None
        out_packets, moved = [], 0
        for sec, ns, frame in packets:
            if linktype == 1:
                ethertype, ip = _strip_ethernet(frame)
                head_bytes = frame[:len(frame) - len(ip)]
            else:
                ethertype, ip, head_bytes = (0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0), frame, b""
            if ethertype == 0x0800:
                new = renumber_ipv4_packet(ip, mapper)
                moved += new != ip
                frame = head_bytes + new
            out_packets.append((sec, ns, frame))
        target = (out / rel).with_suffix(".pcap")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_pcap(target, linktype, out_packets)
        written.append((target, moved))
    if not written or not any(m for _, m in written):
        return None
    return [t for t, _ in written], mapper, None


# Filebeat's Zeek module (x-pack/filebeat/module/zeek/<fileset>/config/*.yml and ingest
# pipelines): which Zeek fields it moves to ECS names, per log; the rest stays under
# zeek.<dataset>.<name>. conn's orig_bytes, resp_bytes and tunnel_parents are dropped.
FILEBEAT_DATASET = {"conn": "connection"}
FILEBEAT_MOVED = {
    "conn": {"proto": "network.transport", "service": "network.protocol", "orig_ip_bytes": "source.bytes",
             "resp_ip_bytes": "destination.bytes", "orig_pkts": "source.packets", "resp_pkts": "destination.packets",
             "conn_state": "zeek.connection.state", "orig_l2_addr": "source.mac", "resp_l2_addr": "destination.mac"},
    "dns": {"proto": "network.transport"},
    "http": {"method": "http.request.method", "referrer": "http.request.referrer",
             "status_code": "http.response.status_code", "version": "http.version",
             "request_body_len": "http.request.body.bytes", "response_body_len": "http.response.body.bytes",
             "uri": "url.original", "host": "url.domain", "username": "url.username", "password": "url.password",
             "user_agent": "user_agent.original"},
    "ssl": {"server_name": "zeek.ssl.server.name", "cert_chain": "zeek.ssl.server.cert_chain",
            "cert_chain_fuids": "zeek.ssl.server.cert_chain_fuids", "client_cert_chain": "zeek.ssl.client.cert_chain",
            "client_cert_chain_fuids": "zeek.ssl.client.cert_chain_fuids",
            "validation_status": "zeek.ssl.validation.status", "validation_code": "zeek.ssl.validation.code",
            "ja3": "tls.client.ja3", "ja3s": "tls.server.ja3s", "not_valid_before": "tls.server.not_before",
            "not_valid_after": "tls.server.not_after", "subject": "tls.server.subject", "issuer": "tls.server.issuer",
            "client_issuer": "tls.client.issuer"},
}
FILEBEAT_DROPPED = {"conn": ("orig_bytes", "resp_bytes", "tunnel_parents")}


def _nest(flat):
    """Dotted names as nested objects, as Elasticsearch's ``_source`` holds a document."""
    out = {}
    for name, value in flat.items():
        node = out
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def filebeat_zeek_document(kind, record):
    """One Zeek JSON record as Filebeat's Zeek module indexes it (ECS 1.12): ``@timestamp``
    (milliseconds), source/destination from ``id.*``, ``zeek.session_id`` and ``event.id``
    from uid, the fields FILEBEAT_MOVED names, conn's duration as ``event.duration`` in
    nanoseconds, ICMP type/code under ``zeek.connection.icmp``, the rest under
    ``zeek.<dataset>``."""
    dataset = FILEBEAT_DATASET.get(kind, kind)
    moved, dropped = FILEBEAT_MOVED.get(kind, {}), FILEBEAT_DROPPED.get(kind, ())
    doc = {"event.module": "zeek", "event.dataset": "zeek." + dataset, "event.kind": "event",
           "fileset.name": dataset, "ecs.version": "1.12.0"}
    icmp = kind == "conn" and record.get("proto") == "icmp"
    for name, value in record.items():
        if name in dropped:
            continue
        if name == "ts" and isinstance(value, (int, float)):
            doc["@timestamp"] = datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        elif name in ("id.orig_h", "id.resp_h"):
            side = "source" if name == "id.orig_h" else "destination"
            doc[side + ".address"] = doc[side + ".ip"] = value
        elif name in ("id.orig_p", "id.resp_p"):
            if icmp:
                doc["zeek.connection.icmp.%s" % ("type" if name == "id.orig_p" else "code")] = value
            else:
                doc[("source" if name == "id.orig_p" else "destination") + ".port"] = value
        elif name == "uid":
            doc["zeek.session_id"] = doc["event.id"] = value
        elif name == "duration" and kind == "conn":
            doc["event.duration"] = int(round(value * 1e9))
        elif name in moved:
            doc[moved[name]] = value
        else:
            doc["zeek.%s.%s" % (dataset, name)] = value
    return _nest(doc)


def zeek_filebeat_ecs(inputs, out, ctx):
    """The unit's Zeek logs as Filebeat's Zeek module put them in Elasticsearch, exported
    (elasticdump, a scroll of ``_search``) one hit a line: ``{"_index": ..., "_id": ...,
    "_source": <the ECS document>}``, every log in one file. conn loses orig_bytes and
    resp_bytes (the module drops them; source.bytes is orig_ip_bytes)."""
    logs = _zeek_records(inputs)
    if logs is None:
        return None
    lines = []
    for kind, records in logs:
        for n, record in enumerate(records):
            lines.append(json.dumps({"_index": "filebeat-8.11.0", "_id": "%s-%d" % (kind, n),
                                     "_source": filebeat_zeek_document(kind, record)}, separators=(",", ":")))
    write_text(out / "elastic-export.json", "\n".join(lines) + "\n")
    return [out / "elastic-export.json"], None, None


TRANSFORMS = {
    "zeek_tsv_to_json": zeek_tsv_to_json,
    "zeek_json_to_tsv": zeek_json_to_tsv,
    "zeek_json_iso8601": zeek_json_iso8601,
    "zeek_json_ts_millis": zeek_json_ts_millis,
    "zeek_json_shuffled": zeek_json_shuffled,
    "gzip": gzip_files,
    "crlf": crlf,
    "zeek_underscore_names": zeek_underscore_names,
    "xml_without_namespace": xml_without_namespace,
    "split_by_hour": split_by_hour,
    "merge_files": merge_files,
    "shift_years": shift_years,
    "shift_dst_local_tz": shift_dst_local_tz,
    "shift_past_2038": shift_past_2038,
    "renumber_private": renumber_private,
    "renumber_private_ipv6": renumber_private_ipv6,
    "zeek_json_streaming": zeek_json_streaming,
    "zeek_splunk_export": zeek_splunk_export,
    "zeek_splunk_csv": zeek_splunk_csv,
    "zeek_site_unset": zeek_site_unset,
    "add_benign_hosts": add_benign_hosts,
    "zeek_tsv_other_layout": zeek_tsv_other_layout,
    "zeek_mixed_rotation": zeek_mixed_rotation,
    "evtx_to_xml": evtx_to_xml,
    "evtx_to_splunk_json": evtx_to_splunk_json,
    "evtx_to_classic_text": evtx_to_classic_text,
    "evtx_to_wevtutil_text": evtx_to_wevtutil_text,
    "evtx_to_rendered_xml": evtx_to_rendered_xml,
    "evtx_to_pretty_xml": evtx_to_pretty_xml,
    "evtx_to_winlogbeat": evtx_to_winlogbeat,
    "evtx_to_nxlog": evtx_to_nxlog,
    "utf16": utf16,
    "pcap_raw_ip": _capture_transform(_relinked(101)),
    "pcap_linux_sll": _capture_transform(_relinked(113)),
    "pcap_ns_bigendian": _capture_transform(_ns_bigendian),
    "pcap_to_pcapng": _capture_transform(_to_pcapng),
    "pcap_vlan": _capture_transform(_vlan),
    "pcap_fragment": _capture_transform(_fragmented),
    "evtx_dump_json": evtx_dump_json,
    "evtx_dump_jsonl": evtx_dump_jsonl,
    "evtx_json_array": evtx_json_array,
    "evtx_to_eventviewer_csv": evtx_to_eventviewer_csv,
    "zeek_tsv_other_header": zeek_tsv_other_header,
    "zeek_tsv_concatenated": zeek_tsv_concatenated,
    "zeek_tsv_mode": zeek_tsv_mode,
    "zeek_filebeat_ecs": zeek_filebeat_ecs,
    "pcap_snaplen_96": _capture_transform(_snaplen_short),
    "pcap_span_duplicates": _capture_transform(_span_duplicates),
    "pcap_out_of_order": _capture_transform(_out_of_order),
    "pcap_renumber_private": pcap_renumber_private,
}


# ----------------------------------------------------------------------------- outcome
def outcome(runner, doc, unit_path, paths, env=None):
    """{detected: sorted channel ids, benign: sorted [(signal, entities)], neutral: n, rc} of one hunt."""
    saved = runner.env
    if env:
        runner.env = dict(runner.env, **env)
    try:
        notables, rc, _ = runner.hunt(paths)
    finally:
        runner.env = saved
    here = [c for c in doc.get("channels", []) if unit_path in c["units"]]
    here_neutral = [n for n in doc.get("neutral", []) if unit_path in n["units"]]
    detected, benign, neutral = set(), [], 0
    for n in notables:
        kind, ids = ev.classify(n, here, here_neutral)
        if kind == "channel":
            detected.update(ids)
        elif kind == "neutral":
            neutral += 1
        else:
            benign.append(ev._signal(n))
    return {"detected": sorted(detected), "benign": sorted(benign), "neutral": neutral, "rc": rc,
            "signals": sorted({ev._signal(n) for n in notables})}


def apply_chain(chain, inputs, workdir, ctx, entries=()):
    """Apply the transforms of ``chain`` (names, or one "a+b" string) one after the other,
    each into its own folder under ``workdir``: (paths, renumbering or None, environment or
    None), or None when one of them does not apply. ``entries``: the unit's channels and
    neutral entries (add_benign_hosts leaves their records alone)."""
    names = chain.split("+") if isinstance(chain, str) else list(chain)
    paths, mapper, env = list(inputs), None, {}
    for n, name in enumerate(names):
        out = Path(workdir) / ("%d-%s" % (n, name))
        out.mkdir(parents=True)
        if name == "add_benign_hosts":
            made = add_benign_hosts(paths, out, ctx, entries)
        else:
            made = TRANSFORMS[name](paths, out, ctx)
        if made is None:
            return None
        paths = made[0]
        mapper = made[1] or mapper
        env.update(made[2] or {})
    return paths, mapper, env or None


def compare(base, got):
    """(broken, detail): broken when a channel detected as shipped is lost or a notable on
    benign traffic appears; the detail also names changed signals (risk scores may move)."""
    lost = sorted(set(base["detected"]) - set(got["detected"]))
    broken = bool(lost) or len(got["benign"]) > len(base["benign"]) or got["rc"] not in (0, 3)
    detail = "detected %s -> %s; benign %d -> %d" % (
        base["detected"], got["detected"], len(base["benign"]), len(got["benign"]))
    if got["benign"] != base["benign"]:
        detail += " %s" % got["benign"]
    if got["signals"] != base["signals"]:
        detail += "; signals -%s +%s" % (sorted(set(base["signals"]) - set(got["signals"])),
                                         sorted(set(got["signals"]) - set(base["signals"])))
    return broken, detail


def check_unit(runner, truth, datasets, dataset, unit_path, chains, ctx, log=print, baseline=None):
    """(as-shipped outcome, [(chain, status, detail)]) for one unit; status ok / BROKEN /
    skipped (a transform of the chain does not apply to the unit's files)."""
    doc = truth[dataset]
    unit = next(u for u in doc["units"] if u["path"] == unit_path)
    inputs = ev.unit_inputs(Path(datasets) / dataset, unit)
    base = baseline or outcome(runner, doc, unit_path, inputs)
    entries = [e for e in doc.get("channels", []) + doc.get("neutral", []) if unit_path in e["units"]]
    rows = []
    for chain in chains:
        tmp = Path(tempfile.mkdtemp(prefix="c2hunt-meta-"))
        try:
            made = apply_chain(chain, inputs, tmp, ctx, entries)
            if made is None:
                rows.append((chain, "skipped", "does not apply"))
                continue
            paths, mapper, env = made
            got = outcome(runner, renumber_truth(doc, mapper) if mapper else doc, unit_path, paths, env)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        broken, detail = compare(base, got)
        rows.append((chain, "BROKEN" if broken else "ok", detail))
        log("  %-22s %-7s %s" % (chain, rows[-1][1], detail))
    return base, rows


DEFAULT_UNITS = [
    ("rita-test-data", "proxy"),
    ("rita-test-data", "json_with_all_fields"),
    ("slips-cc-beacons", "dataset/test18-malicious-ctu-sme-11-win/zeek-labeled"),
    ("slips-dataset-extra", "dataset/test15-malicious-zeek-dir"),
    ("slips-dataset-extra", "dataset/test9-mixed-zeek-dir"),
    ("slips-dataset-extra", "dataset/test10-mixed-zeek-dir"),
    ("evtx-attack-samples", "Execution-sysmon_mshta_sharpshooter_stageless_meterpreter.evtx"),
    ("evtx-attack-samples", "Command_and_Control-DE_RDP_Tunnel_5156.evtx"),
    ("evtx-attack-samples", "Command_and_Control-DE_RDP_Tunneling_4624.evtx"),
    ("ndpi-pcaps", "icmp-tunnel.pcap"),
    ("ndpi-pcaps", "socks.pcap"),
    ("zeek-traces", "quic/merlinc2_Zeek_example.pcapng"),
    ("zeek-traces", "tls/cert-no-cn.pcap"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(ev.DEFAULT_REPO))
    parser.add_argument("--datasets", default=str(ev.DEFAULT_DATASETS))
    parser.add_argument("--transform", action="append",
                        help="a transform, or several joined by + applied in turn (default: each alone)")
    parser.add_argument("--unit", action="append", help="DATASET:PATH (repeatable; default a representative set)")
    args = parser.parse_args(argv)
    if not Path(args.datasets).exists():
        sys.stderr.write("datasets folder %s absent\n" % args.datasets)
        return 2
    runner = ev.AppRunner(args.repo)
    truth = ev.load_ground_truth()
    ctx = Context(args.datasets)
    units = [tuple(u.split(":", 1)) for u in args.unit] if args.unit else DEFAULT_UNITS
    names = args.transform or list(TRANSFORMS)
    broken = 0
    t0 = time.monotonic()
    for dataset, unit_path in units:
        print("%s/%s" % (dataset, unit_path))
        base, rows = check_unit(runner, truth, args.datasets, dataset, unit_path, names, ctx)
        print("  %-22s detected %s, benign %d" % ("(as shipped)", base["detected"], len(base["benign"])))
        broken += sum(status == "BROKEN" for _, status, _ in rows)
        sys.stdout.flush()
    print("broken: %d (%.0f s)" % (broken, time.monotonic() - t0))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
