"""The raw TCP signal (AN1254) on the public EVTX-ATTACK-SAMPLES: the Meterpreter sessions
raise, the RDP tunnels and web fetches stay quiet. Skips when the dataset is absent."""
from c2hunt_offline import Runner

SYSMON = "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"
WFP = "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"


def test_meterpreter_over_raw_tcp(evtx_events):
    events, _ = evtx_events
    notables, errors = Runner().hunt(events, names=[SYSMON, WFP])
    assert not errors
    got = sorted((n.search, n.host, n.signal, n.risk_score, n.fields["Image"].rsplit("\\", 1)[-1],
                  n.fields["DestinationIp"]) for n in notables)
    assert got == [
        (SYSMON, "IEWIN7", "Raw_TCP_Unusual_Port_4443", 70, "mshta.exe", "10.0.2.18"),
        (SYSMON, "IEWIN7", "Raw_TCP_Unusual_Port_4443", 70, "wscript.exe", "10.0.2.18"),
        # PsExec Meterpreter (PowerShell as SYSTEM); Invoke-Mimikatz's PowerShell fetch from
        # 151.101.36.133:443 is a service port and raises nothing.
        (SYSMON, "IEWIN7", "Raw_TCP_Unusual_Port_4444", 70, "powershell.exe", "10.0.2.19"),
    ]
