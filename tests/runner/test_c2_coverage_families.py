"""Web-service C2 from non-browser processes, Tor outside Tor Browser, C2-framework default
artefacts and dynamic-DNS/DGA/abused-TLD lookups by LOLBins (issue 15, items 3 to 6), on
hand-made Sysmon and Zeek events: each attack raises its signal, the everyday use of the same
service, program or port next to it stays quiet."""
from c2hunt_offline import Runner

WEB = "C2Hunt - Web Service C2 From Non-Browser Process - Rule"
TOR = "C2Hunt - Tor Use Outside Tor Browser - Rule"
ARTEFACT = "C2Hunt - C2 Framework Default Artefact - Rule"
LOLBIN = "C2Hunt - Dynamic DNS, DGA Or Suspicious TLD Lookup By LOLBin - Rule"
SYSMON = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
T0 = 1715677200.0
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
TOR_BROWSER = "C:\\Users\\max\\Desktop\\Tor Browser\\Browser\\"


def _sysmon(host, event_code, image, at=0.0, **fields):
    return dict(fields, _time=T0 + at, sourcetype=SYSMON, source=SYSMON, host=host,
                EventCode=str(event_code), Image=image, User="CORP\\max", _raw=str(fields))


def _dns(host, image, query, at=0.0):
    return _sysmon(host, 22, image, at, QueryName=query)


def _connect(host, image, dest, port, hostname="-", at=0.0):
    return _sysmon(host, 3, image, at, DestinationIp=dest, DestinationPort=str(port),
                   DestinationHostname=hostname, Initiated="true", Protocol="tcp")


def _zeek(sourcetype, client, **fields):
    return dict(fields, _time=T0, sourcetype=sourcetype, source=sourcetype, host="sensor",
                **{"id.orig_h": client, "_raw": str(fields)})


def _hunt(events, name):
    notables, errors = Runner().hunt(events, names=[name])
    assert errors == {}
    found = {}
    for n in notables:
        signals = n.fields.get("signals") or []
        signals = [signals] if isinstance(signals, str) else signals
        found[n.host] = (n.signal, int(n.risk_score), sorted(signals))
    return found


