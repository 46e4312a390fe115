"""Lexical helpers shared by the SPL parsers (command arguments, ``search``, ``eval``, conf)."""
import functools
import re

from .values import SplError


def read_quoted(text, start):
    """Read the double-quoted string whose opening quote is at ``text[start]``.

    Only ``\\"`` and ``\\\\`` are escapes; any other backslash stays as written (regexes
    are quoted that way in SPL).

    Returns
    -------
    tuple of (str, int)
        The unescaped content and the index of the closing quote, or ``len(text)`` when
        the string is not closed.
    """
    n = len(text)
    j = start + 1
    buf = []
    while j < n and text[j] != '"':
        if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\':
            buf.append(text[j + 1])
            j += 2
            continue
        buf.append(text[j])
        j += 1
    return "".join(buf), j


def split_top_level(text, sep, quotes, brackets, unclosed_quote_error=None):
    """Split ``text`` at ``sep`` where it stands outside quoted strings and brackets.

    Parameters
    ----------
    text : str
    sep : str
        One separator character.
    quotes : str
        The characters that open and close a quoted string; inside one, a backslash
        protects the next character.
    brackets : str
        The opening and the closing bracket (``"()"``, ``"[]"``).
    unclosed_quote_error : str, optional
        Raise ``SplError`` with this message when a quoted string is not closed; without
        it, the open string simply runs to the end of the last part.

    Returns
    -------
    list of str
        The parts, quotes and brackets kept, not stripped.
    """
    # Every character but a top-level separator is kept, so the parts are slices of the text
    # between those separators: only the characters that change the state are visited.
    opening, closing = brackets
    cuts, depth, quote, skip_to = [], 0, None, -1
    n = len(text)
    for match in _special_characters(sep, quotes, brackets).finditer(text):
        i = match.start()
        if i < skip_to:
            continue
        ch = text[i]
        if quote:
            if ch == "\\":
                skip_to = i + 2  # the next character is protected
            elif ch == quote:
                quote = None
        elif ch == "\\":
            if i + 1 < n and text[i + 1] in quotes:
                skip_to = i + 2  # an escaped quote outside a string: x=*\"a\"*
        elif ch in quotes:
            quote = ch
        elif ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
        elif ch == sep and depth == 0:
            cuts.append(i)
    if quote and unclosed_quote_error:
        raise SplError(unclosed_quote_error)
    starts = [0] + [cut + 1 for cut in cuts]
    ends = cuts + [n]
    return [text[start:end] for start, end in zip(starts, ends)]


@functools.lru_cache(maxsize=64)
def _special_characters(sep, quotes, brackets):
    """The characters :func:`split_top_level` acts on, as a regex character class."""
    return re.compile("[%s]" % re.escape("\\" + quotes + brackets + sep))


class TokenCursor(object):
    """A reading position in a list of ``(kind, value)`` tokens: the base of the parsers.

    ``peek`` past the last token gives ``past_end`` (a subclass may name its own).
    """

    past_end = (None, None)

    def __init__(self, text, tokens):
        self.text = text
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset=0):
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else self.past_end

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok
