"""The simulated network: hosts, processes and the telemetry each action leaves behind.

A :class:`Recorder` turns actions (start a process, open a connection, create a socket)
into the records each sensor would log — Sysmon, Windows Filtering Platform (5156), auditd
and a Zeek sensor on the egress link — and renders them with :mod:`c2hunt_sim.formats`.
Everything random comes from one ``random.Random`` seeded by the scenario name and the
seed, so a scenario's files are identical from run to run and independent of other
scenarios.
"""
import collections
import hashlib
import ipaddress
import json
import random

from c2hunt_sim import formats

# Streams and the file each one is written to (see scenarios.write_scenario).
STREAM_FILES = collections.OrderedDict([
    ("sysmon", "sysmon.xml"),
    ("sysmon_linux", "syslog"),
    ("wineventlog_security", "wineventlog_security.xml"),
    ("auditd", "audit.log"),
    ("zeek_conn", "conn.log"),
    ("zeek_dns", "dns.log"),
    ("zeek_http", "http.log"),
    ("esxi", "esxi.log"),
    ("osquery", "osqueryd.results.log"),
    ("c2sockets", "c2sockets.json"),
    ("cim", "cim_export.json"),
])

# Linux x86_64 system call numbers and constants the auditd records carry.
AUDIT_ARCH_X86_64 = "c000003e"
SYSCALL_NUMBER = {"execve": 59, "socket": 41, "connect": 42}
AF = {"inet": 2, "inet6": 10, "packet": 17}
SOCK = {"stream": 1, "dgram": 2, "raw": 3}
IPPROTO = {"ip": 0, "icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "eth_p_all": 768}
SOCK_CLOEXEC = 0x80000
EINPROGRESS = -115

Host = collections.namedtuple("Host", "name ip os")
RESOLVER_CIM = "10.20.0.53"  # the internal DNS server whose log the CIM DNS events come from


class Recorder:
    """Collects the telemetry lines of one scenario.

    Parameters
    ----------
    name : str
        Scenario name; with ``seed`` it seeds the random stream.
    seed : int
        Base seed.
    zeek_networks : sequence of str
        CIDRs the Zeek sensor's ``local_orig``/``local_resp`` flags treat as local.
    """

    def __init__(self, name, seed, zeek_networks=("10.0.0.0/8",)):
        self.name = name
        self.rng = random.Random("%s:%d" % (name, seed))
        self.lines = collections.defaultdict(list)  # stream -> [(time, order, line)]
        self.packets = []  # [(time, order, frame bytes)] seen on the egress link
        self._order = 0
        self._record_ids = collections.Counter()
        self._audit_serial = 1000
        self._pids = collections.Counter()
        self._ports = collections.Counter()
        self._uids = 0
        self._osquery_counter = 0
        self._local = [ipaddress.ip_network(n) for n in zeek_networks]

    # -- helpers ---------------------------------------------------------------------
    def _emit(self, stream, time, line):
        self._order += 1
        self.lines[stream].append((time, self._order, line))

    def _hex(self, n_digits):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n_digits))

    def _guid(self):
        """A Sysmon process GUID, upper case as Windows renders it."""
        return ("{9F3C2A1E-%s-%s-%s-%s}" % (self._hex(4), self._hex(4), self._hex(4),
                                            self._hex(12))).upper()

    def new_pid(self, host):
        """A fresh process id on ``host`` (increasing, multiples of 4 on Windows)."""
        self._pids[host.name] += 1
        base = 4000 if host.os == "windows" else 2000
        step = 4 if host.os == "windows" else 1
        return base + step * (self._pids[host.name] * 7 + self.rng.randrange(0, 5))

    def ephemeral_port(self, host):
        """A fresh ephemeral source port on ``host``."""
        self._ports[host.name] += 1
        low = 49152 if host.os == "windows" else 32768
        return low + (self._ports[host.name] * 37 + self.rng.randrange(0, 31)) % 16000

    def _zeek_uid(self):
        self._uids += 1
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "C" + "".join(self.rng.choice(alphabet) for _ in range(17))

    def _is_local(self, address):
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self._local)

    # -- Windows ---------------------------------------------------------------------
    def windows_process(self, host, time, image, command_line, user, parent=None,
                        integrity="Medium", sysmon=True, **extra):
        """Start a process on a Windows host; logs Sysmon Event ID 1.

        Returns the process dict later passed to :meth:`windows_connection`.
        """
        process = dict(extra, guid=self._guid(),
            pid=self.new_pid(host), image=image, command_line=command_line, user=user,
            integrity=integrity)
        if parent is None:
            parent = {"guid": "{9F3C2A1E-0000-0000-0000-000000000001}", "pid": 5120,
                      "image": "C:\\Windows\\explorer.exe",
                      "command_line": "C:\\Windows\\Explorer.EXE", "user": user}
        if sysmon:
            record = {"time": time, "computer": host.name, "process": process,
                      "parent": parent, "record_id": self._next_record_id(host, "sysmon")}
            self._emit("sysmon", time, formats.sysmon_process_create(record))
        return process

    def windows_service(self, image, command_line, user="NT AUTHORITY\\SYSTEM", pid=None):
        """A long-running process whose start is outside the simulated window."""
        return {"guid": self._guid(),
                "pid": pid if pid is not None else 600 + 4 * self.rng.randrange(10, 900),
                "image": image, "command_line": command_line, "user": user}

    def _next_record_id(self, host, log):
        self._record_ids[(host.name, log)] += 1
        return 104000 + self._record_ids[(host.name, log)]

    def windows_image_load(self, host, process, time, image_loaded=None, signature=None,
                           signature_status="Valid"):
        """Sysmon Event ID 7 for a module of ``process`` (by default its own executable),
        with the module's code signature (``signature`` None: unsigned)."""
        record = {"time": time, "computer": host.name, "process": process,
                  "image_loaded": image_loaded or process["image"], "signature": signature,
                  "signature_status": signature_status if signature else "Unavailable",
                  "record_id": self._next_record_id(host, "sysmon")}
        self._emit("sysmon", time, formats.sysmon_image_load(record))

    def windows_connection(self, host, process, time, transport, dest, dest_port,
                           src=None, src_port=None, initiated=True, sysmon=True, wfp=True,
                           zeek=None):
        """One connection by ``process``: Sysmon Event ID 3, WFP 5156 and, when ``zeek`` is
        a dict of conn.log values (duration, bytes, ...), the Zeek sensor's record of it.

        For ICMP both logs carry type/code in the port fields (8/0 for an echo request).
        Returns the source port used.
        """
        src = src or host.ip
        if src_port is None:
            src_port = 8 if transport == "icmp" else self.ephemeral_port(host)
        if transport == "icmp":
            dest_port = 0
        record = {"time": time, "computer": host.name, "process": process,
                  "transport": transport, "src": src, "src_port": src_port, "dest": dest,
                  "dest_port": dest_port, "initiated": initiated}
        if sysmon:
            record["record_id"] = self._next_record_id(host, "sysmon")
            self._emit("sysmon", time, formats.sysmon_network_connect(record))
        if wfp:
            # Sysmon puts the initiator in Source*; 5156 puts the local side in Source*.
            wfp_record = dict(record, record_id=self._next_record_id(host, "security"),
                              direction="outbound" if initiated else "inbound")
            if not initiated:
                wfp_record.update(src=dest, src_port=dest_port, dest=src, dest_port=src_port)
            self._emit("wineventlog_security", time + 0.0004, formats.wfp_connection(wfp_record))
        if zeek is not None:
            self.zeek_conn(time, src, src_port, dest, dest_port, transport, **zeek)
        return src_port

    def windows_dns_query(self, host, process, time, query, results=None, status=0, answers=()):
        """A DNS lookup by ``process``: Sysmon Event ID 22 (QueryName with the asking Image);
        ``results`` as Sysmon writes them, or the ``answers`` addresses."""
        record = {"time": time, "computer": host.name, "process": process, "query": query,
                  "results": results, "status": status, "answers": answers,
                  "record_id": self._next_record_id(host, "sysmon")}
        self._emit("sysmon", time, formats.sysmon_dns_query(record))

    # -- Linux (Sysmon for Linux through syslog) ------------------------------------------
    def _sysmon_linux(self, host, time, render, record):
        record = dict(record, time=time, computer=host.name,
                      provider=formats.SYSMON_LINUX_PROVIDER,
                      channel="Linux-Sysmon/Operational",
                      record_id=self._next_record_id(host, "sysmon_linux"))
        self._emit("sysmon_linux", time, formats.sysmon_linux_syslog(record, render(record)))

    def linux_sysmon_process(self, host, time, image, command_line, user, parent=None):
        """A process start on a Linux host with Sysmon for Linux: Event ID 1 through syslog.

        Returns the process dict later passed to :meth:`linux_sysmon_connection`."""
        process = {"guid": self._guid(), "pid": self.new_pid(host), "image": image,
                   "command_line": command_line, "user": user, "integrity": "no level",
                   "current_directory": "/home/%s" % user, "session": 4294967295,
                   "logon_id": 0}
        if parent is None:
            parent = {"guid": "{9F3C2A1E-0000-0000-0000-000000000002}", "pid": 1822,
                      "image": "/usr/bin/bash", "command_line": "-bash", "user": user}
        self._sysmon_linux(host, time, formats.sysmon_process_create,
                           {"process": process, "parent": parent})
        return process

    def linux_sysmon_connection(self, host, process, time, transport, dest, dest_port,
                                zeek=None):
        """An outbound connection by ``process``: Sysmon for Linux Event ID 3 through syslog,
        and the Zeek sensor's conn.log record of it when ``zeek`` is a dict of its values.
        Returns the source port used."""
        src_port = self.ephemeral_port(host)
        self._sysmon_linux(host, time, formats.sysmon_network_connect, {
            "process": process, "transport": transport, "src": host.ip,
            "src_port": src_port, "dest": dest, "dest_port": dest_port})
        if zeek is not None:
            self.zeek_conn(time, host.ip, src_port, dest, dest_port, transport, **zeek)
        return src_port

    def windows_pipe(self, host, process, time, pipe_name, created=True):
        """Sysmon Event ID 17 (``created``) or 18 for ``process`` and ``pipe_name``."""
        record = {"time": time, "computer": host.name, "process": process,
                  "pipe_name": pipe_name, "created": created,
                  "record_id": self._next_record_id(host, "sysmon")}
        self._emit("sysmon", time, formats.sysmon_pipe_event(record))

    def windows_logon(self, host, time, user, logon_type, ip, port=0):
        """Security 4624: ``user`` (DOMAIN\\name) logged on with ``logon_type`` from ``ip``."""
        domain, _, name = user.rpartition("\\")
        record = {"time": time, "computer": host.name, "user": name, "domain": domain or "-",
                  "logon_type": logon_type, "ip": ip, "port": port,
                  "record_id": self._next_record_id(host, "security")}
        self._emit("wineventlog_security", time, formats.security_logon(record))

    # -- Zeek --------------------------------------------------------------------------
    def zeek_conn(self, time, orig_h, orig_p, resp_h, resp_p, proto, service=None,
                  duration=None, orig_bytes=0, resp_bytes=0, orig_pkts=None, resp_pkts=None,
                  conn_state=None, history=None):
        """One conn.log record (written at connection start time, as Zeek's ``ts``)."""
        header = {"tcp": 40, "udp": 28, "icmp": 28}[proto]
        if orig_pkts is None:
            orig_pkts = max(1, orig_bytes // 1200 + 1)
        if resp_pkts is None:
            resp_pkts = (resp_bytes // 1200 + 1) if resp_bytes else 0
        if conn_state is None:
            conn_state = "SF" if resp_pkts else ("S0" if proto != "icmp" else "OTH")
        if history is None:
            history = {"tcp": "ShADadFf" if resp_pkts else "S", "udp": "Dd" if resp_pkts else "D",
                       "icmp": ""}[proto] or None
        record = {
            "ts": time, "uid": self._zeek_uid(), "id.orig_h": orig_h, "id.orig_p": orig_p,
            "id.resp_h": resp_h, "id.resp_p": resp_p, "proto": proto, "service": service,
            "duration": duration, "orig_bytes": orig_bytes, "resp_bytes": resp_bytes,
            "conn_state": conn_state, "local_orig": self._is_local(orig_h),
            "local_resp": self._is_local(resp_h), "missed_bytes": 0, "history": history,
            "orig_pkts": orig_pkts, "orig_ip_bytes": orig_bytes + header * orig_pkts,
            "resp_pkts": resp_pkts, "resp_ip_bytes": resp_bytes + header * resp_pkts,
        }
        self._emit("zeek_conn", time, formats.zeek_conn(record))
        return record["uid"]

    def zeek_dns(self, time, orig_h, resp_h, query, qtype_name, answers=(), rcode_name="NOERROR",
                 ttl=300.0, orig_p=None, proto="udp"):
        """One dns.log record for a query and its answers."""
        qtypes = {"A": 1, "NS": 2, "CNAME": 5, "NULL": 10, "PTR": 12, "MX": 15, "TXT": 16,
                  "AAAA": 28, "SRV": 33, "HTTPS": 65}
        rcodes = {"NOERROR": 0, "NXDOMAIN": 3}
        record = {
            "ts": time, "uid": self._zeek_uid(), "id.orig_h": orig_h,
            "id.orig_p": orig_p if orig_p is not None else 49152 + self.rng.randrange(0, 16000),
            "id.resp_h": resp_h, "id.resp_p": 53, "proto": proto,
            "trans_id": self.rng.randrange(1, 65535), "rtt": round(0.002 + 0.03 * self.rng.random(), 6),
            "query": query, "qclass": 1, "qclass_name": "C_INTERNET", "qtype": qtypes[qtype_name],
            "qtype_name": qtype_name, "rcode": rcodes[rcode_name], "rcode_name": rcode_name,
            "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0,
            "answers": list(answers) or None, "TTLs": [ttl] * len(answers) or None,
            "rejected": False,
        }
        self._emit("zeek_dns", time, formats.zeek_dns(record))

    def zeek_http(self, time, orig_h, resp_h, method, host, uri, user_agent, status_code=200,
                  response_body_len=0, request_body_len=0, resp_p=80):
        """One http.log record (one request and its response)."""
        record = {
            "ts": time, "uid": self._zeek_uid(), "id.orig_h": orig_h,
            "id.orig_p": 49152 + self.rng.randrange(0, 16000), "id.resp_h": resp_h,
            "id.resp_p": resp_p, "trans_depth": 1, "method": method, "host": host, "uri": uri,
            "version": "1.1", "user_agent": user_agent, "request_body_len": request_body_len,
            "response_body_len": response_body_len, "status_code": status_code,
            "status_msg": {200: "OK", 404: "Not Found"}.get(status_code, "OK"),
        }
        self._emit("zeek_http", time, formats.zeek_http(record))
    # -- CIM-mapped events: a firewall, a web proxy and a DNS server through their TAs ---
    def _cim(self, time, sourcetype, host, tags, fields):
        record = dict(fields, _time=time, sourcetype=sourcetype, host=host, tag=list(tags))
        self._emit("cim", time, formats.cim_export(record))

    def firewall_traffic(self, time, src, dest, dest_port, transport, app, bytes_out, bytes_in,
                         packets_out=None, packets_in=None, duration=1.0, action="allowed",
                         icmp_type=None, src_zone="trust", dest_zone="untrust"):
        """One session-end record of a next-generation firewall (Palo Alto Networks TA,
        sourcetype pan:traffic), in CIM Network_Traffic names and tags."""
        packets_out = packets_out or max(1, bytes_out // 600)
        packets_in = packets_in or max(1, bytes_in // 600) if bytes_in else 0
        is_icmp = transport == "icmp"
        fields = {
            "action": action, "app": app, "bytes": bytes_out + bytes_in, "bytes_in": bytes_in,
            "bytes_out": bytes_out, "dest": dest, "dest_ip": dest, "dest_zone": dest_zone,
            "duration": round(duration, 3), "dvc": "fw01.corp.example",
            "packets": packets_out + packets_in, "packets_in": packets_in,
            "packets_out": packets_out, "protocol": "icmp" if is_icmp else "ip",
            "protocol_version": None if is_icmp else "ipv4", "rule": "outbound-users",
            "session_id": str(100000 + self._order), "src": src, "src_ip": src,
            "src_zone": src_zone, "transport": transport,
            "vendor_product": "Palo Alto Networks Firewall",
            "dest_port": None if is_icmp else dest_port,
            "src_port": None if is_icmp else 49152 + self.rng.randrange(0, 16000),
            "icmp_type": icmp_type if is_icmp else None, "icmp_code": 0 if is_icmp else None,
        }
        self._cim(time, "pan:traffic", "fw01.corp.example", ("network", "communicate"), fields)

    def proxy_request(self, time, src, url, http_method="GET", status=200, bytes_out=400,
                      bytes_in=2000, user_agent=None, user=None, content_type="text/html",
                      category="Business and Economy", dest_ip=None):
        """One access-log record of a web proxy (Squid TA, sourcetype squid:access), in CIM
        Web names and tags."""
        scheme, _, rest = url.partition("://")
        authority, slash, path_query = rest.partition("/")
        domain, _, port = authority.partition(":")
        uri_path, _, uri_query = ("/" + path_query if slash else "/").partition("?")
        user_agent = user_agent or ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
        fields = {
            "action": "allowed" if status < 400 else "blocked", "bytes": bytes_out + bytes_in,
            "bytes_in": bytes_in, "bytes_out": bytes_out, "cached": "false",
            "category": category, "dest": domain, "dest_ip": dest_ip,
            "dest_port": port or ("443" if scheme == "https" else "80"),
            "duration": round(0.05 + 0.2 * self.rng.random(), 3),
            "http_content_type": content_type, "http_method": http_method,
            "http_user_agent": user_agent, "http_user_agent_length": len(user_agent),
            "site": authority, "src": src, "status": status, "uri_path": uri_path,
            "uri_query": uri_query or None, "url": url, "url_domain": domain,
            "url_length": len(url), "user": user, "vendor_product": "Squid Proxy",
        }
        self._cim(time, "squid:access", "proxy01.corp.example", ("web", "proxy"), fields)

    def dns_server_log(self, time, src, query, record_type, answers, reply_code="No Error"):
        """One query/response of the internal DNS server (Windows DNS analytic log through
        the Microsoft DNS TA, sourcetype MSAD:NT6:DNS), in CIM Network_Resolution names."""
        reply_code_ids = {"No Error": 0, "Non-Existent Domain": 3}
        fields = {
            "answer": list(answers) if len(answers) > 1 else answers[0],
            "answer_count": len(answers), "dest": RESOLVER_CIM, "message_type": "Response",
            "query": query, "query_count": 1, "query_type": "Query",
            "record_type": record_type, "reply_code": reply_code,
            "reply_code_id": reply_code_ids[reply_code],
            "response_time": round(0.001 + 0.02 * self.rng.random(), 6), "src": src,
            "transaction_id": self.rng.randrange(1, 65535), "transport": "udp",
            "vendor_product": "Microsoft DNS",
        }
        self._cim(time, "MSAD:NT6:DNS", "dc01.corp.example", ("network", "resolution", "dns"),
                  fields)

    # -- Linux (auditd) ------------------------------------------------------------------
    def _audit_event(self, host, time, records):
        self._audit_serial += 1
        for record_type, fields in records:
            self._emit("auditd", time, formats.audit_record(
                {"time": time, "serial": self._audit_serial, "type": record_type,
                 "fields": fields, "node": host.name}))
        return self._audit_serial

    def _syscall_fields(self, process, name, success, exit_code, args, items=0):
        fields = [("arch", AUDIT_ARCH_X86_64, False), ("syscall", SYSCALL_NUMBER[name], False),
                  ("success", "yes" if success else "no", False), ("exit", exit_code, False)]
        fields += [("a%d" % i, "%x" % value, False) for i, value in enumerate(args)]
        fields += [("items", items, False), ("ppid", process["ppid"], False),
                   ("pid", process["pid"], False), ("auid", process["auid"], False),
                   ("uid", process["uid"], False), ("gid", process["uid"], False),
                   ("euid", process["uid"], False), ("suid", process["uid"], False),
                   ("fsuid", process["uid"], False), ("egid", process["uid"], False),
                   ("sgid", process["uid"], False), ("fsgid", process["uid"], False),
                   ("tty", process.get("tty", "pts0"), False), ("ses", process.get("ses", 3), False),
                   ("comm", process["comm"], True), ("exe", process["exe"], True),
                   ("subj", "unconfined", False), ("key", process.get("key", "c2hunt_net"), True)]
        return fields

    @staticmethod
    def _proctitle(argv):
        return "".join("%02X" % b for b in "\0".join(argv).encode())

    def linux_exec(self, host, time, exe, argv, uid=1000, auid=1000, ppid=None, tty="pts0"):
        """execve() of ``exe``: SYSCALL, EXECVE and PROCTITLE records. Returns the process."""
        process = {"pid": self.new_pid(host), "ppid": ppid or 1800 + self.rng.randrange(0, 99),
                   "uid": uid, "auid": auid, "exe": exe, "comm": exe.rsplit("/", 1)[-1][:15],
                   "argv": list(argv), "tty": tty, "key": "c2hunt_exec"}
        execve = [("argc", len(argv), False)] + [("a%d" % i, arg, True) for i, arg in enumerate(argv)]
        self._audit_event(host, time, [
            ("SYSCALL", self._syscall_fields(process, "execve", True, 0,
                                             [0x55d0c8a1f2a0, 0x55d0c8a1f3b0, 0x55d0c8a1f3d8, 0],
                                             items=2)),
            ("EXECVE", execve),
            ("PROCTITLE", [("proctitle", self._proctitle(argv), False)]),
        ])
        process["key"] = "c2hunt_net"
        return process

    def linux_daemon(self, exe, argv, uid=0, pid=None):
        """A long-running Linux process whose execve is outside the simulated window."""
        return {"pid": pid or 400 + self.rng.randrange(0, 600), "ppid": 1, "uid": uid,
                "auid": 4294967295, "exe": exe, "comm": exe.rsplit("/", 1)[-1][:15],
                "argv": list(argv), "tty": "(none)", "ses": 4294967295, "key": "c2hunt_net"}

    def linux_socket(self, host, time, process, family, sock_type, protocol, cloexec=True):
        """socket(family, type, protocol): one SYSCALL + PROCTITLE audit event."""
        type_arg = SOCK[sock_type] | (SOCK_CLOEXEC if cloexec else 0)
        args = [AF[family], type_arg, IPPROTO[protocol], 0]
        self._audit_event(host, time, [
            ("SYSCALL", self._syscall_fields(process, "socket", True, 3, args)),
            ("PROCTITLE", [("proctitle", self._proctitle(process["argv"]), False)]),
        ])

    def linux_connect(self, host, time, process, dest, dest_port, nonblocking=False):
        """connect() to an IPv4 address: SYSCALL + SOCKADDR + PROCTITLE.

        A non-blocking connect returns EINPROGRESS (success=no exit=-115), as ncat's does.
        """
        saddr = "0200%04X%s" % (dest_port, "".join(
            "%02X" % int(octet) for octet in dest.split("."))) + "0" * 16
        success, exit_code = (False, EINPROGRESS) if nonblocking else (True, 0)
        self._audit_event(host, time, [
            ("SYSCALL", self._syscall_fields(process, "connect", success, exit_code,
                                             [3, 0x7ffd5c3e1a40, 16, 0])),
            ("SOCKADDR", [("saddr", saddr, False)]),
            ("PROCTITLE", [("proctitle", self._proctitle(process["argv"]), False)]),
        ])

    # -- c2sockets socket inventory (c2hunt:socket) -----------------------------------------
    def held_socket(self, host, process, sock, start, end, interval=60, package=None):
        """A socket ``process`` holds from ``start`` to ``end``: one c2sockets record per pass
        (every ``interval`` s), as the input writes them (last_seen first, first_seen and
        socket_id kept across passes) with the host Splunk adds. ``sock`` holds the table
        fields (table, transport, family, socket_type, state, addresses or vsock ids)."""
        # Derived, not drawn from self.rng, so adding a held socket to a scenario leaves
        # every other random value (and so the other streams' fixtures) unchanged.
        seed = hashlib.sha1(("%s:%d:%s:%s" % (host.name, process["pid"], sock.get("table"),
                                              start)).encode()).digest()
        inode = 30000 + int.from_bytes(seed[:4], "big") % 900000
        started = round(start - 0.5 - seed[4] / 64.0, 2)
        key = "%d:%d:%s" % (inode, process["pid"], started)
        identity = {"socket_id": hashlib.sha1(key.encode()).hexdigest()[:16]}
        identity.update(sock)
        identity.update({"socket_uid": process["uid"], "socket_inode": inode,
                         "netns": 4026531840, "process_id": process["pid"],
                         "process_name": process["comm"], "parent_process_id": process["ppid"],
                         "process_start_time": started, "process_path": process["exe"],
                         "process": " ".join(process["argv"]), "user_id": process["uid"],
                         "process_exec": process["exe"].rsplit("/", 1)[-1]})
        if package is not None:
            identity["process_package"] = package
        when = start
        while when <= end:
            record = {"last_seen": round(when, 3), "first_seen": round(start, 3)}
            record.update(identity)
            record["host"] = host.name
            self._emit("c2sockets", when, json.dumps(record, separators=(",", ":")))
            when += interval

    # -- VMware ESXi (syslog from hostd, vpxa, shell) --------------------------------------
    def esxi_log(self, host, time, program, pid, message, pri=166):
        """One ESXi syslog line as the syslog server receives it (RFC 3164, ESXi's header)."""
        self._emit("esxi", time, formats.esxi_syslog(
            {"time": time, "host": host.name, "program": program, "pid": pid,
             "message": message, "pri": pri}))

    def hostd(self, host, time, message, sub, op_id=None, sid=None, user=None, pid=2099715):
        """A hostd line: ``[Originator@6876 sub=... opID=... sid=... user=...] message``."""
        context = " ".join(["sub=%s" % sub] + ["%s=%s" % (k, v) for k, v in
                                                (("opID", op_id), ("sid", sid), ("user", user))
                                                if v is not None])
        self.esxi_log(host, time, "Hostd", pid, "[Originator@6876 %s] %s" % (context, message))

    def esxi_shell(self, host, time, user, command, pid=1053659):
        """An ESXi Shell command (shell.log)."""
        self.esxi_log(host, time, "shell", pid, "[%s]: %s" % (user, command), pri=14)

    # -- osquery (results log, differential rows) -------------------------------------------
    def osquery(self, host, time, name, columns, action="added", username=None):
        """One osquery differential result row of scheduled query ``name``."""
        self._osquery_counter += 1
        record = {"name": name, "hostIdentifier": host.name, "time": time,
                  "counter": self._osquery_counter, "action": action,
                  "columns": {k: str(v) for k, v in columns.items()},
                  "decorations": {"host_uuid": self._host_uuid(host),
                                  "username": username or ""}}
        self._emit("osquery", time, formats.osquery_result(record))

    def _host_uuid(self, host):
        digest = 0
        for char in host.name:
            digest = (digest * 131 + ord(char)) % (1 << 128)
        text = "%032X" % digest
        return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])

    # -- packets (a capture on the egress link) ---------------------------------------------
    def icmp_echo(self, time, src, dest, ident, seq, payload, reply=False):
        """One ICMP echo request (or reply, from ``dest`` back to ``src``) as an Ethernet
        frame in the egress capture; ``payload`` is the echo data (bytes)."""
        import socket

        import dpkt  # only captures need it

        echo = dpkt.icmp.ICMP.Echo(id=ident, seq=seq, data=payload)
        icmp = dpkt.icmp.ICMP(type=0 if reply else 8, code=0, data=echo)
        a, b = (dest, src) if reply else (src, dest)
        ip = dpkt.ip.IP(src=socket.inet_aton(a), dst=socket.inet_aton(b), p=1, ttl=64,
                        id=(seq * 2 + (1 if reply else 0)) & 0xFFFF, data=icmp)
        ip.len = len(bytes(ip))
        frame = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01",
                                       dst=b"\x02\x00\x00\x00\x00\x02",
                                       type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        self._order += 1
        self.packets.append((time, self._order, bytes(frame)))

    def capture(self):
        """The egress capture as pcap bytes (frames in time order), or None without packets."""
        if not self.packets:
            return None
        import io

        import dpkt

        out = io.BytesIO()
        writer = dpkt.pcap.Writer(out, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        for time, _, frame in sorted(self.packets):
            writer.writepkt(frame, ts=time)
        return out.getvalue()

    # -- output ------------------------------------------------------------------------
    def rendered(self):
        """stream -> text (lines sorted by time, ties in emission order), only non-empty."""
        out = collections.OrderedDict()
        for stream in STREAM_FILES:
            entries = sorted(self.lines.get(stream, ()))
            if entries:
                out[stream] = "".join(line + "\n" for _, _, line in entries)
        return out
