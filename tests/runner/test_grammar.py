"""The app's SPL and the runner's syntax against Splunk's own grammar (searchbnf.conf).

For each supported Splunk release (../shared/reference/splunk-spec/<version>/): every
command the app's searches use (saved searches with macros expanded, dashboard queries,
README examples) exists, and every ``name=value`` option it passes is in that command's
syntax; the runner implements only options the grammar allows, and refuses the rest.
Skips cleanly without ../shared.
"""
import re
from pathlib import Path

import pytest

from c2hunt_offline import Runner, SplError
from c2hunt_offline import commands as engine_commands
from c2hunt_offline.grammar import (ENGINE_OPTIONS, SearchBnf, command_options,
                                    command_uses)
from c2hunt_offline.report.studio import load_view

ROOT = Path(__file__).resolve().parents[2]

SPEC = ROOT.parent / "shared" / "reference" / "splunk-spec"
RELEASES = ("9.4.3", "10.4.2")


@pytest.fixture(scope="module", params=RELEASES)
def bnf(request):
    path = SPEC / request.param / "searchbnf.conf"
    if not path.exists():
        pytest.skip("no searchbnf.conf for %s (../shared absent)" % request.param)
    return SearchBnf(str(path))


@pytest.fixture(scope="module")
def app_bnf():
    return SearchBnf(str(ROOT / "default" / "searchbnf.conf"))


def _expand(runner, spl):
    try:
        return runner.expand(spl)
    except SplError as exc:  # reported by the test, not at collection
        return "| macro_expansion_failed %s" % exc


def app_searches():
    """(where, expanded search) for every search the app ships or documents."""
    runner = Runner(str(ROOT))
    out = [("savedsearches.conf [%s]" % s.name, _expand(runner, s.search)) for s in runner.saved_searches()]
    for view in sorted((ROOT / "default" / "data" / "ui" / "views").glob("*.xml")):
        definition = load_view(view)
        for ds_id, ds in definition["dataSources"].items():
            query = ds.get("options", {}).get("query", "")
            if ds["type"] == "ds.chain":  # a chain continues its base search
                query = definition["dataSources"][ds["options"]["extend"]]["options"]["query"] + " " + query
            # tokens as a user's choice would fill them
            query = re.sub(r"\$[A-Za-z_][\w.]*\$", "x", query)
            out.append(("%s %s" % (view.name, ds_id), _expand(runner, query)))
    # README: indented code blocks that start with a macro or a pipe and hold no placeholders
    block = []
    for line in (ROOT / "README.md").read_text().splitlines() + [""]:
        if line.startswith("    ") and (block or line.strip()[:1] in ("`", "|")):
            block.append(line.strip())
            continue
        text = " ".join(block)
        block = []
        if text and "<" not in text and "[" not in text and "..." not in text:
            out.append(("README.md", _expand(runner, text)))
    return out


SEARCHES = app_searches()


def test_the_app_has_searches_to_check():
    kinds = {where.split(" ")[0] for where, _ in SEARCHES}
    assert {"savedsearches.conf", "c2hunt_overview.xml", "README.md"} <= kinds


@pytest.mark.parametrize("where, spl", SEARCHES, ids=[w for w, _ in SEARCHES])
def test_app_search_uses_only_commands_and_options_splunk_knows(bnf, app_bnf, where, spl):
    for command, args in command_uses(spl):
        grammar = app_bnf if app_bnf.has_command(command) else bnf
        assert grammar.has_command(command), "%s: %s is not a Splunk command" % (where, command)
        allowed = grammar.options(command)
        for option in command_options(command, args):
            assert option in allowed, "%s: %s has no option %s= (allowed: %s)" % (
                where, command, option, ", ".join(sorted(allowed)))


@pytest.mark.parametrize("where, spl", SEARCHES, ids=[w for w, _ in SEARCHES])
def test_app_eval_operators_are_uppercase(where, spl):
    # The Search Manual ("Boolean expressions") asks for capitalised AND/OR/NOT/XOR; the
    # runner accepts any case like searchbnf.conf and ESCU do, the app writes uppercase only
    from c2hunt_offline.evalexpr.parser import lowercase_operators
    for command, args in command_uses(spl):
        if command in ("eval", "where"):
            assert not lowercase_operators(args), "%s: %s %s" % (where, command, args[:80])


def test_runner_commands_exist_in_splunk(bnf, app_bnf):
    for command in engine_commands.COMMANDS:
        assert bnf.has_command(command) or app_bnf.has_command(command), command


def test_runner_options_are_a_subset_of_the_grammar(bnf):
    for command, options in ENGINE_OPTIONS.items():
        extra = options - bnf.options(command)
        assert not extra, "%s: the runner accepts %s, searchbnf does not" % (command, sorted(extra))


def test_custom_commands_searchbnf_mirrors_their_options(app_bnf):
    # each option the scripts declare is in the app's own searchbnf.conf (and nothing else)
    for command in ("c2entropy", "c2asym", "c2beacon"):
        script = (ROOT / "bin" / ("%s.py" % command)).read_text()
        declared = set(re.findall(r"Option\(\s*\"(\w+)\"", script))
        assert declared, "no options found in bin/%s.py" % command
        assert declared == app_bnf.options(command), command


@pytest.mark.parametrize("spl, name", [
    ("| makeresults count=2 bogus=1", "bogus"),
    ("| makeresults | sort 0 nosuch=1 x", "nosuch"),
    ("| makeresults | fillnull valu=1 x", "valu"),
    ("| makeresults | stats count by x limit=5", "limit"),
])
def test_runner_refuses_options_it_does_not_know(spl, name):
    with pytest.raises(SplError, match="option %s= is not supported" % name):
        Runner(str(ROOT)).run(spl, [])


def test_options_are_told_from_clauses_and_expressions():
    assert command_options("stats", "count(eval(x=1)) AS n by a") == []
    assert command_options("tstats", "summariesonly=t count from datamodel=X where a=b by c") == \
        ["summariesonly", "datamodel"]
    assert command_options("rex", 'field=x "(?<a>b=c)"') == ["field"]
    assert command_options("eval", "a=1") == []
