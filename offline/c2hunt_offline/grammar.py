"""What SPL the runner accepts, checked against Splunk's own grammar (searchbnf.conf).

Two halves:

- :data:`ENGINE_OPTIONS` lists, per command the runner implements, the ``name=value``
  options it understands. :func:`check_options` refuses any other option by name before a
  search runs, so an option the runner does not know is never read as a field name or a
  search term (the runner's syntax stays a subset of Splunk's; the test suite checks the
  lists against searchbnf.conf of each supported release).
- :class:`SearchBnf` reads a searchbnf.conf (Splunk's ``etc/system/default`` copy; not
  shipped here) and answers which commands exist (with aliases) and which options each one's
  syntax allows, following the ``<stanza>`` references of its syntax. :func:`command_uses`
  lists the commands and options of an expanded search, for the checks of the app's SPL.
"""
import re

from .conf import read_conf, split_pipeline
from .spltext import split_top_level
from .values import SplError

# Options per command (lower case). A command missing here takes no name=value options
# (search/where/eval take expressions instead: see EXPRESSION_COMMANDS).
ENGINE_OPTIONS = {
    "bin": {"span", "bins", "minspan", "aligntime", "start", "end"},
    "bucket": {"span", "bins", "minspan", "aligntime", "start", "end"},
    "convert": {"timeformat"},
    "dedup": {"keepempty", "consecutive", "keepevents"},
    "fillnull": {"value"},
    "head": {"limit"},
    "inputlookup": {"append", "start", "max"},
    "lookup": {"local", "update", "event_time_field"},
    "makeresults": {"count", "annotate"},
    "mvexpand": {"limit"},
    "outputlookup": {"append", "create_empty", "override_if_empty", "max", "key_field",
                     "createinapp", "output_format"},
    "rex": {"field", "max_match", "mode", "offset_field"},
    "sort": {"limit"},
    "tstats": {"prestats", "local", "append", "summariesonly", "include_reduced_buckets",
               "allow_old_summaries", "chunk_size", "fillnull_value", "datamodel", "span"},
    "stats": set(), "eventstats": set(), "table": set(), "fields": set(), "rename": set(),
    "tail": set(), "mvexpand_": set(),
}
ENGINE_OPTIONS.pop("mvexpand_")
# Arguments are expressions: name=value there is a comparison or an assignment.
EXPRESSION_COMMANDS = {"search", "where", "eval"}
# Words after which name=value is part of a clause (a where filter), not an option.
_CLAUSE_WORDS = {"where"}
_OPTION = re.compile(r"^([A-Za-z_][\w.]*)=(?!=)")


def command_options(command, args):
    """The ``name=value`` options in a command's arguments (names, lower case, in order).

    Only top-level, unquoted words count: ``count(eval(x=1))``, ``"a=b"`` and a subsearch's
    ``[search index=x]`` are not options, and nothing after a ``where`` clause is.
    """
    if command in EXPRESSION_COMMANDS:
        return []
    out = []
    args = re.sub(r"\s", " ", args)
    args = " ".join(w for w in split_top_level(args, " ", quotes='"', brackets="[]") if not w.startswith("["))
    for word in split_top_level(args, " ", quotes='"', brackets="()"):
        word = word.strip().strip(",")
        if word.lower() in _CLAUSE_WORDS:
            return out
        m = _OPTION.match(word)
        if m:
            out.append(m.group(1).lower())
    return out


def check_options(command, args):
    """Refuse options the runner does not implement for ``command`` (SplError names it)."""
    known = ENGINE_OPTIONS.get(command)
    if known is None:
        return
    for name in command_options(command, args):
        if name not in known:
            raise SplError("%s: option %s= is not supported by the offline runner" % (command, name))


def command_uses(spl):
    """[(command, args)] of an expanded search; the leading search terms count as ``search``."""
    uses = []
    for i, segment in enumerate(split_pipeline(spl)):
        if i == 0:
            if segment == "":
                continue
            if not re.match(r"^search\b", segment, re.I):
                uses.append(("search", segment))
                continue
        m = re.match(r"^([A-Za-z_][\w]*)\s*(.*)$", segment, re.S)
        uses.append((m.group(1).lower(), m.group(2)) if m else ("", segment))
    return uses


class SearchBnf(object):
    """The commands and options of one searchbnf.conf."""

    def __init__(self, path):
        self.stanzas = read_conf(path)
        self.commands = {}
        for name, stanza in self.stanzas.items():
            if name.endswith("-command"):
                command = name[:-len("-command")].lower()
                self.commands[command] = name
                for alias in re.split(r"[,\s]+", stanza.get("alias", "")):
                    if alias:
                        self.commands.setdefault(alias.lower(), name)
        self._options = {}

    def has_command(self, command):
        return command.lower() in self.commands

    def options(self, command):
        """Every ``name=`` the command's syntax allows, following its ``<references>``."""
        stanza = self.commands.get(command.lower())
        if stanza is None:
            return set()
        if stanza not in self._options:
            found, seen, todo = set(), set(), [stanza]
            while todo:
                name = todo.pop()
                if name in seen or name not in self.stanzas:
                    continue
                seen.add(name)
                body = self.stanzas[name]
                text = " ".join(body.get(k, "") for k in ("syntax", "simplesyntax"))
                found.update(m.lower() for m in re.findall(r"([A-Za-z_][\w.]*)\s*=\s*[<(\w\"]", text))
                for group in re.findall(r"\(([\w|]+)\)\s*=", text):  # (start|end)=<num>
                    found.update(g.lower() for g in group.split("|") if g)
                if name == stanza:  # the command's own examples are documented usage too
                    for key, value in body.items():
                        if key.startswith("example"):
                            found.update(o for c, a in command_uses("| " + re.sub(r"^[.\s]*\|?", "", value))
                                         if c == command.lower() for o in command_options(c, a))
                for ref in re.findall(r"<([\w-]+)(?::[^>]*)?>", text):
                    todo.append(ref)
            self._options[stanza] = found
        return self._options[stanza]
