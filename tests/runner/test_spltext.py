"""split_top_level visits only the characters that change its state (quotes, backslashes,
brackets, the separator): the same parts and errors as a plain character-by-character scan."""
import random

import pytest

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


def _outcome(fn, text, setting):
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
