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