def test_web_service_c2_from_non_browser_processes():
    events = [
        _dns("ws-ps", POWERSHELL, "api.telegram.org"),
        _dns("ws-implant", "C:\\Users\\max\\AppData\\Roaming\\svc\\updater.exe", "discord.com"),
        _connect("ws-paste", "C:\\ProgramData\\job\\task.exe", "104.20.67.143", 443, "pastebin.com"),
        _dns("ws-raw", "C:\\Windows\\System32\\mshta.exe", "raw.githubusercontent.com"),
        # the services' own clients and browsers
        _dns("ws-tg", "C:\\Users\\max\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe", "api.telegram.org"),
        _dns("ws-discord", "C:\\Users\\max\\AppData\\Local\\Discord\\app-1.0.9\\Discord.exe", "cdn.discordapp.com"),
        _dns("ws-chrome", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "pastebin.com"),
        _dns("ws-onedrive", "C:\\Users\\max\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", "api.onedrive.com"),
        # lookalikes and services outside the list
        _dns("ws-other", POWERSHELL, "telegram.org.example.net"),
        _dns("ws-graph", "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "graph.microsoft.com"),
    ]
    found = _hunt(events, WEB)
    assert found == {
        # PowerShell: the service (65) and a script host as the caller (+10)
        "ws-ps": ("Web_Service_C2_telegram_bot_api", 75,
                  ["Web_Service_C2_telegram_bot_api", "Web_Service_From_Script_Or_LOLBin"]),
        "ws-implant": ("Web_Service_C2_discord", 60, ["Web_Service_C2_discord"]),
        "ws-paste": ("Web_Service_C2_paste_site", 60, ["Web_Service_C2_paste_site"]),
        # raw GitHub is weak (45); mshta as the caller is the stronger signal (50), together 60
        "ws-raw": ("Web_Service_From_Script_Or_LOLBin", 60,
                   ["Web_Service_C2_github_raw", "Web_Service_From_Script_Or_LOLBin"]),
    }


def test_tor_outside_tor_browser():
    tor = "C:\\Users\\max\\AppData\\Local\\Temp\\tor\\tor.exe"
    renamed = "C:\\ProgramData\\Intel\\igfxsvc.exe"
    events = [
        _sysmon("ws-tor", 1, tor, CommandLine="tor.exe --SocksPort 127.0.0.1:9050 --quiet"),
        _connect("ws-tor", tor, "185.220.101.4", 9001, at=2),
        _sysmon("ws-renamed", 1, renamed, CommandLine="igfxsvc.exe -f C:\\ProgramData\\Intel\\torrc"),
        _connect("ws-remote-socks", "C:\\Users\\max\\Downloads\\agent.exe", "10.20.9.9", 9050),
        _dns("ws-onion", "C:\\Users\\max\\Downloads\\agent.exe", "expyuzz4wqqyqhjn.onion"),
        _zeek("bro:dns:json", "10.20.1.44", query="duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion."),
        # Tor Browser in its own folder: its tor to a relay, firefox to its local SOCKS port
        _sysmon("ws-tb", 1, TOR_BROWSER + "TorBrowser\\Tor\\tor.exe",
                CommandLine="tor.exe -f \"" + TOR_BROWSER + "TorBrowser\\Data\\Tor\\torrc\" +__SocksPort 127.0.0.1:9150"),
        _connect("ws-tb", TOR_BROWSER + "TorBrowser\\Tor\\tor.exe", "185.220.101.4", 9001),
        _connect("ws-tb", TOR_BROWSER + "firefox.exe", "127.0.0.1", 9150),
        # a local SOCKS port is the Sysmon search's business, not this one's
        _connect("ws-local", "C:\\Tools\\proxychains.exe", "127.0.0.1", 9050),
        _dns("ws-tp", POWERSHELL, "www.torproject.org"),
    ]
    found = _hunt(events, TOR)
    assert found == {
        "ws-tor": ("Tor_Client_Outside_Tor_Browser", 80,
                   ["Tor_Client_Outside_Tor_Browser", "Tor_Relay_Port_9001"]),
        "ws-renamed": ("Tor_Client_Outside_Tor_Browser", 70, ["Tor_Client_Outside_Tor_Browser"]),
        "ws-remote-socks": ("Tor_Relay_Port_9050", 60, ["Tor_Relay_Port_9050"]),
        "ws-onion": ("Tor_Onion_Lookup", 60, ["Tor_Onion_Lookup"]),
        "10.20.1.44": ("Tor_Onion_Lookup", 60, ["Tor_Onion_Lookup"]),
    }


def test_c2_framework_default_artefacts():
    empire_ua = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
    chrome_ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    events = [
        _sysmon("ws-cs", 17, "C:\\Windows\\System32\\rundll32.exe", PipeName="\\postex_a3f1"),
        _sysmon("ws-cs", 17, "C:\\Windows\\System32\\rundll32.exe", PipeName="\\msagent_5c"),
        _sysmon("ws-artifact", 18, "C:\\Users\\max\\Downloads\\invoice.exe", PipeName="\\MSSE-4821-server"),
        _dns("ws-stager", "C:\\Windows\\System32\\rundll32.exe", "aaa.stage.8812345.cdn.example.net"),
        _zeek("bro:dns:json", "10.20.1.50", query="baa.stage.8812345.cdn.example.net"),
        _zeek("bro:http:json", "10.20.1.51", method="GET", uri="/news.php", user_agent=empire_ua, host="203.0.113.8"),
        _zeek("bro:http:json", "10.20.1.51", method="POST", uri="/login/process.php", user_agent=empire_ua, host="203.0.113.8"),
        _zeek("bro:http:json", "10.20.1.52", method="POST", uri="/submit.php?id=1882917", user_agent=empire_ua, host="203.0.113.9"),
        # Windows' own pipes, a browser on a news.php page, a staging web site
        _sysmon("ws-ok", 17, "C:\\Windows\\System32\\svchost.exe", PipeName="\\srvsvc"),
        _sysmon("ws-ok", 17, "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", PipeName="\\mojo.5688.8052.1234"),
        _zeek("bro:http:json", "10.20.1.53", method="GET", uri="/news.php", user_agent=chrome_ua, host="news.example.org"),
        _zeek("bro:dns:json", "10.20.1.54", query="api.stage.corp.example"),
    ]
    found = _hunt(events, ARTEFACT)
    assert found == {
        # two default pipes are one signal (signals count once per kind and framework)
        "ws-cs": ("C2_Default_Named_Pipe_Cobalt_Strike", 80, ["C2_Default_Named_Pipe_Cobalt_Strike"]),
        "ws-artifact": ("C2_Default_Named_Pipe_Cobalt_Strike", 80, ["C2_Default_Named_Pipe_Cobalt_Strike"]),
        "ws-stager": ("C2_Default_DNS_Stager_Cobalt_Strike", 80, ["C2_Default_DNS_Stager_Cobalt_Strike"]),
        "10.20.1.50": ("C2_Default_DNS_Stager_Cobalt_Strike", 80, ["C2_Default_DNS_Stager_Cobalt_Strike"]),
        "10.20.1.51": ("C2_Default_HTTP_Profile_Empire", 70, ["C2_Default_HTTP_Profile_Empire"]),
        "10.20.1.52": ("C2_Default_HTTP_Profile_Cobalt_Strike", 60, ["C2_Default_HTTP_Profile_Cobalt_Strike"]),
    }


def test_dynamic_dns_dga_and_abused_tld_lookups_by_lolbins():
    events = [
        _dns("ws-ddns", "C:\\Windows\\System32\\rundll32.exe", "update-check.duckdns.org"),
        _dns("ws-dga", "C:\\Windows\\System32\\regsvr32.exe", "xkqjvtrwpzhmbd.com"),
        _dns("ws-hex", "C:\\Windows\\System32\\mshta.exe", "a3f9c2e1b7d4e8.net"),
        _dns("ws-tld", "C:\\Windows\\System32\\certutil.exe", "files-cdn.top"),
        _dns("ws-both", POWERSHELL, "qzxvbnmtrwplkj.xyz"),
        # the same LOLBins on everyday names, and other programs on the same names
        _dns("ws-ok", POWERSHELL, "windowsupdate.microsoft.com"),
        _dns("ws-ok", "C:\\Windows\\System32\\certutil.exe", "ctldl.windowsupdate.com"),
        _dns("ws-ok", "C:\\Windows\\System32\\rundll32.exe", "login.microsoftonline.com"),
        _dns("ws-ok", POWERSHELL, "psg-prod-eastus.azureedge.net"),
        _dns("ws-ok", POWERSHELL, "stackoverflowteams.com"),
        _dns("ws-app", "C:\\Program Files\\Plex\\Plex Media Server.exe", "myhome.duckdns.org"),
        _dns("ws-app", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "xkqjvtrwpzhmbd.com"),
    ]
    found = _hunt(events, LOLBIN)
    assert found == {
        "ws-ddns": ("LOLBin_Dynamic_DNS_Lookup", 65, ["LOLBin_Dynamic_DNS_Lookup"]),
        "ws-dga": ("LOLBin_DGA_Like_Lookup", 55, ["LOLBin_DGA_Like_Lookup"]),
        "ws-hex": ("LOLBin_DGA_Like_Lookup", 55, ["LOLBin_DGA_Like_Lookup"]),
        "ws-tld": ("LOLBin_Suspicious_TLD_Lookup", 50, ["LOLBin_Suspicious_TLD_Lookup"]),
        "ws-both": ("LOLBin_DGA_Like_Lookup", 65, ["LOLBin_DGA_Like_Lookup", "LOLBin_Suspicious_TLD_Lookup"]),
    }


def test_netsh_port_proxy_is_a_command_line_signal():
    """netsh portproxy (T1090), detected by ESCU, Sigma and Elastic alike, is a row of the
    command-line search; showing or deleting relays is not."""
    netsh = "C:\\Windows\\System32\\netsh.exe"
    events = [
        _sysmon("ws-pivot", 1, netsh, CommandLine="netsh interface portproxy add v4tov4 listenport=8443 "
                "listenaddress=0.0.0.0 connectport=3389 connectaddress=10.20.5.5"),
        _sysmon("ws-admin", 1, netsh, CommandLine="netsh interface portproxy show all"),
        _sysmon("ws-admin", 1, netsh, CommandLine="netsh advfirewall show allprofiles", at=1),
    ]
    for event in events:
        event["ProcessGuid"] = "{%s-%d}" % (event["host"], len(event["CommandLine"]))
    found = _hunt(events, "C2Hunt - Tunnelling Tool Or Reverse Shell Command Line - Rule")
    assert found == {"ws-pivot": ("Netsh_Port_Proxy", 55, ["Netsh_Port_Proxy"])}


def test_evtx_attack_samples_raise_none_of_the_four_searches(evtx_events):
    """The public EVTX attack samples (Meterpreter, PowerShell downloads, plink, Mimikatz fetched
    from GitHub by address, admin tools; one Sysmon pipe event) hold no web-service name, Tor,
    framework default or LOLBin lookup: the four searches stay quiet on them, and the samples
    do carry the event types they read."""
    events, issues = evtx_events
    assert issues == []
    codes = {e.get("EventCode") for e in events}
    assert {"1", "3", "18"} <= codes
    notables, errors = Runner().hunt(events, names=[WEB, TOR, ARTEFACT, LOLBIN])
    assert errors == {}
    assert notables == []
