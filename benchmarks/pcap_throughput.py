"""Packets per second: c2hunt's capture parser next to dpkt and scapy on the same file.

    python benchmarks/pcap_throughput.py [--packets 1000000] [--scapy-packets 20000]
                                         [--baseline-bin DIR]

Generates a capture of mixed traffic (tests/flow/synthetic.py, the project's own writer)
in a temporary folder, as pcap and pcapng, then times in the same run:
* c2hunt.capture.pcap: decode every packet to columns (addresses, ports, lengths, payload offsets);
* dpkt: iterate the file and decode Ethernet/IP/transport objects, reading the same fields;
* scapy: the same on the first --scapy-packets packets only (scapy is ~100x slower; its
  figure is extrapolated per packet and labelled as a prefix);
* c2hunt.capture.flows: the full flow assembly (records with all features), end to end;
* c2hunt.capture.flows + DNS: flow records and DNS transactions from the same read (what the
  c2flow input does);
* nfstream 6.6 (the reference line, benchmarks/requirements-bench.txt; skipped with a message
  when it is not installed): ``NFStreamer(source=..., n_meters=1, statistical_analysis=False)``
  over the same pcap, alternating with c2hunt.capture.flows --pairs times, so both see the
  same load; prints the median rate of each and the median of the per-pair ratios;
* with --baseline-bin DIR (the bin/ folder of another checkout, e.g. extracted with
  ``git archive <commit> bin | tar -x -C /tmp/base``): that version's flow assembly on the
  same file, in a subprocess, alternating with this one, so before/after are measured in
  one run under the same load.
Each figure is the best of --repeat runs (the file is in the page cache after the first),
except the nfstream comparison (medians, see above).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

import synthetic  # tests/flow/synthetic.py: the project's own pcap writer
from c2hunt.capture import flows, pcap

ROOT = repo_paths.ROOT


def ours(path):
    count = 0
    for batch in pcap.CaptureReader(path).batches():
        count += len(batch)
    return count


def with_dpkt(path, ng=False):
    import dpkt
    count = 0
    with open(path, "rb") as handle:
        reader = dpkt.pcapng.Reader(handle) if ng else dpkt.pcap.Reader(handle)
        for _ts, buf in reader:
            packet = dpkt.ethernet.Ethernet(buf).data
            if isinstance(packet, (dpkt.ip.IP, dpkt.ip6.IP6)):
                transport = packet.data
                _fields = (packet.src, packet.dst, getattr(transport, "sport", 0),
                           getattr(transport, "dport", 0), len(transport))
                count += 1
    return count


def with_scapy(path, limit):
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader
    count = 0
    with PcapReader(path) as reader:
        for number, packet in enumerate(reader):
            if number >= limit:
                break
            layer = packet.getlayer(IP) or packet.getlayer(IPv6)
            if layer is not None:
                transport = packet.getlayer(TCP) or packet.getlayer(UDP)
                _fields = (layer.src, layer.dst, getattr(transport, "sport", 0),
                           getattr(transport, "dport", 0))
                count += 1
    return count


def flow_records(path):
    return sum(1 for _ in flows.read_capture_flows(path))


def nfstream_version():
    """nfstream's version, or None when it is not installed."""
    try:
        import nfstream
    except ImportError:
        return None
    return getattr(nfstream, "__version__", "?")


def with_nfstream(path):
    from nfstream import NFStreamer
    return sum(1 for _ in NFStreamer(source=path, n_meters=1, statistical_analysis=False))


def versus_nfstream(path, n_packets, pairs):
    """c2hunt's flow stage and nfstream's on the same file, alternating; prints medians."""
    version = nfstream_version()
    if version is None:
        print("nfstream: not installed, reference line skipped "
              "(pip install -r benchmarks/requirements-bench.txt)")
        return
    ours_s, theirs_s, ratios = [], [], []
    for _ in range(pairs):
        mine, _ = best(flow_records, 1, path)
        other, count = best(with_nfstream, 1, path)
        ours_s.append(mine)
        theirs_s.append(other)
        ratios.append(other / mine)
    median = statistics.median
    print("%-52s %12.0f packets/s  (median of %d, %.2f s, %d flows)" % (
        "nfstream %s pcap -> flows (1 meter, no statistics)" % version,
        n_packets / median(theirs_s), pairs, median(theirs_s), count))
    print("%-52s %12.0f packets/s  (median of %d, %.2f s)" % (
        "c2hunt.flows  pcap -> flow records (same runs)", n_packets / median(ours_s), pairs,
        median(ours_s)))
    print("c2hunt.flows / nfstream: %.2fx (median of the per-pair ratios; each pair %s)" % (
        median(ratios), ", ".join("%.2f" % r for r in ratios)))


def capture_events(path):
    return sum(1 for _ in flows.read_capture_events(path))


