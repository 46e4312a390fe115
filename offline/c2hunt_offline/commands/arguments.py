"""Argument helpers the commands share: words, options, booleans, field-name patterns."""
from ..spltext import read_quoted
from ..values import SplError, wildcard_regex


def words(text):
    """Split command arguments on whitespace and commas, keeping quoted strings whole.

    Returns a list of (text, quoted) pairs; quotes are removed from quoted items.
    """
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch == ",":
            i += 1
            continue
        if ch == '"':
            value, j = read_quoted(text, i)
            i = j + 1
            if i < n and not text[i].isspace() and text[i] != ",":
                # "All_Traffic".* : quoted and unquoted text side by side make one word
                k = i
                while k < n and not text[k].isspace() and text[k] != ",":
                    k += 1
                out.append((value + text[i:k], False))
                i = k
                continue
            out.append((value, True))
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ",":
            if text[j] == '"':  # key="quoted value"
                k = text.find('"', j + 1)
                while k > 0 and text[k - 1] == "\\":
                    k = text.find('"', k + 1)
                j = (k + 1) if k > 0 else n
                continue
            j += 1
        out.append((text[i:j], False))
        i = j
    return out


def take_options(items, known):
    """Pull ``key=value`` options named in ``known`` off the front/anywhere of ``items``."""
    options, rest = {}, []
    for word, quoted in items:
        if not quoted and "=" in word:
            key, value = word.split("=", 1)
            if key.lower() in known:
                options[key.lower()] = value.strip('"')
                continue
        rest.append((word, quoted))
    return options, rest


def parse_bool(value, name):
    v = str(value).lower()
    if v in ("1", "t", "true", "yes", "y"):
        return True
    if v in ("0", "f", "false", "no", "n"):
        return False
    raise SplError("%s: expected a boolean, got %r" % (name, value))


def field_matcher(patterns):
    """Predicate over field names from a list of names with ``*`` wildcards."""
    exact = set(p for p in patterns if "*" not in p)
    regexes = [wildcard_regex(p, case_sensitive=True) for p in patterns if "*" in p]
    return lambda name: name in exact or any(r.match(name) for r in regexes)
