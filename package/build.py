"""Build dist/c2hunt-<version>.tar.gz: app paths from an allowlist plus vendored deps.

clean -> copy allowlist -> pip install pinned deps per (CPython, platform) -> tar.

    python package/build.py                      # the shipped package
    python package/build.py --vendor-only DIR --pythons 3.11 --machines x86_64
                                                 # add one more target to an unpacked app
"""
import argparse
import configparser
import gzip
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _load_bootstrap_shim():
    """bin/c2hunt_path.py, the app's own naming of vendored targets, loaded from its file:
    this script runs as ``python package/build.py``, with bin/ not on sys.path."""
    spec = importlib.util.spec_from_file_location("c2hunt_path", ROOT / "bin" / "c2hunt_path.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


c2hunt_path = _load_bootstrap_shim()

REQUIREMENTS = ROOT / "package" / "requirements-vendor.txt"
APP_ID = "c2hunt"

# What splunkd needs, nothing else: tests, tooling and docs for developers stay out.
ALLOWLIST = ["app.manifest", "LICENSE", "README.md", "default", "metadata", "bin",
             "lookups", "README", "static"]
EXCLUDED_NAMES = {"__pycache__", ".DS_Store", "lib", ".pytest_cache", ".gitkeep"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")

# Packages with compiled code: installed once per target. Everything else is pure Python.
COMPILED = {"numpy"}
PYTHONS = ["3.9", "3.13"]
MACHINES = ["x86_64", "aarch64"]
# manylinux2014 = glibc 2.17, the oldest glibc Splunk runs on.
PLATFORM_TAG = "manylinux2014_%s"


def app_version():
    conf = configparser.ConfigParser()
    conf.read(ROOT / "default" / "app.conf")
    return conf["id"]["version"]


def target_machine():
    """This machine's architecture as the package names it (x86_64 or aarch64)."""
    return c2hunt_path.machine_name()


def pinned_requirements(python):
    """Requirement lines whose markers hold for the target CPython (e.g. "3.9")."""
    env = {"python_version": python, "python_full_version": python + ".0",
           "sys_platform": "linux", "platform_system": "Linux",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    pins = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(env):
            if len(requirement.specifier) != 1 or "==" not in str(requirement.specifier):
                raise SystemExit("unpinned vendored requirement: %s" % line)
            pins.append(requirement)
    return pins


def pip_install(target, pins, python=None, machine=None):
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
               "--disable-pip-version-check", "--no-compile", "--target", str(target)]
    if python:
        abi = "cp" + python.replace(".", "")
        command += ["--only-binary=:all:", "--platform", PLATFORM_TAG % machine,
                    "--python-version", python, "--implementation", "cp", "--abi", abi]
    command += ["%s%s" % (pin.name, pin.specifier) for pin in pins]
    subprocess.run(command, check=True)


def vendor(lib_dir, pythons, machines, with_common=True):
    lib_dir.mkdir(parents=True, exist_ok=True)
    if with_common:
        pure = [pin for pin in pinned_requirements(PYTHONS[0]) if pin.name not in COMPILED]
        pip_install(lib_dir / "common", pure)
    for python in pythons:
        compiled = [pin for pin in pinned_requirements(python) if pin.name in COMPILED]
        for machine in machines:
            tag = "cp%s-%s" % (python.replace(".", ""), machine)
            pip_install(lib_dir / tag, compiled, python, machine)
    prune(lib_dir)


# Parts of vendored packages that a running command never imports: test suites, build
# tooling, headers and static libraries. They only slow AppInspect and grow the package.
PRUNED_NAMES = {"tests", "testing", "distutils", "f2py", "_pyinstaller"}
PRUNED_PATHS = ("numpy/_core/include", "numpy/_core/lib", "numpy/random/lib",
                "numpy/random/_examples")
PRUNED_SUFFIXES = (".pyc", ".pyo", ".pyi", ".a", ".pxd", ".h")


def prune(lib_dir):
    """Drop what the vendored packages carry but never load at run time."""
    for scripts in lib_dir.glob("*/bin"):  # console scripts pip wrote for the build's Python
        shutil.rmtree(scripts)
    for target in lib_dir.iterdir():
        for relative in PRUNED_PATHS:
            shutil.rmtree(target / relative, ignore_errors=True)
        for path in sorted(target.glob("numpy/**/*"), reverse=True):
            if path.is_dir() and path.name in PRUNED_NAMES:
                shutil.rmtree(path)
    for path in lib_dir.rglob("*"):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.is_file() and (path.name == ".DS_Store" or path.name.endswith(PRUNED_SUFFIXES)):
            path.unlink()


def copy_allowlist(stage):
    def ignore(_directory, names):
        return [n for n in names if n in EXCLUDED_NAMES or n.endswith(EXCLUDED_SUFFIXES)]

    for name in ALLOWLIST:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, stage / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, stage / name)


def normalise(info):
    """Same owner, mode and time for every entry: a reproducible, clean tarball."""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    if info.isdir():
        info.mode = 0o755
    elif info.isfile():
        executable = info.name.endswith((".py", ".sh")) and "/bin/" in info.name \
            and "/bin/lib/" not in info.name
        info.mode = 0o755 if executable else 0o644
    return info


def write_tarball(stage, tarball):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [stage] + sorted(stage.rglob("*")):
            tar.add(path, arcname=str(Path(APP_ID) / path.relative_to(stage)),
                    recursive=False, filter=normalise)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(tarball, "wb", mtime=0) as out:
        out.write(buffer.getvalue())


def build(out_dir, pythons, machines):
    stage = out_dir / "stage" / APP_ID
    shutil.rmtree(stage.parent, ignore_errors=True)
    stage.mkdir(parents=True)
    copy_allowlist(stage)
    vendor(stage / "bin" / "lib", pythons, machines)
    tarball = out_dir / ("%s-%s.tar.gz" % (APP_ID, app_version()))
    write_tarball(stage, tarball)
    shutil.rmtree(stage.parent)
    return tarball


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--pythons", default=",".join(PYTHONS))
    parser.add_argument("--machines", default=",".join(MACHINES))
    parser.add_argument("--vendor-only", type=Path, metavar="APP_DIR",
                        help="add compiled targets to an unpacked app instead of building")
    args = parser.parse_args(argv)
    pythons, machines = args.pythons.split(","), args.machines.split(",")
    if args.vendor_only:
        vendor(args.vendor_only / "bin" / "lib", pythons, machines, with_common=False)
        return
    print(build(args.out, pythons, machines))


if __name__ == "__main__":
    main()
