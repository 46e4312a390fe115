"""eval and where on columns: each expression evaluated for the whole frame at once
(:mod:`.expressions`), arguments parsed and checked by the row commands' own code so a bad
search fails with the same words."""
import polars as pl

from ..commands.filtering import eval_assignments
from ..evalexpr import Expression
from ..evalexpr.evaluate import result_value
from ..evalexpr.parser import parse
from ..values import SplError
from . import expressions as ex
from .table import NotColumnar, python_values, series_from_values


def _stored(val, name):
    """The column an eval assignment stores (what result_value lets a row hold)."""
    kind = val.kind
    if kind == ex.OBJ:
        try:
            values = [result_value(v) for v in val.outputs]
        except SplError as exc:
            raise NotColumnar(str(exc))  # a boolean reached a field: the row engine says where
        column = series_from_values(name, values)
        if column.dtype == pl.Object:
            raise NotColumnar("%s holds values of mixed kinds" % name)
        return column.gather(val.index)
    if kind == ex.MIX:
        if not ex._any(val.num.is_not_null()):
            return val.s.alias(name)
        if not ex._any(val.s.is_not_null()):
            return val.num.alias(name)
        # strings and numbers in one field: an Object column, as the representation holds them
        numbers = python_values(val.num)
        return pl.Series(name, [n if s is None else s for s, n in zip(val.s.to_list(), numbers)], dtype=pl.Object)
    if kind == ex.BOOL:
        if val.s.null_count() < val.s.len():
            raise NotColumnar("a boolean result: the row engine raises on the row it meets it")
        return pl.repeat(None, val.s.len(), dtype=pl.String, eager=True).alias(name)
    return val.s.cast(ex.DTYPES[kind]).alias(name)


# eval/where arguments -> their parsed node trees: a search's commands run again for every chunk
# of a streamed hunt, and searches share macros. Only arguments that parse are kept (a bad one
# raises each time, as the row command does); parsing is a pure function of the text.
_PARSED = {}
_PARSED_MAX = 4096


def _parsed(kind, args, parse_args):
    key = (kind, args)
    trees = _PARSED.get(key)
    if trees is None:
        trees = parse_args(args)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = trees
    return trees


def _eval_trees(args):
    # parse errors (and type errors) first, as the row command raises them
    return [(name, parse(expression.text)) for name, expression in eval_assignments(args)]


def _where_tree(args):
    if not args.strip():
        raise SplError("where: an expression is required")
    return parse(Expression(args, kind="condition").text)


def col_eval(ctx, args, frame):
    assignments = _parsed("eval", args, _eval_trees)
    if frame.height == 0:
        return frame
    fields = {}  # the fields read, each parsed and checked once for all the assignments
    for name, tree in assignments:
        val, _ = ex.evaluate(frame, tree, fields)
        frame = frame.with_columns(_stored(val, name))
        fields.pop(name, None)  # the assignment replaced it
    return frame


def col_where(ctx, args, frame):
    tree = _parsed("where", args, _where_tree)
    if frame.height == 0:
        return frame
    val, _ = ex.evaluate(frame, tree)
    return frame.filter(ex.mask(val))


COLUMNAR_COMMANDS = {"eval": col_eval, "where": col_where}
COLUMNAR = COLUMNAR_COMMANDS  # the name the registry (columnar/commands.py) reads from each module
