"""SPL commands: each takes the result rows (list of dict) and returns the new rows.

A command is ``fn(ctx, args_text, rows) -> rows``; generating commands (``tstats``,
``inputlookup``, ``makeresults``) ignore the incoming rows unless told to append. One module
per family; :data:`COMMANDS` maps each command name to its function.
"""
from .buckets import cmd_bin
from .convert import cmd_convert
from .filtering import cmd_eval, cmd_search, cmd_where
from .lookup import cmd_inputlookup, cmd_lookup, cmd_outputlookup
from .shaping import (cmd_dedup, cmd_fields, cmd_fillnull, cmd_head, cmd_makeresults,
                      cmd_mvexpand, cmd_rename, cmd_rex, cmd_sort, cmd_table, cmd_tail)
from .stats import cmd_eventstats, cmd_stats
from .tstats import cmd_tstats


# custom commands run through search command protocol v2
def make_custom(name):
    def run(ctx, args, rows):
        return ctx.run_custom(name, args, rows)
    return run


COMMANDS = {
    "search": cmd_search, "where": cmd_where, "eval": cmd_eval, "stats": cmd_stats,
    "eventstats": cmd_eventstats, "bin": cmd_bin, "bucket": cmd_bin, "table": cmd_table,
    "fields": cmd_fields, "rename": cmd_rename, "sort": cmd_sort, "head": cmd_head,
    "tail": cmd_tail, "dedup": cmd_dedup, "fillnull": cmd_fillnull, "rex": cmd_rex,
    "lookup": cmd_lookup, "inputlookup": cmd_inputlookup, "outputlookup": cmd_outputlookup,
    "tstats": cmd_tstats, "makeresults": cmd_makeresults, "mvexpand": cmd_mvexpand,
    "convert": cmd_convert,
}
GENERATING = {"tstats", "inputlookup", "makeresults"}
CUSTOM = ("c2entropy", "c2asym", "c2beacon")
for _name in CUSTOM:
    COMMANDS[_name] = make_custom(_name)
