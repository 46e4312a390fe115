"""Every .conf file parses strictly (ksconf) and its references resolve."""
import json
import re
from pathlib import Path

import pytest
from ksconf.conf.parser import GLOBAL_STANZA, PARSECONF_STRICT, parse_conf

ROOT = Path(__file__).resolve().parents[2]
CONF_FILES = sorted(ROOT.glob("default/*.conf")) + [ROOT / "metadata" / "default.meta"]


def load(path):
    return parse_conf(str(path), profile=PARSECONF_STRICT)


@pytest.mark.parametrize("path", CONF_FILES, ids=lambda p: p.name)
def test_conf_parses_strictly_without_duplicates_or_dangling_keys(path):
    conf = load(path)  # raises on duplicate stanzas/keys and on unparseable lines
    dangling = {key: value for key, value in conf.get(GLOBAL_STANZA, {}).items()
                if not key.startswith("#")}
    assert dangling == {}, "keys outside any stanza in %s" % path.name
    empty = [name for name, stanza in conf.items()
             if name is not GLOBAL_STANZA and not stanza and name != "default"]
    assert empty == [], "empty stanzas in %s" % path.name


def test_strict_parser_rejects_duplicate_keys(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[a]\nkey = 1\nkey = 2\n")
    with pytest.raises(Exception, match="(?i)duplicate"):
        load(bad)


def test_app_identity_matches_manifest():
    app = load(ROOT / "default" / "app.conf")
    manifest = json.loads((ROOT / "app.manifest").read_text())
    assert manifest["schemaVersion"] == "2.0.0"
    assert manifest["info"]["id"]["name"] == app["package"]["id"] == "c2hunt"
    assert manifest["info"]["id"]["version"] == app["id"]["version"] == app["launcher"]["version"]
    for stanza in ("id", "launcher", "package", "install", "ui"):
        assert stanza in app


def test_every_command_has_a_script_and_search_syntax():
    commands = load(ROOT / "default" / "commands.conf")
    bnf = load(ROOT / "default" / "searchbnf.conf")
    for name, stanza in commands.items():
        if name is GLOBAL_STANZA:
            continue
        assert (ROOT / "bin" / stanza["filename"]).is_file(), name
        assert stanza["chunked"] == "true"
        assert stanza["python.required"] == "3.9, 3.13"
        syntax = bnf["%s-command" % name]
        assert syntax["syntax"].startswith(name)
        assert syntax.get("description") and syntax.get("example1")


def test_metadata_exports_knowledge_objects_system_wide():
    meta = load(ROOT / "metadata" / "default.meta")
    assert meta[""]["export"] == "system"
    assert "sc_admin" in meta[""]["access"] and "admin" in meta[""]["access"]


def test_lookups_and_transforms_match():
    transforms_path = ROOT / "default" / "transforms.conf"
    transforms = load(transforms_path) if transforms_path.exists() else {}
    files = {stanza.get("filename") for name, stanza in transforms.items()
             if name is not GLOBAL_STANZA}
    for csv in sorted((ROOT / "lookups").glob("*.csv")):
        assert re.fullmatch(r"c2hunt_[a-z0-9_]+\.csv", csv.name), csv.name
        assert csv.name in files, "%s has no transforms.conf stanza" % csv.name
        assert csv.read_text().splitlines()[0].strip(), "%s lacks a header row" % csv.name
    for name in files - {None}:
        assert (ROOT / "lookups" / name).is_file(), "transforms.conf names missing %s" % name
