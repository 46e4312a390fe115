"""The Windows XML frame reader (``readers.winframes``) against the dict reader (``read_winxml``).

``read_frame`` of an XmlWinEventLog export must hold exactly what ``detect_and_read`` + the
runner's defaults give (as ``frame_from_rows`` holds those events: columns, dtypes, every value,
line order) and the same issues, or decline the file (None: the dict readers read it). Checked
on generated Sysmon (the scale benchmark's), on the shared datasets' EVTX rendered as XML
exports (skipped when absent), and on hostile records, each saying whether the frame reads it
(``native``), hands the line to the dict reader's functions (``python``) or declines the file.
"""
import re
from pathlib import Path

import pytest

from c2hunt_offline.columnar.table import python_values
from c2hunt_offline.readers import frames, winframes
from c2hunt_offline.readers.frames import FrameChunks, read_frame
from support import assert_frame_reader_same as assert_same
from support import dict_reader_frame as dict_frame

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


@pytest.fixture
def python_lines(monkeypatch):
    """The line numbers the frame reader hands to the dict reader's functions."""
    seen = []
    original = winframes.WinXmlLog._python_records

    def counted(self, records, numbers):
        seen.extend(numbers)
        return original(self, records, numbers)

    monkeypatch.setattr(winframes.WinXmlLog, "_python_records", counted)
    return seen


def record(event_id="3", channel=SYSMON, data=None, system_extra="", time="2024-05-14T10:00:04.4582040Z",
           quote='"', computer="ws1.corp.example.com", data_xml=None, head=None):
    q = quote
    data = data if data is not None else [
        ("RuleName", "-"), ("UtcTime", "2024-05-14 10:00:04.458"), ("ProcessId", "4242"),
        ("Image", "C:\\Users\\bob\\AppData\\Local\\Temp\\updater.exe"), ("User", "CORP\\bob"),
        ("Protocol", "tcp"), ("Initiated", "true"), ("SourceIsIpv6", "false"), ("SourceIp", "10.1.2.3"),
        ("SourcePort", "50123"), ("DestinationIp", "203.0.113.7"), ("DestinationPort", "443")]
    if data_xml is None:
        data_xml = "<EventData>%s</EventData>" % "".join(
            "<Data Name=%s%s%s>%s</Data>" % (q, name, q, value) for name, value in data)
    head = head if head is not None else "<Event xmlns=%s%s%s>" % (q, NS, q)
    return (head + "<System><Provider Name=%sMicrosoft-Windows-Sysmon%s Guid=%s{5770385f-c22a-43e0-bf4c-06f5698ffbd9}%s/>"
            "<EventID>%s</EventID><Version>5</Version><Level>4</Level><Task>3</Task><Opcode>0</Opcode>"
            "<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime=%s%s%s/>"
            "<EventRecordID>1771</EventRecordID><Correlation/><Execution ProcessID=%s3320%s ThreadID=%s4512%s/>"
            "<Channel>%s</Channel><Computer>%s</Computer><Security UserID=%sS-1-5-18%s/>%s</System>%s</Event>"
            % (q, q, q, q, event_id, q, time, q, q, q, q, q, channel, computer, q, q, system_extra, data_xml))


