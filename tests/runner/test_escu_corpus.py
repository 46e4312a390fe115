"""Real-world SPL: every ``search:`` of Splunk's security_content detections (ESCU).

Each search is expanded with ESCU's own macros (plus the two kinds contentctl generates:
``<detection>_filter`` = ``search *`` and ``drop_dm_object_name(1)`` = ``rename $x$.* AS *``)
and parsed by the runner: every command runs over no events with ``parse_only`` (a lookup
or data model the runner lacks is skipped, it says nothing of the syntax). Each search must
parse, or be refused by naming what is unsupported (a command, an eval/stats function, a
subsearch); nothing may fail any other way. The counts are in README (Offline runner,
Supported SPL). Skips cleanly without ../shared.
"""
import collections
import re
from pathlib import Path

import pytest

from c2hunt_offline import Runner, SplError
from c2hunt_offline.conf import Macros
from c2hunt_offline.grammar import SearchBnf, command_options, command_uses

ROOT = Path(__file__).resolve().parents[2]

CONTENT = ROOT.parent / "shared" / "reference" / "security_content"
BNF = ROOT.parent / "shared" / "reference" / "splunk-spec" / "9.4.3" / "searchbnf.conf"

# What a refusal must name, by kind.
REFUSALS = (
    ("command", re.compile(r"command '(\w+)' is not supported by the offline runner")),
    ("function", re.compile(r"unsupported function (\w+)\(\)")),
    ("subsearch", re.compile(r"(subsearch)es \(\[\.\.\.\]\) are not supported")),
    # macros ESCU's searches call but ESCU does not define (they come from ES / other apps)
    ("undefined macro", re.compile(r"macro `(\w+)` with \d+ arguments is not defined")),
    # the search command's grammar has no function calls: `_time >= relative_time(now(), ...)`
    # after a pipe is not a search expression (Splunk would read it as text, never compute it)
    ("invalid search expression", re.compile(r"^search: (unexpected ',')")),
)


def _yaml():
    yaml = pytest.importorskip("yaml")
    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.fixture(scope="module")
def corpus():
    if not (CONTENT / "detections").is_dir():
        pytest.skip("no security_content corpus (../shared absent)")
    yaml, loader = _yaml()
    stanzas = {}
    for path in sorted((CONTENT / "macros").glob("*.yml")):
        doc = yaml.load(path.read_text(), Loader=loader)
        args = doc.get("arguments") or []
        name = doc["name"] + ("(%d)" % len(args) if args else "")
        stanzas[name] = {"definition": doc.get("definition") or "", "args": ",".join(args)}
    stanzas["drop_dm_object_name(1)"] = {"definition": "rename $data_model$.* AS *", "args": "data_model"}
    searches = []
    for path in sorted((CONTENT / "detections").rglob("*.yml")):
        doc = yaml.load(path.read_text(), Loader=loader)
        if not doc.get("search"):
            continue
        # contentctl names each detection's filter macro after it, one "_" per other character
        stanzas.setdefault(re.sub(r"[^a-z0-9]", "_", doc["name"].lower()) + "_filter",
                           {"definition": "search *", "args": ""})
        searches.append((path.name, doc["search"]))
    runner = Runner(str(ROOT))
    runner.macros = Macros(stanzas)
    runner.parse_only = True
    outcomes = []
    for name, spl in searches:
        try:
            runner.run(spl, [])
            outcomes.append((name, "parsed", None))
        except SplError as exc:
            text = str(exc)
            for kind, rx in REFUSALS:
                m = rx.search(text)
                if m:
                    outcomes.append((name, kind, m.group(1)))
                    break
            else:
                outcomes.append((name, "error", text))
    return runner, searches, outcomes


def test_every_search_parses_or_is_refused_by_name(corpus):
    _, searches, outcomes = corpus
    assert len(searches) >= 1700
    errors = [(n, why) for n, kind, why in outcomes if kind == "error"]
    assert not errors, "\n".join("%s: %s" % e for e in errors[:20])


def test_most_of_the_corpus_parses(corpus):
    _, searches, outcomes = corpus
    counts = collections.Counter(kind for _, kind, _ in outcomes)
    # README reports these counts; a parser change that loses searches must say so
    assert counts["parsed"] >= 1450, counts
    assert counts["invalid search expression"] <= 2, counts


def test_parsed_searches_use_only_commands_and_options_of_searchbnf(corpus):
    if not BNF.exists():
        pytest.skip("no searchbnf.conf")
    runner, searches, outcomes = corpus
    bnf = SearchBnf(str(BNF))
    parsed = {n for n, kind, _ in outcomes if kind == "parsed"}
    problems = []
    for name, spl in searches:
        if name not in parsed:
            continue
        for command, args in command_uses(runner.expand(spl)):
            if not bnf.has_command(command):
                problems.append("%s: %s" % (name, command))
                continue
            extra = set(command_options(command, args)) - bnf.options(command)
            if extra:
                problems.append("%s: %s %s" % (name, command, sorted(extra)))
    assert not problems, problems[:20]


def test_refusals_name_the_unsupported_command(corpus):
    _, _, outcomes = corpus
    commands = collections.Counter(why for _, kind, why in outcomes if kind == "command")
    # commands the runner does not implement are refused by name, never half-run
    assert {"join", "spath"} <= set(commands)
    from c2hunt_offline import commands as engine_commands
    assert not set(commands) & set(engine_commands.COMMANDS)
