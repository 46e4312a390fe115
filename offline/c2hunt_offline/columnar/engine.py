"""The columnar pipeline executor: each command on columns where it has a columnar version,
on rows otherwise, with the row engine's errors, messages and results.

The pipeline's data is ``None`` (nothing yet: a generating command must come), a
:class:`polars.DataFrame`, or a list of row dicts. A command with a columnar version
(:data:`.commands.COLUMNAR`) gets the frame; one without, or one that raises
:class:`NotColumnar` (before any side effect), gets ``rows_from_frame(frame)`` and the row
command. After the first segment, the selected events are copied as dicts (as the row
engine copies them) when the next command has no columnar version. Rows go back into columns for the next command only when a run of at least two
columnar commands starts there: converting costs about one row command's pass, so a lone
columnar command between row commands would pay twice for one step. A polars error inside
a columnar command is treated as :class:`NotColumnar` (the row command then runs): the
columns never cost a result the rows would give.

Parsing, the first-segment rules, ``parse_only`` and the error prefixes are the runner's own
(:meth:`Runner.first_search`, :meth:`Runner.next_command`, :meth:`Runner.apply_rows`,
:meth:`Runner._guarded`): the two engines share that code.
"""
import polars as pl

from .. import limits
from ..values import Unavailable
from . import prune
from .commands import COLUMNAR
from .search import first_segment
from .table import NotColumnar, frame_from_rows, rows_from_frame

REENTRY_RUN = 2  # consecutive columnar commands that make converting rows back worth it


def _columnar_run(names, start):
    """How many commands from ``start`` on have a columnar version, in a row."""
    count = 0
    for name in names[start:]:
        if name not in COLUMNAR:
            break
        count += 1
    return count


def _command_names(segments):
    names = []
    for segment in segments[1:]:
        word = segment.split(None, 1)[0].lower() if segment.strip() else ""
        names.append(word)
    return names


class Projection(object):
    """What the pipeline after its first segment reads (:func:`projection`)."""

    def __init__(self, fields=None, sized=False, streaming=()):
        self.fields = fields  # the fields read up to the reset (None: every field, no projection)
        self.sized = sized  # an eventstats before the reset (its cut-off sizes every field of a row)
        self.streaming = streaming  # the segments before the reset that run an app's streaming command


class WholeRows(Exception):
    """A streaming command would get rows holding no field once projected: the search runs again
    on the whole frame (:func:`execute`)."""


def projection(runner, segments):
    """The fields the pipeline after its first segment reads up to the first command from
    which on it holds only fields among them: :func:`.prune.rest_fields` from the first
    command, the app's streaming commands reading their ``input_fields``
    (:func:`.custom.streaming_reads`), unless ``C2HUNT_STREAM_PRUNE=0``. The first segment's
    frame then holds only those columns, so every filter, sort and conversion after copies
    fewer. Nothing else tells a projected row from a whole one: a streaming command drops a
    chunk of records that hold no field, so it must get none such (:func:`execute`)."""
    from .custom import streaming_reads
    from .stream import prune_rows
    if len(segments) < 2 or not prune_rows():
        return Projection()
    streaming = {}

    def reads(name, args):
        found = streaming_reads(runner, name, args)
        if found is not None:
            streaming[name] = True
            return found | prune._names(args)
        return None

    fields, stop = prune.rest_fields(segments, 1, reads)
    if fields is None:
        return Projection()
    names = _command_names(segments[:stop])
    return Projection(fields, "eventstats" in names,
                      {index + 1 for index, name in enumerate(names) if name in streaming})


def as_rows(data):
    """The pipeline's data as a list of row dicts."""
    if data is None:
        return None
    return data if isinstance(data, list) else rows_from_frame(data)


def apply(runner, ctx, name, args, data, reenter):
    """One command over ``data``: on columns when it can, else on rows."""
    fn = COLUMNAR.get(name)
    if fn is not None and (isinstance(data, pl.DataFrame) or data is None or reenter):
        try:
            frame = data if isinstance(data, pl.DataFrame) else \
                pl.DataFrame() if data is None else frame_from_rows(data)
            return fn(ctx, args, frame)
        except (NotColumnar, pl.exceptions.PolarsError):
            pass  # a library error is a column the step could not handle: rows decide
        except Unavailable:
            if not runner.parse_only:
                raise
            return []
    return runner.apply_rows(ctx, name, args, as_rows(data))


def execute(runner, ctx, segments, table, now, step):
    """Run the split pipeline ``segments`` over ``table`` (an EventTable); returns rows."""
    messages, columns = len(ctx.messages), ctx.columns
    try:
        return _execute(runner, ctx, segments, table, now, step, project=True)
    except WholeRows:  # what the projected run said is said again
        del ctx.messages[messages:]
        ctx.columns = columns
        return _execute(runner, ctx, segments, table, now, step, project=False)


def _holds_no_field(data):
    """Whether some row of ``data`` (a frame or rows) holds no field."""
    if isinstance(data, list):
        return not all(data)
    if not data.width:
        return bool(data.height)
    return not data.select(pl.any_horizontal(pl.all().is_not_null())).to_series().all()


def _execute(runner, ctx, segments, table, now, step, project):
    names = _command_names(segments)
    data, seen = None, Projection()
    for index, segment in enumerate(segments):
        step.name = None
        if index == 0:
            text = runner.first_search(segment)
            if text is None:
                continue
            on_rows = not _columnar_run(names, 0)  # then copy the selected event dicts, no conversion
            if project and not on_rows:
                seen = projection(runner, segments)
            # an eventstats that may cut off (past its row limit) sizes every field of a row
            data = first_segment(text, table, now, as_rows=on_rows, fields=seen.fields,
                                 whole_above=limits.MAXRESULTROWS if seen.sized else None)
            continue
        name, args = runner.next_command(segment, data, step)
        if index in seen.streaming and data is not None and _holds_no_field(data):
            raise WholeRows()
        data = apply(runner, ctx, name, args, data, _columnar_run(names, index - 1) >= REENTRY_RUN)
    return as_rows(data)


def execute_from(runner, ctx, segments, start, data, step, rows=True):
    """The commands ``segments[start:]`` over ``data`` (what the commands before them gave:
    a streamed hunt runs a search's per-event prefix chunk by chunk, then the rest here, with
    the same command choices as :func:`execute`); returns rows, or with ``rows=False`` the
    data as the last command left it (a frame or rows)."""
    names = _command_names(segments)
    for index in range(start, len(segments)):
        step.name = None
        name, args = runner.next_command(segments[index], data, step)
        data = apply(runner, ctx, name, args, data, _columnar_run(names, index - 1) >= REENTRY_RUN)
    return as_rows(data) if rows else data


__all__ = ["REENTRY_RUN", "apply", "as_rows", "execute", "execute_from"]
