"""Reading Splunk .conf files and expanding search macros."""
import os
import re

from .spltext import split_top_level
from .values import SplError


def read_conf(path):
    """Parse a .conf file into ``{stanza: {key: value}}`` (stanza order kept).

    Follows Splunk's rules: ``#`` comments on their own line, ``[stanza]`` headers,
    ``key = value`` pairs, a trailing backslash continues the value on the next line (the
    newline is kept), later keys override earlier ones, keys before any stanza go to
    ``default``.
    """
    stanzas = {}
    current = stanzas.setdefault("default", {})
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stanzas.setdefault(stripped[1:-1], {})
            continue
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        value = value.strip()
        while value.endswith("\\") and i <= len(lines):
            value = value[:-1] + "\n" + (lines[i] if i < len(lines) else "")
            i += 1
            value = value.rstrip()
        current[key] = value
    if not stanzas.get("default"):
        stanzas.pop("default", None)
    return stanzas


_MACRO_SPECIAL = re.compile(r'[\\"`]')
_MACRO_QUOTED = re.compile(r'"(?:[^"\\]|\\.|\\\Z)*"?', re.S)  # to the closing quote, or the end


class Macros(object):
    """Macros from macros.conf, expanded as Splunk does (``name`` or ``name(a,b)``)."""

    def __init__(self, stanzas):
        self.defs = {}
        for name, body in stanzas.items():
            if name == "default":
                continue
            m = re.match(r"^(.*)\((\d+)\)$", name)
            base, arity = (m.group(1), int(m.group(2))) if m else (name, 0)
            args = [a.strip() for a in body.get("args", "").split(",") if a.strip()]
            if len(args) != arity:
                raise SplError("macro [%s] declares %d arguments but args = %r" % (name, arity, body.get("args", "")))
            self.defs[(base, arity)] = (args, body.get("definition", ""), body.get("iseval", "0") in ("1", "true"))

    def expand(self, text, depth=0):
        """Expand every backtick macro in ``text`` (recursively, at most 50 levels)."""
        if depth > 50:
            raise SplError("macro expansion deeper than 50 levels (a macro calls itself?)")
        if "`" not in text:
            return text
        out = []
        i, n = 0, len(text)
        while i < n:  # from one character that matters (a backslash, a quote, a backtick) to the next
            found = _MACRO_SPECIAL.search(text, i)
            if found is None:
                out.append(text[i:])
                break
            out.append(text[i:found.start()])
            i = found.start()
            ch = text[i]
            if ch == "\\":  # \" outside a string is no quote
                out.append(text[i:i + 2])
                i += 2
                continue
            if ch == '"':  # macros inside quoted strings are not expanded
                end = _MACRO_QUOTED.match(text, i).end()
                out.append(text[i:end])
                i = end
                continue
            j = text.find("`", i + 1)
            if j < 0:
                raise SplError("unbalanced backtick in search: %r" % text[i:i + 60])
            out.append(self.expand(self.call(text[i + 1:j]), depth + 1))
            i = j + 1
        return "".join(out)

    def call(self, invocation):
        invocation = invocation.strip()
        m = re.match(r"^([^()\s]+)\s*(?:\((.*)\))?$", invocation, re.S)
        if not m:
            raise SplError("bad macro call `%s`" % invocation)
        name, argtext = m.group(1), m.group(2)
        values = split_args(argtext) if argtext is not None and argtext.strip() else []
        key = (name, len(values))
        if key not in self.defs:
            known = sorted("%s(%d)" % k if k[1] else k[0] for k in self.defs if k[0] == name)
            raise SplError("macro `%s` with %d arguments is not defined in macros.conf%s"
                           % (name, len(values), " (defined: %s)" % ", ".join(known) if known else ""))
        params, definition, iseval = self.defs[key]
        for param, value in zip(params, values):
            definition = definition.replace("$%s$" % param, value)
        if iseval:
            from .evalexpr import Expression
            result = Expression(definition)({})
            definition = "" if result is None else str(result)
        return definition


def split_args(text):
    """Split macro arguments on commas outside quotes and parentheses; strip each."""
    # values are substituted verbatim (quotes included), as Splunk does
    return [part.strip() for part in split_top_level(text, ",", quotes='"', brackets="()")]


def split_pipeline(spl):
    """Split a search into command strings at top-level pipes (not in quotes/brackets)."""
    return [part.strip() for part in split_top_level(spl, "|", quotes='"', brackets="[]",
                                                     unclosed_quote_error="unbalanced quotes in search")]