# Flow assembly timed in parts: capture parsing, the entropy kernel (c2hunt.entropy), and
# the rest, which is the flow table's own work.
_TIME_FLOWS = """
import json, sys, time
from c2hunt import entropy
try:
    from c2hunt.capture import flows, pcap
except ImportError:  # a --baseline-bin from before the capture subpackage
    from c2hunt import flows, pcap
spent = {"parse": 0.0, "entropy": 0.0}
def timed(kernel):
    def run(*args):
        start = time.perf_counter()
        try:
            return kernel(*args)
        finally:
            spent["entropy"] += time.perf_counter() - start
    return run
entropy.entropy_profile = timed(entropy.entropy_profile)
for name in ("byte_segment_entropy", "byte_sample_entropy"):  # the flow records' kernels
    if hasattr(entropy, name):                                 # since issue 17
        setattr(entropy, name, timed(getattr(entropy, name)))
start = time.perf_counter()
table = flows.FlowTable()
batches = pcap.CaptureReader(sys.argv[1]).batches()
count = 0
while True:
    began = time.perf_counter()
    batch = next(batches, None)
    spent["parse"] += time.perf_counter() - began
    if batch is None:
        break
    count += len(table.add_batch(batch))
count += len(table.flush())
print(json.dumps([time.perf_counter() - start, count, spent["parse"], spent["entropy"]]))
"""


def flows_in_subprocess(bin_dir, path):
    """(seconds, records, parse seconds, entropy kernel seconds) of the flow table from
    the c2hunt library in ``bin_dir``."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(bin_dir))
    output = subprocess.run([sys.executable, "-c", _TIME_FLOWS, path], check=True,
                            capture_output=True, text=True, env=env).stdout
    return json.loads(output)


def best(function, repeat, *args):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1000000)
    parser.add_argument("--scapy-packets", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=5,
                        help="alternating c2hunt/nfstream flow-stage runs (0 skips nfstream)")
    parser.add_argument("--baseline-bin", help="bin/ folder of another version to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c2flow-bench-") as folder:
        started = time.perf_counter()
        frames = synthetic.mixed_traffic(args.packets)
        pcap_path = os.path.join(folder, "mixed.pcap")
        ng_path = os.path.join(folder, "mixed.pcapng")
        synthetic.write_pcap(pcap_path, frames)
        synthetic.write_pcapng(ng_path, frames)
        del frames
        print("capture: %d packets, pcap %.0f MB, pcapng %.0f MB (generated in %.1f s)" % (
            args.packets, os.path.getsize(pcap_path) / 1e6, os.path.getsize(ng_path) / 1e6,
            time.perf_counter() - started))
        print("python %s, host %s, best of %d" % (sys.version.split()[0], socket.gethostname(),
                                                  args.repeat))
        rows = []
        for label, function, fargs, repeat in [
            ("c2hunt.pcap   pcap   ", ours, (pcap_path,), args.repeat),
            ("dpkt          pcap   ", with_dpkt, (pcap_path,), 1),
            ("c2hunt.pcap   pcapng ", ours, (ng_path,), args.repeat),
            ("dpkt          pcapng ", with_dpkt, (ng_path, True), 1),
            ("scapy         pcap (first %d packets)" % args.scapy_packets, with_scapy,
             (pcap_path, args.scapy_packets), 1),
            ("c2hunt.flows  pcap -> flow records (end to end)", flow_records, (pcap_path,), 1),
            ("c2hunt.flows  pcap -> flow records + DNS transactions", capture_events,
             (pcap_path,), 1),
        ]:
            seconds, result = best(function, repeat, *fargs)
            packets = args.scapy_packets if function is with_scapy else args.packets
            rows.append((label, packets / seconds, seconds, result))
            print("%-52s %12.0f packets/s  (%.2f s, result %d)" % rows[-1])
        baseline = rows[1][1]
        print("c2hunt.pcap / dpkt: pcap %.1fx, pcapng %.1fx" % (rows[0][1] / baseline,
                                                                rows[2][1] / rows[3][1]))
        if args.pairs > 0:
            versus_nfstream(pcap_path, args.packets, args.pairs)
        if args.baseline_bin:
            this_bin = str(ROOT / "bin")
            fastest = {}
            for _ in range(args.repeat):        # alternate, so both see the same load
                for name, folder in (("baseline", args.baseline_bin), ("this", this_bin)):
                    run = flows_in_subprocess(folder, pcap_path)
                    if name not in fastest or run[0] < fastest[name][0]:
                        fastest[name] = run
            for name, folder in (("baseline", args.baseline_bin), ("this", this_bin)):
                seconds, count, parse, kernel = fastest[name]
                own = seconds - parse - kernel
                print("%-52s %12.0f packets/s  (%.2f s, %d records: parse %.2f s, entropy "
                      "kernel %.2f s, flow table %.2f s = %.1f us/record)" % (
                          "flows %s (%s)" % (name, folder), args.packets / seconds, seconds,
                          count, parse, kernel, own, own / count * 1e6))
            print("speed-up: flow stage %.2fx, flow table's own work %.2fx" % (
                fastest["baseline"][0] / fastest["this"][0],
                (fastest["baseline"][0] - sum(fastest["baseline"][2:]))
                / (fastest["this"][0] - sum(fastest["this"][2:]))))


if __name__ == "__main__":
    main()
