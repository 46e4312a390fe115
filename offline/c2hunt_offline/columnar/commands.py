"""The columnar commands: ``COLUMNAR`` maps a command name to ``fn(ctx, args_text, frame) -> frame``.

Each family lives in its own module and exports its own ``COLUMNAR`` dict; a module not
present yet is skipped, and its commands run on rows (the engine's fallback), so coverage
grows a module at a time and a result never depends on it.
"""
import importlib

from .search import COLUMNAR as _SEARCH
from .shaping import COLUMNAR as _SHAPING

# modules other families add (eval/where, stats/eventstats, lookups, sort/dedup/bin/convert, tstats)
OPTIONAL_MODULES = ("filtering", "stats", "lookup", "ordering", "tstats")

COLUMNAR = {}
COLUMNAR.update(_SEARCH)
COLUMNAR.update(_SHAPING)
for _module_name in OPTIONAL_MODULES:
    _qualified = "%s.%s" % (__package__, _module_name)
    try:
        _module = importlib.import_module(_qualified)
    except ModuleNotFoundError as exc:
        if exc.name != _qualified:
            raise  # the module is there but broken: say so, never hide it
        continue
    COLUMNAR.update(getattr(_module, "COLUMNAR", None) or getattr(_module, "COLUMNAR_COMMANDS", {}))

__all__ = ["COLUMNAR", "OPTIONAL_MODULES"]
