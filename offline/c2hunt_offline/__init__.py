"""c2hunt offline runner: run the app's saved searches and commands without Splunk.

Stable API (used by the scenario tests)::

    from c2hunt_offline import run_search, hunt, load_events, Runner, Notable, SplError

    rows = run_search('`c2hunt_sysmon_network` | stats count by Image', ["sysmon.evtx"])
    notables = hunt(["samples/"])          # list[Notable]; raises SplError if a search fails
    events, issues = load_events(["conn.log", "x.csv:my:sourcetype"])

- ``run_search(spl, events_or_files, app_root=None, lookup_dir=None, sourcetype=None)``
  -> list of dict rows (its ``issues`` attribute lists the unreadable files and records,
  as :class:`ReadIssue`). ``events_or_files`` is a list of event dicts (used as they are) or
  of paths (files or folders, ``path:sourcetype`` to force a sourcetype).
- ``hunt(events_or_files, app_root=None, lookup_dir=None, names=None, sourcetype=None)``
  -> list of :class:`Notable` (``search, time, host, signal, risk_score, fields``) from
  every correlation search in default/savedsearches.conf, disabled or not; ``issues`` as for
  ``run_search``.
- ``Runner(app_root=None, lookup_dir=None, python=None)``: ``read_files``, ``run``,
  ``hunt`` (returns notables and per-search errors), ``saved_searches``.
- ``results.hunt_results(runner, events, ...)`` -> ``HuntResults``: the notables as ES shows
  them (title, description, ATT&CK, risk objects, drilldowns, evidence), grouped into
  findings, with the data summary and data-source health (what ``hunt`` prints and the
  report renders; see :mod:`c2hunt_offline.results`).

Values in rows are str, int/float (numbers computed by eval/stats) or lists (multivalue).
``app_root`` defaults to this repository; ``lookup_dir`` (where ``outputlookup`` writes and
lookups are read first) defaults to a temporary folder, never the app's ``lookups/``.
"""
from .engine import (APP_ROOT, Notable, Runner, SavedSearch, SearchResult, WithIssues, hunt,
                     load_events, run_search)
from .readers import ReadIssue
from .values import SplError

__all__ = ["APP_ROOT", "Notable", "ReadIssue", "Runner", "SavedSearch", "SearchResult", "SplError",
           "WithIssues", "hunt", "load_events", "run_search"]