def write(tmp_path, lines, name="sysmon.xml", newline="\n", raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    return path


# ---------------------------------------------------------------- generated and real data

def test_generated_sysmon(tmp_path, python_lines):
    import offline_scale  # benchmarks/ is on the tests' pythonpath

    paths, _ = offline_scale.generate_sysmon(str(tmp_path), 3000, hosts=60, files=3)
    for path in paths:
        got = assert_same(path)
        assert got.height > 100
    assert python_lines == [], "generated Sysmon is Windows' own layout: every line read as columns"


def test_generated_sysmon_in_blocks(tmp_path, python_lines):
    """FrameChunks over small blocks: the same rows as the whole read, block by block."""
    import offline_scale

    paths, _ = offline_scale.generate_sysmon(str(tmp_path), 2000, hosts=40, files=1)
    whole, _ = read_frame(paths[0])
    chunks = FrameChunks(paths[0], block_bytes=64 * 1024)
    parts = list(chunks)
    assert not chunks.declined and chunks.issues == [] and len(parts) > 3
    assert sum(p.height for p in parts) == whole.height
    for name in ("_raw", "EventCode", "process_name", "dest_ip", "_time"):
        joined = [v for p in parts for v in (python_values(p.get_column(name)) if name in p.columns
                                              else [None] * p.height)]
        assert joined == python_values(whole.get_column(name)), name


def test_samples(python_lines):
    """Every Windows XML export of samples/ (Sysmon, Security, Sysmon for Linux)."""
    samples = sorted((Path(__file__).resolve().parents[2] / "samples").rglob("*.xml"))
    read, wfp = 0, 0
    for path in samples:
        got = assert_same(path, native="linux" not in path.name)
        read += got.height if got is not None else 0
        wfp += len(re.findall(r"<EventID>515[2678]</EventID>.*<Channel>Security</Channel>", path.read_text()))
    assert len(samples) > 5 and read > 1000 and wfp > 100
    # WFP events too are read as columns: nothing goes to the dict reader's functions
    assert python_lines == []


def _evtx_as_xml_lines(path):
    """The records of an EVTX file as the Rust parser renders them, one a line (an export)."""
    evtx = pytest.importorskip("evtx")
    lines = []
    for item in evtx.PyEvtxParser(str(path)).records():
        xml_text = item["data"]
        if xml_text.startswith("<?xml"):
            xml_text = xml_text.split("?>", 1)[1]
        lines.append(re.sub(r">\s+<", "><", xml_text.strip()))
    return lines


def test_dataset_evtx_rendered_as_exports(tmp_path, python_lines):
    folder = DATASETS / "evtx-attack-samples"
    files = sorted(folder.glob("*.evtx")) if folder.is_dir() else []
    if not files:
        pytest.skip("shared datasets absent")
    read, by_python, not_sysmon = 0, 0, 0
    for path in files:
        lines = _evtx_as_xml_lines(path)
        export = write(tmp_path, lines, name=path.stem + ".xml")
        python_lines.clear()
        got = assert_same(export)
        read += got.height
        by_python += len(python_lines)
        not_sysmon += sum(1 for line in lines if "<Channel>%s</Channel>" % SYSMON not in line or "\n" in line)
        # the parser's own rendering, a record over many lines: cut as read_winxml cuts it
        pretty = write(tmp_path, [], name=path.stem + ".pretty.xml",
                       raw=b"\n".join(item["data"].encode() for item in __import__("evtx").PyEvtxParser(str(path)).records()))
        assert assert_same(pretty).height == got.height
    assert read > 100
    # every Sysmon record is read as columns; Security ones (5156, 4624) by the dict reader's functions
    assert 0 < by_python <= not_sysmon < read, (by_python, not_sysmon, read)


# ---------------------------------------------------------------- hostile records

def _hostile_lines():
    good = record()
    cases = {
        "entities": record(data=[("Image", "C:\\a&amp;b\\x.exe"), ("CommandLine", "a &lt;b&gt; &quot;c&quot; &apos;d&apos; &amp;amp;")],
                           event_id="1"),
        "numeric entity": record(data=[("Image", "C:\\a&#x41;b.exe")]),
        "cdata": record(data=[("Image", "<![CDATA[C:\\x.exe]]>")]),
        "cdata end in text": record(data=[("CommandLine", "a]]>b")], event_id="1"),
        "nested element": record(data=[("Image", "C:\\x.exe<b>bold</b>")]),
        "missing EventID": record().replace("<EventID>3</EventID>", ""),
        "empty EventID": record().replace("<EventID>3</EventID>", "<EventID/>"),
        "EventID qualifiers": record(event_id="3").replace("<EventID>", "<EventID Qualifiers='16384'>"),
        "duplicate Data": record(data=[("Image", "C:\\a.exe"), ("Image", "C:\\b.exe"), ("ProcessId", "1")]),
        "duplicate Data last empty": record(data=[("Image", "C:\\a.exe"), ("Image", "-")]),
        "unnamed Data": record(data_xml="<EventData><Data>x</Data><Data Name='Image'>C:\\a.exe</Data></EventData>"),
        "binary": record(data_xml="<EventData><Data Name='Image'>C:\\a.exe</Data><Binary>00FF</Binary></EventData>"),
        "user data": record(data_xml="<UserData><Kind><Image>C:\\a.exe</Image></Kind></UserData>"),
        "attributes reordered": record().replace(
            "<Provider Name=\"Microsoft-Windows-Sysmon\" Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"/>",
            "<Provider Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\" Name=\"Microsoft-Windows-Sysmon\"/>"),
        "single quotes": record(quote="'"),
        "quote in value": record(data=[("CommandLine", "say \"hi\" it's")], event_id="1", quote="'").replace(
            "Name='CommandLine'>say \"hi\" it's", "Name='CommandLine'>say \"hi\" it&apos;s"),
        "tab in attribute": record().replace("SystemTime=\"", "SystemTime=\"\t"),
        "tab in text": record(data=[("CommandLine", "a\tb")], event_id="1"),
        "control character": record(data=[("CommandLine", "a\x01b")], event_id="1"),
        "padded values": record(data=[("Image", "  C:\\x.exe "), ("Initiated", " True "), ("User", " - ")]),
        "upper-case booleans": record(data=[("Initiated", "FALSE"), ("SourceIsIpv6", "True")]),
        "empty Data": record(data_xml="<EventData><Data Name='Image'/><Data Name='User'></Data></EventData>"),
        "empty EventData": record(data_xml="<EventData/>"),
        "no EventData": record(data_xml=""),
        "Data named host": record(data=[("host", "evil"), ("Image", "C:\\a.exe")]),
        "UNC image": record(data=[("Image", "\\\\server\\share")]),
        "image ending in a separator": record(data=[("Image", "C:\\dir\\"), ("Protocol", "tcp")]),
        "image dash name": record(data=[("Image", "C:\\dir\\-")]),
        "linux path": record(data=[("Image", "/usr/bin/curl")]),
        "non-ASCII protocol": record(data=[("Protocol", "T\u0130CP")]),
        "unicode text": record(data=[("CommandLine", "caf\u00e9 \u2603 \U0001F600")], event_id="1"),
        "offset timestamp": record(time="2024-05-14T12:00:04.4582040+02:00"),
        "space timestamp": record(time="2024-05-14 10:00:04.458"),
        "bad timestamp": record(time="yesterday"),
        "empty timestamp": record(time=""),
        "feb 30": record(time="2024-02-30T10:00:04Z"),
        "long fraction": record(time="2024-05-14T10:00:04.123456789Z"),
        "no fraction": record(time="2024-05-14T10:00:04Z"),
        "security 5156": record(event_id="5156", channel="Security", data=[
            ("ProcessID", "4"), ("Application", "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe"),
            ("Direction", "%%14593"), ("SourceAddress", "10.0.0.5"), ("SourcePort", "5000"),
            ("DestAddress", "198.51.100.9"), ("DestPort", "443"), ("Protocol", "6")]),
        "wfp inbound udp no application": record(event_id="5157", channel="Security", data=[
            ("ProcessID", "0"), ("Direction", "%%14592"), ("SourceAddress", "10.0.0.5"), ("SourcePort", "53"),
            ("DestAddress", "10.0.0.9"), ("DestPort", "5353"), ("Protocol", "17"), ("LayerName", "%%14610"),
            ("FilterRTID", "0")]),
        "wfp odd direction and protocol": record(event_id="5152", channel="Security", data=[
            ("Application", "C:\\x\\y.exe"), ("Direction", " Sideways "), ("Protocol", "47")]),
        "wfp dash values": record(event_id="5158", channel="Security", data=[
            ("Application", "-"), ("Direction", "-"), ("Protocol", "-"), ("SourceAddress", " ")]),
        "wfp classic name": record(event_id="5156", channel="Security", data=[
            ("Application", "C:\\a.exe"), ("Application_Name", "C:\\b.exe")]),
        "wfp Data named action": record(event_id="5156", channel="Security", data=[("action", "x")]),
        "wfp UNC application": record(event_id="5156", channel="Security", data=[("Application", "\\\\srv\\s")]),
        "security 4624": record(event_id="4624", channel="Security", data=[
            ("TargetUserName", "bob"), ("LogonType", "10"), ("IpAddress", "198.51.100.9"), ("IpPort", "-")]),
        "security 4688": record(event_id="4688", channel="Security", data=[
            ("NewProcessName", "C:\\Windows\\System32\\cmd.exe"), ("CommandLine", "cmd")]),
        "linux sysmon": record(channel="Linux-Sysmon/Operational", data=[("Image", "/usr/bin/curl"), ("Initiated", "true")]),
        "other channel": record(event_id="7045", channel="System", data=[("ServiceName", "svc"), ("ImagePath", "C:\\s.exe")]),
        "process create": record(event_id="1", data=[
            ("Image", "C:\\Windows\\System32\\cmd.exe"), ("CommandLine", "cmd /c whoami"),
            ("ParentImage", "C:\\Windows\\explorer.exe"), ("ParentCommandLine", "explorer.exe"), ("User", "CORP\\bob")]),
        "process create no command line": record(event_id="1", data=[("Image", "C:\\a.exe"), ("ParentImage", "\\\\srv\\x")]),
        "dns query": record(event_id="22", data=[("QueryName", "example.com"), ("QueryResults", "type: 5 x;"),
                                                 ("Image", "C:\\a.exe")]),
        "no namespace": record(head="<Event>"),
        "closing brace namespace": record(head="<Event xmlns='a}b'>"),
        "whitespace around": "  \t" + good + " \t",
        "text after record": good + "<!-- trailing -->",
        "xml declaration before": "<?xml version='1.0'?>" + good,
        "wrapped": "<Events>" + good + "</Events>",
        "unclosed Data": record(data_xml="<EventData><Data Name='Image'>C:\\a.exe</EventData>"),
        "mismatched tag": record().replace("</Level>", "</Levl>"),
        "empty computer": record(computer=""),
        "dash computer": record(computer="-"),
        "padded EventID": record(event_id=" 3 "),
        "entity in EventID": record(event_id="&#51;"),
    }
    return good, cases


NOT_NATIVE = {"numeric entity", "cdata", "cdata end in text", "nested element", "unnamed Data", "binary",
              "user data", "attributes reordered", "tab in attribute", "control character",
              "duplicate Data", "duplicate Data last empty", "Data named host", "UNC image",
              "non-ASCII protocol", "bad timestamp", "feb 30", "security 4688", "wfp classic name",
              "wfp Data named action", "wfp UNC application", "process create no command line",
              "closing brace namespace", "text after record", "xml declaration before", "wrapped", "unclosed Data",
              "mismatched tag", "entity in EventID"}


def test_hostile_records_each(tmp_path, python_lines):
    good, cases = _hostile_lines()
    for name, line in cases.items():
        python_lines.clear()
        path = write(tmp_path, [good, line, good], name=re.sub(r"\W", "_", name) + ".xml")
        got = assert_same(path)
        assert got is not None and got.height >= 2, name
        assert python_lines == ([2] if name in NOT_NATIVE else []), name


def test_hostile_records_together(tmp_path):
    good, cases = _hostile_lines()
    lines = [good] + list(cases.values()) * 3 + [good]
    assert_same(write(tmp_path, lines, name="all.xml"))
    assert_same(write(tmp_path, lines, name="all_crlf.xml", newline="\r\n"))
    bom = write(tmp_path, [], name="bom.xml", raw=b"\xef\xbb\xbf" + "\n".join(lines).encode())
    assert_same(bom)


def test_issues_at_their_lines(tmp_path):
    good = record()
    lines = [good, record(time="yesterday"), "", good[:-len("</Event>")], "not xml at all", good,
             record().replace("</Level>", "</Levl>"), good, good[:200]]
    path = write(tmp_path, lines)
    got = assert_same(path)
    _, issues = read_frame(str(path))
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [
        (2, "unreadable Windows XML event"), (4, "Windows XML event without </Event>"),
        (7, "unreadable Windows XML event"), (9, "Windows XML event without </Event>")]
    assert got.height == 3


def test_records_over_lines(tmp_path, python_lines):
    """Records not closed on their line (values holding newlines, as Security's PrivilegeList
    does, or pretty-printed XML): cut from their start to the next record's, as read_winxml
    cuts them, and read by its functions."""
    good = record()
    lines = [good, good.replace("<EventData>", "\n  <EventData>\n").replace("</Data>", "</Data>\n"),
             record(data=[("CommandLine", "line one\r\n\tline two")], event_id="1"),
             good[:-len("</Event>")], "</Event>", "text after", good,
             good[:-len("</Event>")], "no close here", good]
    for newline in ("\n", "\r\n"):
        path = write(tmp_path, lines, name="multi%d.xml" % len(newline), newline=newline)
        python_lines.clear()
        got = assert_same(path)
        assert got.height == 6
        # the records over lines and the open ones (one closed by "</Event>" on its next line)
        spread = lines[1].count("\n") + lines[2].count("\n")
        assert python_lines == [2, 3 + lines[1].count("\n"), 4 + spread], python_lines


def test_declined_files(tmp_path):
    """Files whose records the frame cannot cut as read_winxml does, or whose text it cannot
    hold: the dict readers read them."""
    good = record()
    cases = {
        "two records on a line": [good + good, good],
        "a Data element named __line": [good, record(data=[("__line", "7")])],
    }
    for name, lines in cases.items():
        path = write(tmp_path, lines, name=re.sub(r"\W", "_", name) + ".xml")
        assert assert_same(path, native=False) is None, name
    invalid = write(tmp_path, [], name="invalid.xml", raw=(good + "\n").encode() + b"\xff\xfe" + (good + "\n").encode())
    assert assert_same(invalid, native=False) is None
    lone_cr = write(tmp_path, [], name="cr.xml", raw=(good + "\r" + good + "\n").encode())
    assert assert_same(lone_cr, native=False) is None


def test_open_record_across_blocks(tmp_path):
    """A record left open at a block's end: its issue, or the file declined when a later block
    closes it, whatever the block size."""
    good = record()
    lines = [good] * 40 + [good[:-len("</Event>")]] + [good] * 40
    path = write(tmp_path, lines)
    expected, expected_issues = dict_frame(path)
    for block in (4096, 16384, 1 << 20):
        chunks = FrameChunks(str(path), block_bytes=block)
        height = sum(p.height for p in chunks)
        assert not chunks.declined and height == expected.height == 80
        assert [str(i) for i in chunks.issues] == [str(i) for i in expected_issues]
    closed_later = write(tmp_path, [good] * 40 + [good[:-len("</Event>")], "x" * 5000, "</Event>"] + [good] * 5,
                         name="later.xml")
    expected, _ = dict_frame(closed_later)
    for block in (4096, 1 << 20):
        chunks = FrameChunks(str(closed_later), block_bytes=block)
        parts = list(chunks)
        assert not chunks.declined and chunks.issues == []
        assert [v for p in parts for v in p.get_column("_raw").to_list()] == expected.get_column("_raw").to_list()


def test_given_sourcetype_is_not_read_here(tmp_path):
    path = write(tmp_path, [record()] * 3)
    assert frames.read_frame(str(path), sourcetype="XmlWinEventLog")[0] is None


# ---------------------------------------------------------------- binary EVTX

def _evtx_files():
    folder = DATASETS / "evtx-attack-samples"
    files = sorted(folder.glob("*.evtx")) if folder.is_dir() else []
    if not files:
        pytest.skip("shared datasets absent")
    pytest.importorskip("evtx")
    return files


def test_evtx_files(monkeypatch):
    """Every EVTX file of the datasets: the Rust parser's records read as columns (Sysmon)
    or by the dict reader's functions (Security), the dict reader's events either way."""
    read, by_python, sysmon = 0, [], 0
    original = winframes.normalise_windows
    monkeypatch.setattr(winframes, "normalise_windows",
                        lambda system, *args, **kw: by_python.append(system.get("Channel")) or original(system, *args, **kw))
    for path in _evtx_files():
        got = assert_same(path)
        read += got.height
        sysmon += (got.get_column("Channel") == SYSMON).sum()
    assert read > 200 and sysmon > 100
    assert SYSMON not in by_python and 0 < len(by_python) <= read - sysmon


def test_evtx_in_batches(tmp_path):
    path = next(p for p in _evtx_files() if "sysmon" in p.name)
    whole, _ = read_frame(str(path))
    chunks = FrameChunks(str(path), block_bytes=10 * 1024)  # 10 records a batch
    parts = list(chunks)
    assert not chunks.declined and len(parts) > 1 and sum(p.height for p in parts) == whole.height
    assert [v for p in parts for v in p.get_column("_raw").to_list()] == whole.get_column("_raw").to_list()


def test_damaged_evtx(tmp_path):
    """A file cut inside a chunk (read from a padded copy) and one with a bad chunk header:
    the damage issue, the records recovered and the file's own path in c2hunt_file."""
    source = next(p for p in _evtx_files() if "sysmon" in p.name).read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(source[:4096 + 40000])
    got = assert_same(cut)
    assert set(got.get_column("c2hunt_file").to_list()) == {str(cut)}
    _, issues = read_frame(str(cut))
    assert "damaged EVTX: truncated" in str(issues[-1])
    bad = tmp_path / "bad.evtx"
    bad.write_bytes(source[:4096] + b"\0" * 8 + source[4104:])
    assert_same(bad, native=False)


# ---------------------------------------------------------------- fuzz

_PIECES = ["&amp;", "&#65;", "&lt;", "&bogus;", "<", ">", "'", '"', "\t", "\x01", "]]>", " ", "\u00a0", "\x1c",
           "-", "True", "/", "\\", "\\\\", "<![CDATA[x]]>", "<b/>", "</Data>", "<Data Name='x'>", "\n", "\r\n",
           "0x000a", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "Z", ".", "\u00e9", "<!-- c -->", "=", "Name"]


def test_fuzz_mutated_records(tmp_path):
    """Generated Sysmon lines with pieces inserted, spans deleted or quotes swapped at random
    places: the frame reader gives what the dict reader gives, whatever the damage, or
    declines the file (a deletion that turns "<EventID>" into "<Event>" puts two records on
    a line; with newlines among the pieces, a "<Event" left at a line's end starts a record
    there too). Without newlines most files are read here."""
    import random

    import offline_scale

    paths, _ = offline_scale.generate_sysmon(str(tmp_path), 400, hosts=20, files=1)
    lines = Path(paths[0]).read_text().splitlines()
    read = {False: 0, True: 0}
    for seed in range(1, 9):
        for newlines in (False, True):
            rng = random.Random(seed)
            pieces = [p for p in _PIECES if newlines or "\n" not in p]
            out = []
            for line in lines:
                for _ in range(rng.choice([0, 0, 1, 1, 2])):
                    at = rng.randrange(len(line))
                    action = rng.random()
                    if action < 0.6:
                        line = line[:at] + rng.choice(pieces) + line[at:]
                    elif action < 0.8:
                        line = line[:at] + line[at + rng.randrange(1, 12):]
                    else:
                        line = line.replace('"', "'", rng.randrange(1, 6))
                out.append(line)
            path = write(tmp_path, out, name="fuzz%d%s.xml" % (seed, "n" if newlines else ""))
            got = assert_same(path, native=False)
            if got is not None:
                assert got.height > 150
                read[newlines] += 1
    assert read[False] >= 4 and read[True] >= 2, read


def test_record_ending_on_the_next_records_line(tmp_path, python_lines):
    """Event Viewer's "Save as XML" (and wevtutil /f:RenderedXml): one line of records whose
    rendered messages hold newlines, so a line holds the end of one record ("...</Message>
    </RenderingInfo></Event>") and the start of the next: the open record ends there, as
    read_winxml cuts it, not at the line before (which lost every record but the last)."""
    message = "<RenderingInfo Culture='en-US'><Message>Network connection detected:\r\nRuleName: -\r\n" \
              "Image: C:\\tools\\x.exe</Message><Level>Information</Level></RenderingInfo></Event>"
    one = record(quote="'")[:-len("</Event>")] + message
    text = '<?xml version="1.0" encoding="UTF-8"?>\r\n<Events>' + one * 3 + "</Events>"
    for name, data in (("crlf.xml", text), ("lf.xml", text.replace("\r\n", "\n"))):
        path = write(tmp_path, [], name=name, raw=data.encode())
        got = assert_same(path)
        assert got is not None and got.height == 3
        assert python_values(got.get_column("Image")) == ["C:\\Users\\bob\\AppData\\Local\\Temp\\updater.exe"] * 3
