"""Lexical helpers shared by the SPL parsers (command arguments, ``search``, ``eval``, conf)."""


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
