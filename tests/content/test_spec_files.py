"""Every key the app sets exists in the spec files of each supported Splunk release.

The supported range is Splunk 9.4 and 10.x (README.md, "Install into Splunk"); its spec files
(etc/system/README/*.conf.spec of 9.4.3 and 10.4.2) are in ../shared/reference/splunk-spec/.
Splunk ignores a key it does not know (btool check reports it), so a misspelt key is a setting
that silently does nothing: this test is what catches it. The app's own spec
(README/inputs.conf.spec, the c2flow input's parameters) counts as spec for inputs.conf, and
so does a key Splunk's own etc/system/default file of that release sets (searchbnf.conf's
`category`, which 149 of Splunk's own stanzas use, is missing from searchbnf.conf.spec).
"""
import json
import re
from pathlib import Path

import pytest
from ksconf.conf.parser import GLOBAL_STANZA, PARSECONF_STRICT, parse_conf

ROOT = Path(__file__).resolve().parents[2]
SPEC_ROOT = ROOT.parent / "shared" / "reference" / "splunk-spec"
SUPPORTED_RELEASES = ("9.4.3", "10.4.2")
# Keys the app sets for newer releases only; older releases ignore them. Each is checked to
# exist in the newest spec, and its fallback is the key named here (same stanza).
NEWER_RELEASE_KEYS = {"python.required": ("10.4.2", "python.version")}
# Files Splunk Enterprise has no spec for: ES reads analyticstories.conf (as it does ESCU's).
NOT_SPLUNK_ENTERPRISE = {"analyticstories.conf"}
SETTING_LINE = re.compile(r"^([A-Za-z_<][^\s=]*)\s*=\s*(.*)$")


def _pattern(spec_key):
    """Regex for a spec key: <placeholders> match any non-empty text."""
    parts = re.split(r"(<[^>]*>)", spec_key)
    return "".join(".+" if part.startswith("<") else re.escape(part) for part in parts)


def spec_settings(path):
    """{spec key: value text} for every setting line of a .conf.spec file."""
    settings = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = SETTING_LINE.match(line)
        if match:
            settings.setdefault(match.group(1), match.group(2).strip())
    return settings


def spec_matcher(paths):
    settings = {}
    for path in paths:
        settings.update(spec_settings(path))
    regex = re.compile("|".join("(?:%s)" % _pattern(k) for k in sorted(settings)))
    return settings, regex


def app_settings():
    """(conf file name, stanza, key, value) for every key in default/*.conf."""
    for path in sorted((ROOT / "default").glob("*.conf")):
        conf = parse_conf(str(path), profile=PARSECONF_STRICT)
        for stanza, keys in conf.items():
            if stanza is GLOBAL_STANZA:
                continue
            for key, value in keys.items():
                if key.startswith("#"):  # ksconf keeps comments as pseudo-keys
                    continue
                yield path.name, stanza, key, value


def _release_dir(release):
    folder = SPEC_ROOT / release
    if not folder.is_dir():
        pytest.skip("Splunk spec files not available (%s)" % folder)
    return folder


@pytest.mark.parametrize("release", SUPPORTED_RELEASES)
def test_every_key_exists_in_the_release_spec(release):
    folder = _release_dir(release)
    matchers = {}
    unknown = []
    for conf_name, stanza, key, _ in app_settings():
        if conf_name in NOT_SPLUNK_ENTERPRISE:
            continue
        newer = NEWER_RELEASE_KEYS.get(key)
        if newer and release != newer[0]:
            continue
        if conf_name not in matchers:
            specs = [folder / (conf_name + ".spec")]
            assert specs[0].is_file(), "no spec for %s in %s" % (conf_name, release)
            own, system_default = ROOT / "README" / (conf_name + ".spec"), folder / conf_name
            specs += [path for path in (own, system_default) if path.is_file()]
            matchers[conf_name] = spec_matcher(specs)[1]
        if not matchers[conf_name].fullmatch(key):
            unknown.append("%s [%s] %s" % (conf_name, stanza, key))
    assert unknown == [], "keys not in Splunk %s's spec files: %s" % (release, unknown)


def test_newer_release_keys_have_their_fallback():
    """python.required (10.2+) is ignored by 9.4-10.1: python.version must choose for them."""
    for conf_name, stanza, key, _ in app_settings():
        if key in NEWER_RELEASE_KEYS:
            fallback = NEWER_RELEASE_KEYS[key][1]
            conf = parse_conf(str(ROOT / "default" / conf_name), profile=PARSECONF_STRICT)
            assert fallback in conf[stanza], "%s [%s] sets %s without %s" % (
                conf_name, stanza, key, fallback)


def _enumeration(value_text):
    """The alternatives of a spec value such as {default|python|python3.9} or a|b|c."""
    text = value_text.strip().strip("{}[]")
    return {alt.strip() for alt in text.split("|")} if "|" in text else set()


@pytest.mark.parametrize("release", SUPPORTED_RELEASES)
def test_python_settings_choose_a_runtime_the_package_carries(release):
    """On every supported release the commands and the input run on 3.9 or 3.13, the two
    runtimes the package vendors numpy for (package/build.py)."""
    folder = _release_dir(release)
    for conf_name in ("commands.conf", "inputs.conf"):
        allowed = _enumeration(spec_settings(folder / (conf_name + ".spec"))["python.version"])
        conf = parse_conf(str(ROOT / "default" / conf_name), profile=PARSECONF_STRICT)
        python_stanzas = [s for s in conf if s is not GLOBAL_STANZA
                          and ("python.version" in conf[s] or "python.required" in conf[s])]
        assert python_stanzas, conf_name
        for stanza in python_stanzas:
            version = conf[stanza].get("python.version")
            assert version in allowed, (release, stanza, version)
            # "python3"/"python" pick 3.7 or the site default on 9.x: only an explicit 3.9.
            assert version == "python3.9", (stanza, version)
            required = [v.strip() for v in conf[stanza]["python.required"].split(",")]
            assert required == ["3.9", "3.13"], (stanza, required)
    newest = spec_settings(_release_dir("10.4.2") / "commands.conf.spec")
    assert "python.required" in newest


def test_spec_parser_catches_a_misspelt_key():
    folder = _release_dir("10.4.2")
    regex = spec_matcher([folder / "savedsearches.conf.spec"])[1]
    assert regex.fullmatch("alert.suppress.period")
    assert regex.fullmatch("action.notable.param.severity")  # action.<action_name>.<parameter>
    assert not regex.fullmatch("alert.supress.period")
    assert not regex.fullmatch("dispatch.earliest")


def test_readme_states_the_supported_range():
    readme = (ROOT / "README.md").read_text()
    assert "9.4 and 10.x" in readme
    # app.manifest states it in the description: platformRequirements would fail slim, whose
    # release list ends at 8.0 (tests/packaging/test_package.py validates with slim).
    manifest = json.loads((ROOT / "app.manifest").read_text())
    assert "9.4 or later" in manifest["info"]["description"]
