"""Windows XML files (``readers.windows.read_winxml``): the line a broken record is reported
at, counted on from the previous record (the count from the top of the file was quadratic)."""
import re

from c2hunt_offline.readers.windows import read_winxml

RECORD = (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
    '<Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID>'
    '<TimeCreated SystemTime="2024-05-14T10:00:04.4582040Z"/><EventRecordID>1390</EventRecordID>'
    '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>ws1.corp.example.com</Computer>'
    '</System><EventData><Data Name="Image">C:\\Windows\\System32\\cmd.exe</Data></EventData></Event>')


def test_issue_lines_are_the_record_lines():
    good = RECORD.replace("><", ">\n<", 3)  # records over several lines
    text = "\n".join([good, good[:-len("</Event>")], "", good, "<Event>broken</Event>", good, "\n"])
    events, issues = read_winxml("x.xml", text)
    starts = [m.start() for m in re.finditer(r"<Event[\s>]", text)]
    lines = [text.count("\n", 0, s) + 1 for s in starts]
    assert len(events) == 3 and [e["EventCode"] for e in events] == ["1"] * 3
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [
        (lines[1], "Windows XML event without </Event>"), (lines[3], "unreadable Windows XML event")]
    assert lines[1] == 5 and lines[3] == 14  # 4 lines a record, one blank line


def _reference_normalise_data(ev, data, channel, from_binary):
    """The EventData loop of normalise_windows as it was before put() was inlined for text."""
    from c2hunt_offline.readers.common import put
    from c2hunt_offline.readers.windows import SYSMON_CHANNELS, _lower_bool, _windows_rendering
    for name, value in data.items():
        if value is None:
            continue
        value = value.strip() if isinstance(value, str) else value
        if from_binary:
            value = _windows_rendering(value)
        if channel in SYSMON_CHANNELS:
            value = _lower_bool(value)
        put(ev, name, value)


VALUES = ["x", " padded ", "-", " - ", "", "  ", "True", "FALSE", " true ", "TRUE ", "0x0000003e7", "0X1F",
          "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "5770385F-C22A-43E0-BF4C-06F5698FFBD9", 7, 0, 1.5, True,
          ["a", "", "-", None, 3], ["only"], [], None, "C:\\Windows\\System32\\cmd.exe", "caf\u00e9"]


def test_event_data_values_as_put_sets_them():
    import itertools

    from c2hunt_offline.readers.windows import SYSMON_CHANNEL, SYSMON_LINUX_CHANNEL, normalise_windows
    for channel, from_binary in itertools.product((SYSMON_CHANNEL, SYSMON_LINUX_CHANNEL, "Security", "System"),
                                                  (False, True)):
        data = {"Field%d" % n: value for n, value in enumerate(VALUES)}
        data["Image"] = "C:\\Tools\\a.exe"
        system = {"EventID": "3", "Channel": channel, "Computer": "ws1"}
        ev = normalise_windows(system, data, "raw", "f", from_binary=from_binary)
        expected = {}
        _reference_normalise_data(expected, data, channel, from_binary)
        assert {k: ev.get(k) for k in expected} == expected
        assert not [k for k in data if k not in expected and k in ev], channel
