"""The c2flow modular input: scheme, validation and streaming as splunkd runs it (protocol
tier, every Splunk Python), exactly-once reads across runs, and a kill mid-file."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter

import synthetic as syn
from c2hunt.capture import flow_input, flows
from support import ROOT, run_script

T0 = 1700000000.0
OLD = time.time() - 3600


def _write_old(path, frames, writer=syn.write_pcap):
    writer(str(path), frames)
    os.utime(str(path), (OLD, OLD))


def _definition(captures, checkpoints, name="c2flow://lab", **params):
    params.setdefault("settle_seconds", "5")
    params = dict(params, directory=str(captures))
    body = "".join('<param name="%s">%s</param>' % item for item in sorted(params.items()))
    return ("<input><server_host>test</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            "<session_key>k</session_key><checkpoint_dir>%s</checkpoint_dir><configuration>"
            '<stanza name="%s">%s</stanza></configuration></input>'
            % (checkpoints, name, body)).encode()


def _validation(params):
    body = "".join('<param name="%s">%s</param>' % item for item in sorted(params.items()))
    return ("<items><server_host>test</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            "<session_key>k</session_key><checkpoint_dir>/tmp</checkpoint_dir>"
            '<item name="lab">%s</item></items>' % body).encode()


def _events(xml_bytes):
    """Records from one or more concatenated (possibly cut) event streams."""
    text = xml_bytes.decode()
    found = []
    for match in re.finditer(r"<event [^>]*>(.*?)</event>", text, re.S):
        event = ET.fromstring("<event>%s</event>" % match.group(1))
        found.append((event.findtext("sourcetype"), event.findtext("source"),
                      float(event.findtext("time")), json.loads(event.findtext("data"))))
    return found


def _scenario_frames():
    return syn.by_time(syn.icmp_tunnel("10.0.0.5", "203.0.113.9", 300, T0),
                       syn.ping("10.0.0.6", "8.8.8.8", 4, T0 + 10),
                       syn.dns_tunnel("10.0.0.9", "10.0.0.53", 20, T0 + 20),
                       syn.https_beacon("10.0.0.10", "192.0.2.80", 5, T0))


# -- protocol tier: the script as splunkd runs it ----------------------------------------

def test_scheme(splunk_python, app_dir):
    result = run_script(splunk_python, app_dir / "bin" / "c2flow.py", b"", timeout=120)
    assert result.returncode == 1    # no arguments and empty stdin: not a valid run
    proc = subprocess.run([splunk_python, str(app_dir / "bin" / "c2flow.py"), "--scheme"],
                          capture_output=True, cwd=str(app_dir / "bin"), timeout=120,
                          env={"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"})
    assert proc.returncode == 0, proc.stderr
    scheme = ET.fromstring(proc.stdout)
    assert scheme.findtext("use_external_validation") == "true"
    assert scheme.findtext("streaming_mode") == "xml"
    args = {arg.get("name"): arg for arg in scheme.iter("arg")}
    assert set(args) == {"directory", "file_pattern", "settle_seconds", "require_newer_sibling",
                         "idle_timeout", "active_timeout", "max_flows", "entropy_sample_bytes",
                         "dns_events"}
    assert args["directory"].findtext("required_on_create") == "true"


def _validate(python, app_dir, params):
    return subprocess.run([python, str(app_dir / "bin" / "c2flow.py"), "--validate-arguments"],
                          input=_validation(params), capture_output=True, timeout=120,
                          cwd=str(app_dir / "bin"),
                          env={"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"})


def test_validate_arguments(splunk_python, app_dir, tmp_path):
    good = _validate(splunk_python, app_dir, {"directory": str(tmp_path), "idle_timeout": "60"})
    assert good.returncode == 0 and good.stdout == b"", good.stderr
    for params, message in [({"directory": str(tmp_path / "missing")}, "does not exist"),
                            ({"directory": str(tmp_path), "max_flows": "0"}, "max_flows"),
                            ({"directory": str(tmp_path), "settle_seconds": "x"}, "settle_seconds"),
                            ({"directory": str(tmp_path), "require_newer_sibling": "maybe"},
                             "require_newer_sibling"),
                            ({"directory": str(tmp_path), "dns_events": "perhaps"}, "dns_events")]:
        bad = _validate(splunk_python, app_dir, params)
        assert bad.returncode == 1
        assert message in ET.fromstring(bad.stdout).findtext("message")


def test_streaming_events(splunk_python, app_dir, tmp_path):
    captures, checkpoints = tmp_path / "captures", tmp_path / "checkpoints"
    captures.mkdir()
    frames = _scenario_frames()
    _write_old(captures / "a.pcap", frames)
    _write_old(captures / "b.pcapng", frames[:50], writer=syn.write_pcapng)
    definition = _definition(captures, checkpoints)
    first = run_script(splunk_python, app_dir / "bin" / "c2flow.py", definition, timeout=120)
    assert first.returncode == 0, first.stderr
    root = ET.fromstring(first.stdout)          # one well-formed <stream>
    assert root.tag == "stream"
    events = _events(first.stdout)
    expected_a = list(flows.read_capture_events(str(captures / "a.pcap")))
    expected_b = list(flows.read_capture_events(str(captures / "b.pcapng")))
    assert [(e[0], e[3]) for e in events if e[1].endswith("a.pcap")] == expected_a
    assert [(e[0], e[3]) for e in events if e[1].endswith("b.pcapng")] == expected_b
    # Flows and, from the same read, the 20 DNS query/response pairs of the tunnel.
    assert {e[0] for e in events} == {"c2hunt:flow", "c2hunt:dns"}
    dns = [e for e in events if e[0] == "c2hunt:dns" and e[1].endswith("a.pcap")]
    assert len(dns) == 20 and all(e[3]["qtype_name"] == "TXT" and e[3]["answers"] for e in dns)
    assert all(abs(e[2] - flows.event_time(e[0], e[3])) < 1e-6 for e in events)
    assert all(abs(e[2] - e[3]["first_packet_time"]) < 1e-6 for e in events
               if e[0] == "c2hunt:flow")
    assert all(abs(e[2] - e[3]["ts"]) < 1e-6 for e in events if e[0] == "c2hunt:dns")
    assert b"read %s" % str(captures / "a.pcap").encode() in first.stderr
    # A second run sends nothing: every file was read exactly once.
    second = run_script(splunk_python, app_dir / "bin" / "c2flow.py", definition, timeout=120)
    assert second.returncode == 0 and _events(second.stdout) == []


# -- checkpoint behaviour (library level) -------------------------------------------------

class _Sink(object):
    def __init__(self):
        self.records, self.messages, self.dns = [], [], []

    def write(self, events, path):
        # Flow records only; DNS transactions are checked in test_dns_events_setting.
        self.records += [(path, r) for sourcetype, r in events if sourcetype == "c2hunt:flow"]
        self.dns += [(path, r) for sourcetype, r in events if sourcetype == "c2hunt:dns"]

    def log(self, severity, message):
        self.messages.append((severity, message))


def _collect(captures, checkpoints, sink, **params):
    params.setdefault("settle_seconds", "5")
    settings = flow_input.parse_settings(dict(params, directory=str(captures)))
    return flow_input.collect("c2flow://lab", settings, str(checkpoints), sink.write, sink.log)


def test_files_still_being_written_wait(tmp_path):
    captures = tmp_path / "captures"
    captures.mkdir()
    syn.write_pcap(str(captures / "live.pcap"), _scenario_frames())     # mtime: now
    _write_old(captures / "old.pcap", _scenario_frames()[:30])
    sink = _Sink()
    summary = _collect(captures, tmp_path / "ck", sink)
    assert summary["waiting"] == 1 and {p for p, _ in sink.records} == {str(captures / "old.pcap")}
    os.utime(str(captures / "live.pcap"), (OLD + 10, OLD + 10))
    summary = _collect(captures, tmp_path / "ck", sink)
    assert summary["files_read"] == 1 and summary["waiting"] == 0


def test_require_newer_sibling_holds_back_the_newest(tmp_path):
    captures = tmp_path / "captures"
    captures.mkdir()
    _write_old(captures / "cap.pcap0", _scenario_frames()[:20])
    sink = _Sink()
    assert _collect(captures, tmp_path / "ck", sink, require_newer_sibling="1")["waiting"] == 1
    _write_old(captures / "cap.pcap1", _scenario_frames()[20:40])
    os.utime(str(captures / "cap.pcap1"), (OLD + 5, OLD + 5))
    _collect(captures, tmp_path / "ck", sink, require_newer_sibling="1")
    assert {p for p, _ in sink.records} == {str(captures / "cap.pcap0")}


def test_appended_replaced_renamed_and_bad_files(tmp_path):
    captures, checkpoints = tmp_path / "captures", tmp_path / "ck"
    captures.mkdir()
    frames = _scenario_frames()
    _write_old(captures / "a.pcap", frames[:100])
    (captures / "notes.txt").write_text("not a capture")
    os.utime(str(captures / "notes.txt"), (OLD, OLD))
    (captures / "broken.pcap").write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 10)
    os.utime(str(captures / "broken.pcap"), (OLD, OLD))
    sink = _Sink()
    _collect(captures, checkpoints, sink)
    packets_first = sum(r["packets"] for _, r in sink.records)
    assert packets_first == 100
    warnings = [m for s, m in sink.messages if s == "WARN"]
    assert any("notes.txt is not a pcap" in m for m in warnings)
    assert any("broken.pcap" in m and "truncated" in m for m in warnings)
    # Appended: only the new packets become records.
    syn.write_pcap(str(captures / "a.pcap"), frames)
    os.utime(str(captures / "a.pcap"), (OLD + 1, OLD + 1))
    sink2 = _Sink()
    _collect(captures, checkpoints, sink2)
    assert sum(r["packets"] for _, r in sink2.records) == len(frames) - 100
    assert not any("notes.txt" in m for _, m in sink2.messages)     # logged once only
    # Renamed: not read again. Replaced with other content: read again.
    os.rename(str(captures / "a.pcap"), str(captures / "renamed.pcap"))
    sink3 = _Sink()
    _collect(captures, checkpoints, sink3)
    assert sink3.records == [] or sum(r["packets"] for _, r in sink3.records) == len(frames)
    _write_old(captures / "renamed.pcap", syn.ping("10.9.9.9", "10.8.8.8", 3, T0))
    sink4 = _Sink()
    _collect(captures, checkpoints, sink4)
    assert [r["src"] for _, r in sink4.records] == ["10.9.9.9"]


def test_dns_events_setting(tmp_path):
    captures = tmp_path / "captures"
    captures.mkdir()
    _write_old(captures / "a.pcap", _scenario_frames())
    sink = _Sink()
    _collect(captures, tmp_path / "ck", sink)
    assert len(sink.dns) == 20 and {r["dest"] for _, r in sink.dns} == {"10.0.0.53"}
    assert any("20 DNS transactions (40 messages)" in m for _, m in sink.messages)
    off = _Sink()
    _collect(captures, tmp_path / "ck2", off, dns_events="false")
    assert off.dns == [] and [r for _, r in off.records] == [r for _, r in sink.records]


# -- crash mid-file: SIGKILL and restart ---------------------------------------------------

def test_kill_mid_file_loses_nothing_and_repeats_at_most_one_commit(tmp_path):
    captures, checkpoints = tmp_path / "captures", tmp_path / "ck"
    captures.mkdir()
    for number in range(2):
        _write_old(captures / ("rot.pcap%d" % number),
                   syn.mixed_traffic(30000, start=T0 + number * 100, seed=number))
    # Reference: one uninterrupted run in another checkpoint folder.
    params = {"idle_timeout": "2", "entropy_sample_bytes": "256"}
    reference = run_script(sys.executable, ROOT / "bin" / "c2flow.py",
                           _definition(captures, tmp_path / "ref", **params))
    assert reference.returncode == 0, reference.stderr
    expected = sorted(json.dumps(e[3], sort_keys=True) for e in _events(reference.stdout))
    assert len(expected) > 5000

    definition = _definition(captures, checkpoints, **params)
    output = tmp_path / "stdout.xml"
    kills_mid_file = kills = 0
    for attempt in range(8):
        with open(str(output), "ab") as sink:
            process = subprocess.Popen([sys.executable, str(ROOT / "bin" / "c2flow.py")],
                                       stdin=subprocess.PIPE, stdout=sink,
                                       stderr=subprocess.DEVNULL, cwd=str(ROOT / "bin"))
            process.stdin.write(definition)
            process.stdin.close()
            deadline = time.time() + 120
            killed = False
            while process.poll() is None and time.time() < deadline:
                state = _state(checkpoints)
                if any(e.get("status") == "reading" and e.get("emitted", 0) > 0
                       for e in state.values()) and attempt < 3:
                    process.send_signal(signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.01)
            process.wait(timeout=120)
        if killed:
            kills += 1
            if any(e.get("status") == "reading" for e in _state(checkpoints).values()):
                kills_mid_file += 1
            continue
        assert process.returncode == 0
        break
    assert kills_mid_file >= 1
    got = Counter(json.dumps(e[3], sort_keys=True) for e in _events(output.read_bytes()))
    want = Counter(expected)
    assert not want - got                         # nothing lost
    assert set(got) == set(want)                  # nothing changed or cut
    # At-least-once: a kill may repeat what went out since the last progress line.
    assert sum((got - want).values()) <= flow_input.RECORDS_PER_COMMIT * kills


def _state(checkpoints, name="c2flow://lab"):
    """The checkpoint as the input loads it (snapshot plus journal)."""
    from c2hunt.capture import checkpoint
    store = checkpoint.CheckpointStore(str(checkpoints), name)
    store.close()
    return store.files


# c2flow.py's _EventBatchWriter writes the <stream> header itself and sets splunklib's
# EventWriter.header_written, so that EventWriter.close() ends the stream (splunk-sdk 2.1.1).
# A release that renames the attribute or changes close() must fail here, loudly.
SDK_INTERNALS_VERIFIED_FOR = "2.1.1"


def test_splunk_sdk_pin_is_the_release_whose_event_writer_was_checked():
    requirements = ROOT / "package" / "requirements-vendor.txt"
    pins = [line.split("==", 1)[1].strip() for line in requirements.read_text().splitlines()
            if line.startswith("splunk-sdk==")]
    assert pins == [SDK_INTERNALS_VERIFIED_FOR], (
        "splunk-sdk pin changed: check c2flow.py's use of EventWriter.header_written against "
        "the new release, then update SDK_INTERNALS_VERIFIED_FOR")


def test_event_writer_header_written_is_what_close_reads():
    import io
    from splunklib.modularinput.event_writer import EventWriter

    out = io.StringIO()
    writer = EventWriter(output=out, error=io.StringIO())
    assert writer.header_written is False
    writer.close()
    assert out.getvalue() == ""                     # nothing opened: nothing to end
    out.write("<stream>")                           # what c2flow writes itself
    writer.header_written = True
    writer.close()
    assert out.getvalue() == "<stream></stream>"
