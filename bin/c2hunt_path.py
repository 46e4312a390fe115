"""Bootstrap shim: put the vendored libraries for the running Python on sys.path.

Every script splunkd runs from bin/ imports this module before anything else. The
package build (package/build.py) vendors dependencies into ``bin/lib/``:

* ``bin/lib/common/``            pure-Python packages (splunklib, publicsuffixlist, ...)
* ``bin/lib/cp<XY>-<machine>/``  compiled packages (numpy) for one CPython and platform

Paths derive from this file's location, never from the app folder's name, so the app
works under any install name. In a development checkout without ``bin/lib`` nothing is
added and the environment's own packages are used.
"""
import os
import platform
import sys

# numpy loads OpenBLAS, which starts a busy thread per core at import: about 0.1 s of CPU
# per search, for linear algebra the app never does.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")

# platform.machine() spellings for the two architectures the package is built for.
_MACHINE_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def machine_name(machine=None):
    """This (or the given) machine's architecture as the package names it: x86_64, aarch64."""
    machine = (machine or platform.machine()).lower()
    return _MACHINE_ALIASES.get(machine, machine)


def target_tag(version_info=sys.version_info, machine=None):
    """Name of the vendored folder for a CPython version and machine, e.g. cp39-x86_64."""
    return "cp%d%d-%s" % (version_info[0], version_info[1], machine_name(machine))


def vendored_paths(lib_dir=LIB_DIR, tag=None):
    """The existing vendored folders for this interpreter, most specific first."""
    candidates = [os.path.join(lib_dir, tag or target_tag()), os.path.join(lib_dir, "common")]
    return [path for path in candidates if os.path.isdir(path)]


def missing_target_message(lib_dir=LIB_DIR, tag=None):
    """Why the compiled libraries cannot load here, or None when they can."""
    tag = tag or target_tag()
    if not os.path.isdir(lib_dir) or os.path.isdir(os.path.join(lib_dir, tag)):
        return None
    built = sorted(name for name in os.listdir(lib_dir) if name != "common")
    return "c2hunt has no libraries for %s (this package holds: %s)" % (tag, ", ".join(built))


for _path in reversed(vendored_paths()):
    if _path not in sys.path:
        sys.path.insert(0, _path)
