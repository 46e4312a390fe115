"""Option parsing for the app's search commands, with errors a Splunk user can act on.

splunkd passes a command's arguments as a list of strings with quotes already removed
(``searchinfo.args``): ``name=value`` pairs are options, anything else is a positional
field name, as in splunklib. Each command declares its options as :class:`Option` objects.
"""
import re

_FIELD_NAME = re.compile(r"[^\s=,\"'|]+\Z")


class OptionError(ValueError):
    """A bad option or argument; its text goes to the job inspector as an ERROR."""


class Option(object):
    """One ``name=value`` option.

    Parameters
    ----------
    name : str
        The option name as typed in SPL.
    parse : callable
        str -> value; raises ValueError with a message naming what is expected.
    default : object
        Value when the option is not given.
    repeat : bool
        The option may be given several times (values collected in a list).
    """

    def __init__(self, name, parse, default=None, repeat=False):
        self.name = name
        self.parse = parse
        self.default = default
        self.repeat = repeat


def parse_args(command, args, options, positional_parse=None):
    """Split ``args`` into option values and positional arguments.

    Parameters
    ----------
    command : str
        Command name, used in messages.
    args : list of str
        ``searchinfo.args`` from getinfo.
    options : list of Option
    positional_parse : callable or None
        Applied to each positional argument; None means positionals are an error.

    Returns
    -------
    values : dict
        Option name -> parsed value (default when absent; a list for repeat options).
    positionals : list

    Raises
    ------
    OptionError
        Listing every problem found, one per line.
    """
    by_name = dict((option.name, option) for option in options)
    values = dict((option.name, [] if option.repeat else option.default) for option in options)
    given = set()
    positionals = []
    problems = []
    for arg in args:
        if "=" not in arg:
            if positional_parse is None:
                problems.append("unexpected argument %r" % arg)
                continue
            try:
                positionals.append(positional_parse(arg))
            except ValueError as error:
                problems.append("%r: %s" % (arg, error))
            continue
        name, text = arg.split("=", 1)
        option = by_name.get(name)
        if option is None:
            problems.append("unknown option %s=%s (valid options: %s)"
                            % (name, text, ", ".join(sorted(by_name))))
            continue
        if name in given and not option.repeat:
            problems.append("option %s is given more than once" % name)
            continue
        given.add(name)
        try:
            value = option.parse(text)
        except ValueError as error:
            problems.append("%s=%s: %s" % (name, text, error))
            continue
        if option.repeat:
            values[name].extend(value if isinstance(value, list) else [value])
        else:
            values[name] = value
    for option in options:
        if option.repeat and not values[option.name] and option.default:
            values[option.name] = list(option.default)
    if problems:
        raise OptionError("%s: %s" % (command, "; ".join(problems)))
    return values, positionals


# ---------------------------------------------------------------- value parsers

def field_name(text):
    """A Splunk field name: non-empty, no spaces, quotes, commas, '=' or '|'."""
    if not _FIELD_NAME.match(text):
        raise ValueError("expected a field name")
    return text


def field_list(text):
    """One or more field names separated by commas."""
    names = [part.strip() for part in text.split(",")]
    if not names or any(not _FIELD_NAME.match(name) for name in names):
        raise ValueError("expected a field name or a comma-separated list of field names")
    return names


def number(minimum=None, maximum=None):
    """Parser for a finite number in [minimum, maximum]."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ValueError("expected a number from %s to %s" % (
                "-inf" if minimum is None else "%g" % minimum,
                "inf" if maximum is None else "%g" % maximum))
        return value
    return parse


def integer(minimum=None, maximum=None):
    """Parser for an integer in [minimum, maximum]."""
    def parse(text):
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError("expected a whole number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ValueError("expected a whole number from %s to %s" % (
                "-inf" if minimum is None else minimum, "inf" if maximum is None else maximum))
        return value
    return parse


def choice(*allowed):
    """Parser for one of ``allowed`` (case-insensitive)."""
    def parse(text):
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError("expected one of %s" % ", ".join(allowed))
        return value
    return parse


def text_value(text):
    """Any string (possibly empty)."""
    return text
