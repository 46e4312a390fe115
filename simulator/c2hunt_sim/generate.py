"""Write (or check) scenario fixtures: ``<out>/<scenario>/<stream file>``.

Usage, from the repository root::

    PYTHONPATH=simulator python -m c2hunt_sim                 # regenerate samples/
    PYTHONPATH=simulator python -m c2hunt_sim --check         # exit 1 if samples/ is stale
    PYTHONPATH=simulator python -m c2hunt_sim --out /tmp/x s3_python_udp_beacon
"""
import argparse
import sys
from pathlib import Path

from c2hunt_sim import scenarios
from c2hunt_sim.world import STREAM_FILES

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "samples"


CAPTURE_FILE = "egress.pcap"


def render(name, seed=scenarios.DEFAULT_SEED):
    """file name -> content (str, or bytes for the capture) of one scenario's fixtures."""
    rec = scenarios.build(name, seed)
    files = {STREAM_FILES[stream]: text for stream, text in rec.rendered().items()}
    capture = rec.capture()
    if capture is not None:
        files[CAPTURE_FILE] = capture
    return files


def _all_files():
    return list(STREAM_FILES.values()) + [CAPTURE_FILE]


def write_scenario(out, name, seed=scenarios.DEFAULT_SEED):
    """Write one scenario under ``out/name``, removing stream files it no longer has."""
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    files = render(name, seed)
    for file_name in _all_files():
        path = folder / file_name
        content = files.get(file_name)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8", newline="\n")
        elif path.exists():
            path.unlink()
    return sorted(folder / name for name in files)


def stale_files(out, names, seed=scenarios.DEFAULT_SEED):
    """Paths under ``out`` that differ from a fresh generation (missing, changed or extra)."""
    stale = []
    for name in names:
        folder = Path(out) / name
        files = render(name, seed)
        for file_name in _all_files():
            path = folder / file_name
            expected = files.get(file_name)
            if isinstance(expected, str):
                expected = expected.encode("utf-8")
            actual = path.read_bytes() if path.exists() else None
            if expected != actual:
                stale.append(path)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog="c2hunt_sim", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (samples/)")
    parser.add_argument("--seed", type=int, default=scenarios.DEFAULT_SEED)
    parser.add_argument("--check", action="store_true",
                        help="compare with a fresh generation instead of writing")
    parser.add_argument("--list", action="store_true", help="list scenario names")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(scenarios.SCENARIOS))
        return 0
    names = args.scenarios or list(scenarios.SCENARIOS)
    unknown = [name for name in names if name not in scenarios.SCENARIOS]
    if unknown:
        parser.error("unknown scenario(s): %s" % ", ".join(unknown))
    if args.check:
        stale = stale_files(args.out, names, args.seed)
        for path in stale:
            print("stale: %s" % path, file=sys.stderr)
        return 1 if stale else 0
    for name in names:
        write_scenario(args.out, name, args.seed)
    print("wrote %d scenario(s) to %s" % (len(names), args.out))
    return 0
