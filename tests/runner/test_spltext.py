"""split_top_level and Macros.expand visit only the characters that change their state
(quotes, backslashes, brackets or backticks, the separator): the same results and errors as
the plain character-by-character scans they replaced."""
import random

import pytest

from c2hunt_offline.conf import Macros
from c2hunt_offline.spltext import split_top_level
from c2hunt_offline.values import SplError


def _reference(text, sep, quotes, brackets, unclosed_quote_error=None):
    """The character-by-character scan split_top_level replaced."""
    opening, closing = brackets
    parts, buf, depth, quote = [], [], 0, None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch == "\\" and i + 1 < len(text) and text[i + 1] in quotes:
            buf.append(ch + text[i + 1])
            i += 1
        elif ch in quotes:
            quote = ch
            buf.append(ch)
        elif ch == opening:
            depth += 1
            buf.append(ch)
        elif ch == closing:
            depth -= 1
            buf.append(ch)
        elif ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if quote and unclosed_quote_error:
        raise SplError(unclosed_quote_error)
    parts.append("".join(buf))
    return parts


_SETTINGS = [(",", "\"'", "()", None), ("|", '"', "[]", "unbalanced quotes in search"), (",", '"', "()", None),
             (" ", '"', "()", "unclosed"), ("|", "", "[]", None), ("-", "^", "[]", None)]


def _outcome(fn, text, setting=()):
    try:
        return fn(text, *setting)
    except SplError as exc:
        return ("error", str(exc))


def test_split_top_level_matches_a_character_scan():
    rng = random.Random("split-top-level")
    alphabet = "ab |,()[]\"'\\=x-^é"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        setting = rng.choice(_SETTINGS)
        assert _outcome(split_top_level, text, setting) == _outcome(_reference, text, setting), (text, setting)


@pytest.mark.parametrize("text, parts", [
    ('search a | eval x="a|b" | rex "(?<p>[|])"', ['search a ', ' eval x="a|b" ', ' rex "(?<p>[|])"']),
    ('a | b [search c | d] | e', ["a ", " b [search c | d] ", " e"]),
    ('x=*\\"a|b\\"* | y', ['x=*\\"a', 'b\\"* ', " y"]),
    ('q="a\\"|b" | z', ['q="a\\"|b" ', " z"]),
])
def test_split_pipeline_examples(text, parts):
    assert split_top_level(text, "|", '"', "[]") == parts


class _ReferenceMacros(Macros):
    """Macro expansion by the character-by-character scan Macros.expand replaced."""

    def expand(self, text, depth=0):
        if depth > 50:
            raise SplError("macro expansion deeper than 50 levels (a macro calls itself?)")
        if "`" not in text:
            return text
        out = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i:i + 2])
                i += 2
                continue
            if ch == '"':
                j = i + 1
                while j < len(text) and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                out.append(text[i:j + 1])
                i = j + 1
                continue
            if ch == "`":
                j = text.find("`", i + 1)
                if j < 0:
                    raise SplError("unbalanced backtick in search: %r" % text[i:i + 60])
                out.append(self.expand(self.call(text[i + 1:j]), depth + 1))
                i = j + 1
                continue
            out.append(ch)
            i += 1
        return "".join(out)


def test_macro_expansion_matches_a_character_scan():
    """Macros.expand jumps between backslashes, quotes and backticks: the same text (quoted
    macros left alone, escaped quotes, arguments, nesting) and the same errors (unbalanced
    backticks, unknown macros, self-reference) as the scan it replaced."""
    stanzas = {"a": {"definition": 'x="q`b`" `b`'}, "b": {"definition": 'B\\"`c(1,2)`'},
               "c(2)": {"args": "p, q", "definition": '$p$-$q$ "`a`"'}, "d": {"definition": "`d`"}}
    macros, reference = Macros(stanzas), _ReferenceMacros(stanzas)
    rng = random.Random("macro-expansion")
    pieces = ["`a`", "`b`", '`c(1,"x")`', "`c(1)`", "`", '"', "\\", "x", " ", "|", "`zz`", '\\"', "`d`"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert _outcome(macros.expand, text) == _outcome(reference.expand, text), text
