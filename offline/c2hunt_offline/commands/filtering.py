"""search, where and eval."""
import re

from ..evalexpr import Expression, result_value, truth
from ..searchexpr import SearchExpression
from ..spltext import split_top_level
from ..values import SplError


def cmd_search(ctx, args, rows):
    expr = SearchExpression(args)
    return [r for r in rows if expr(r)]


def cmd_where(ctx, args, rows):
    if not args.strip():
        raise SplError("where: an expression is required")
    expr = Expression(args, kind="condition")
    return [r for r in rows if truth(expr(r))]


_ASSIGN = re.compile(r"^\s*('(?:[^'\\]|\\.)+'|\"(?:[^\"\\]|\\.)+\"|[^\s=!<>'\"]+)\s*=(?!=)(.*)$", re.S)


def eval_assignments(args):
    """The (field, Expression) pairs of eval's arguments, in order (errors as Splunk words them)."""
    assignments = []
    for part in split_top_level(args, ",", quotes="\"'", brackets="()"):
        if not part.strip():
            continue
        m = _ASSIGN.match(part)
        if not m:
            raise SplError("eval: expected <field>=<expression>, got %r" % part.strip())
        name = m.group(1)
        if name[:1] in ("'", '"'):
            name = name[1:-1]
        assignments.append((name, Expression(m.group(2).strip(), kind="value")))
    if not assignments:
        raise SplError("eval: an assignment is required")
    return assignments


def cmd_eval(ctx, args, rows):
    assignments = eval_assignments(args)
    for row in rows:
        for name, expr in assignments:
            value = result_value(expr(row))
            if value is None:
                row.pop(name, None)
            else:
                row[name] = value
    return rows
