"""The app's custom commands (c2entropy, c2asym, c2beacon) run in this process, on columns.

The reference path (:meth:`Runner.run_custom_records`) starts ``bin/<command>.py`` and speaks
search command protocol v2 to it: every record is written as CSV, parsed back by the
command's :class:`~c2hunt.scp.columns.Chunk`, and its reply parsed again by
:func:`~c2hunt_offline.scp_driver.decode_records`. The kernels are numpy and barely notice
their input; the round trip is most of the time. Here the same command class is imported
from the app's ``bin/`` and fed a :class:`FrameSource`: the ``ColumnSource`` interface a
``Chunk`` implements, read from polars columns, giving the values a chunk would give (the
text the record carries: numbers as ``to_str`` writes them, a multivalue field as its
newline-joined plain cell plus its items). Its output cells become frame columns holding
what the protocol reply holds once decoded (strings; an empty value is no value), in the
column order ``frame_from_rows`` would give the decoded records.

Everything that shapes the reply is kept: chunks of the protocol's size (messages are
counted per chunk and totalled "(total for this search)" at the end), the argument parsing
and its error text, the reporting command's ingest-then-finish flow (whose CSV reply is
decoded by the driver's own decoder), the records a chunk without fields loses. What this
module cannot reproduce exactly (a column it cannot read as text, an unexpected error in the
command, an app whose ``c2hunt`` package is not the one already imported) raises
:class:`NotColumnar` before ``ctx`` is touched, and the protocol path runs instead.

``C2HUNT_COMMANDS=protocol`` forces the protocol path.

Imports: ``bin/`` and its vendored folders (``bin/lib/<target>``, ``bin/lib/common``, as
``c2hunt_path`` orders them) are put first on ``sys.path`` only while a command is loaded or
runs (its lazy imports, e.g. the public suffix list, happen then), and ``sys.path`` is
restored after, so other code in this process never sees them. The modules loaded stay in
``sys.modules`` under their own names (``c2hunt``, ``c2hunt_path``); a second app whose
``bin/`` holds another ``c2hunt`` gets the protocol path (two packages cannot share a name
in one process).
"""
import contextlib
import importlib.util
import os
import shlex
import sys
import warnings

import numpy as np
import polars as pl

from ..scp_driver import DEFAULT_CHUNK_SIZE, decode_records
from ..values import SplError, to_str
from .expressions import number_texts
from .table import NotColumnar, python_values

_LOADED = {}  # script path -> (mtime, command class)


def in_process_enabled():
    """False when ``C2HUNT_COMMANDS=protocol`` asks for the protocol path."""
    return os.environ.get("C2HUNT_COMMANDS", "").strip().lower() != "protocol"


# ------------------------------------------------------------------ loading the command


def _script(runner, name):
    """The command's script, with the reference path's checks and error texts."""
    stanza = runner.commands_conf.get(name)
    if stanza is None:
        raise SplError("%s: not declared in default/commands.conf" % name)
    script = os.path.join(runner.app_root, "bin", stanza.get("filename", name + ".py"))
    if not os.path.exists(script):
        raise SplError("%s: %s does not exist" % (name, script))
    return script


def _search_paths(bin_dir):
    """``bin/`` and its vendored folders for this interpreter, as ``c2hunt_path`` adds them."""
    import platform
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    lib = os.path.join(bin_dir, "lib")
    tag = "cp%d%d-%s" % (sys.version_info[0], sys.version_info[1], machine)
    if os.path.isdir(lib) and not os.path.isdir(os.path.join(lib, tag)):
        raise NotColumnar("the app has no compiled libraries for %s" % tag)
    vendored = [p for p in (os.path.join(lib, tag), os.path.join(lib, "common")) if os.path.isdir(p)]
    return vendored + [bin_dir]


@contextlib.contextmanager
def _app_imports(bin_dir):
    """``sys.path`` with the app's folders first, restored on the way out."""
    saved = list(sys.path)
    sys.path[:0] = _search_paths(bin_dir)
    try:
        yield
    finally:
        sys.path[:] = saved


def _same_package(module_name, expected):
    """True when ``module_name`` is not imported yet or was imported from ``expected``."""
    module = sys.modules.get(module_name)
    if module is None:
        return True
    where = getattr(module, "__file__", None) or ""
    return os.path.normcase(os.path.realpath(where)).startswith(
        os.path.normcase(os.path.realpath(expected)))


def _command_class(script):
    """The command class a script serves (the one SearchCommand subclass it defines)."""
    bin_dir = os.path.dirname(script)
    if not (_same_package("c2hunt", os.path.join(bin_dir, "c2hunt"))
            and _same_package("c2hunt_path", os.path.join(bin_dir, "c2hunt_path.py"))):
        raise NotColumnar("another app's c2hunt package is loaded in this process")
    mtime = os.stat(script).st_mtime_ns
    cached = _LOADED.get(script)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _app_imports(bin_dir):
        spec = importlib.util.spec_from_file_location(
            "_c2hunt_command_%d" % len(_LOADED), script)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            from c2hunt.scp.command import SearchCommand
        except (Exception, SystemExit) as exc:  # the protocol path reports it its own way
            raise NotColumnar("cannot load %s in process (%s)" % (script, exc))
    classes = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, SearchCommand)
               and value.__module__ == module.__name__]
    if len(classes) != 1:
        raise NotColumnar("%s defines %d command classes" % (script, len(classes)))
    _LOADED[script] = (mtime, classes[0])
    return classes[0]


# ------------------------------------------------------------------ columns as the protocol sends them


class _Text(object):
    """One input field as a record carries it to the command.

    plain : String series, null where the record has no value (or ""): the CSV plain cell,
        a multivalue value's items joined by newlines.
    items : List(String) series or None: the items of rows with more than one (null elsewhere).
    multi : bool ndarray or None: rows whose value is multivalue.
    held : Boolean series: the record holds the field (even as ""): it names the field.
    out : the value the reply gives back (String, or List(String) where multivalue).
    """

    __slots__ = ("plain", "items", "multi", "held", "out")

    def __init__(self, plain, items, multi, held, out):
        self.plain, self.items, self.multi, self.held, self.out = plain, items, multi, held, out

    def slice(self, start, length):
        return _Text(self.plain.slice(start, length),
                     None if self.items is None else self.items.slice(start, length),
                     None if self.multi is None else self.multi[start:start + length],
                     self.held.slice(start, length), self.out.slice(start, length))


def _empty_to_null(series):
    if not (series == "").any():  # nothing to clear: the column as it is, not a copy
        return series
    return pl.select(pl.when(pl.lit(series) == "").then(None).otherwise(pl.lit(series))
                     .alias(series.name)).to_series()


def _as_text(series):
    """The :class:`_Text` of one frame column (NotColumnar for a column not held as text)."""
    dtype = series.dtype
    name = series.name
    if dtype == pl.String or dtype == pl.Null:
        plain = series.cast(pl.String)
        held = plain.is_not_null()
        plain = _empty_to_null(plain)
        return _Text(plain, None, None, held, plain)
    if dtype.is_float() or dtype.is_integer():
        if dtype.is_integer() and len(series) and (series.abs().max() or 0) >= 2 ** 53:
            raise NotColumnar("integers past 2**53 in %r" % name)
        plain = number_texts(series)
        return _Text(plain, None, None, plain.is_not_null(), plain)
    if isinstance(dtype, pl.List) and dtype.inner in (pl.String, pl.Null):
        lists = series.cast(pl.List(pl.String))
        lengths = lists.list.len().fill_null(0)
        filled = lists.list.eval(pl.element().fill_null(""))
        first = lists.list.first()
        single = lengths == 1
        # a one-item list is that item (null item: no value); two or more: items, nulls as ""
        held = (lengths > 1) | (single & first.is_not_null())
        joined = filled.list.join("\n")
        plain = pl.select(pl.when(pl.lit(lengths) > 1).then(pl.lit(joined))
                          .when(pl.lit(single)).then(pl.lit(first)).otherwise(None)
                          .alias(name)).to_series()
        plain = _empty_to_null(plain)
        multi = (lengths > 1).to_numpy()
        items = pl.select(pl.when(pl.lit(lengths) > 1).then(pl.lit(filled)).otherwise(None)
                          .alias(name)).to_series()
        # a one-item list with a value is that item in a list: ``filled`` holds it so already
        out = pl.select(pl.when(pl.lit(lengths > 1) | (pl.lit(single) & pl.lit(plain).is_not_null()))
                        .then(pl.lit(filled)).otherwise(None).alias(name)).to_series()
        return _Text(plain, items if multi.any() else None, multi if multi.any() else None,
                     held, out)
    if dtype == pl.Object:  # mixed strings and numbers (rare): the driver's to_str per cell
        values = [value if value is None or type(value) is str
                  else [to_str(item) for item in value] if isinstance(value, list)
                  else to_str(value) for value in python_values(series)]
        if any(type(value) is list for value in values):
            return _as_text(pl.Series(name, [[value] if type(value) is str else value for value in values],
                                      dtype=pl.List(pl.String)))
        return _as_text(pl.Series(name, values, dtype=pl.String))
    raise NotColumnar("column %r (%s) is not held as text" % (name, dtype))


# ------------------------------------------------------------------ the ColumnSource


def _source_classes():
    from c2hunt.scp.columns import Column, ColumnSource
    from c2hunt.scp.values import parse_decimal_ranges, to_float
    return Column, ColumnSource, parse_decimal_ranges, to_float


_FRAME_SOURCES = {}


def make_source(texts, n_rows):
    """A :class:`FrameSource` over ``texts`` (name -> :class:`_Text` of one chunk)."""
    classes = _source_classes()
    if classes not in _FRAME_SOURCES:
        _FRAME_SOURCES[classes] = _frame_source_class(*classes)
    return _FRAME_SOURCES[classes](texts, n_rows)


def _frame_source_class(Column, ColumnSource, parse_decimal_ranges, to_float):
    """The :class:`FrameSource` class, made once per driver (bin's classes are imported late):
    a class made per call is a reference cycle, and its methods' closures held each chunk's
    columns until Python's next full collection (60 MB a chunk of dns records)."""
    class FrameSource(ColumnSource):
        """A chunk's columns read from polars: what :class:`Chunk` gives for the same records."""

        def __init__(self, texts, n_rows):
            self._chunk_texts = texts
            self.n_rows = n_rows
            self._cache = {}

        def _plain_list(self, name):
            text = self._chunk_texts.get(name)
            if text is None:
                return [""] * self.n_rows
            return text.plain.fill_null("").to_list()

        def _multi(self, name):
            text = self._chunk_texts.get(name)
            return None if text is None else text.multi

        def column(self, name):
            values = self._plain_list(name)
            multi = {}
            mask = self._multi(name)
            if mask is not None:
                rows = np.flatnonzero(mask)
                items = self._chunk_texts[name].items.gather(rows).to_list()
                multi = dict(zip(rows.tolist(), items))
            return Column(values, multi)

        def _bytes(self, name):
            """(flat, offsets) of the plain cells' UTF-8 bytes (multivalue rows joined)."""
            if name in self._cache:
                return self._cache[name]
            text = self._chunk_texts.get(name)
            if text is None:
                cells = (np.empty(0, dtype=np.uint8), np.zeros(self.n_rows + 1, dtype=np.int64))
            else:
                plain = text.plain.fill_null("")
                lengths = plain.str.len_bytes().to_numpy().astype(np.int64)
                offsets = np.zeros(self.n_rows + 1, dtype=np.int64)
                np.cumsum(lengths, out=offsets[1:])
                joined = plain.str.join("").item() if self.n_rows else ""
                flat = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
                cells = (flat, offsets)
            self._cache[name] = cells
            return cells

        def numbers(self, name):
            # Chunk.numbers: simple decimals parsed from the bytes, the rest by to_float
            multi = self._multi(name)
            multi = np.zeros(self.n_rows, dtype=bool) if multi is None else multi.copy()
            if name not in self._chunk_texts:
                return np.full(self.n_rows, np.nan), multi
            flat, offsets = self._bytes(name)
            values, handled = parse_decimal_ranges(flat, offsets[:-1], np.diff(offsets))
            bad = np.zeros(self.n_rows, dtype=bool)
            rest = np.flatnonzero(~handled & ~multi)
            if len(rest):
                rest_texts = self._chunk_texts[name].plain.gather(rest).fill_null("").to_list()
                values[rest], bad[rest] = to_float(rest_texts)
            values[multi] = np.nan
            bad[multi] = True
            return values, bad

        def cell_bytes(self, name):
            multi = self._multi(name)
            if multi is not None and multi.any():
                return None
            return self._bytes(name)

        def group_keys(self, names):
            if not names:  # one group of every row
                n_keys = 1 if self.n_rows else 0
                return (np.arange(self.n_rows, dtype=np.int64), np.zeros(self.n_rows, dtype=np.int64), [],
                        np.zeros((n_keys, 0), dtype=np.int64), np.zeros(n_keys, dtype=np.int64))
            if any(name not in self._chunk_texts for name in names):
                return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                        [[] for _ in names], np.zeros((0, len(names)), dtype=np.int64),
                        np.zeros(0, dtype=np.int64))
            keys = ["k%d" % i for i in range(len(names))]
            frame = pl.DataFrame([self._chunk_texts[name].plain.alias(key) for name, key in zip(names, keys)])
            frame = frame.with_row_index("__row").drop_nulls(keys)
            rows = frame.get_column("__row").cast(pl.Int64).to_numpy()
            firsts = frame.group_by(keys, maintain_order=True).agg(pl.col("__row").first())
            firsts = firsts.with_row_index("__key")
            key_index = frame.join(firsts.select(keys + ["__key"]), on=keys, how="left",
                                   maintain_order="left").get_column("__key").cast(pl.Int64).to_numpy()
            distinct, key_values = [], np.zeros((firsts.height, len(names)), dtype=np.int64)
            for field, key in enumerate(keys):
                values = firsts.get_column(key)
                unique = values.unique(maintain_order=True)
                distinct.append(unique.to_list())
                codes = pl.DataFrame({key: values}).join(
                    unique.to_frame().with_row_index("__id"), on=key, how="left",
                    maintain_order="left").get_column("__id")
                key_values[:, field] = codes.cast(pl.Int64).to_numpy()
            first_rows = firsts.get_column("__row").cast(pl.Int64).to_numpy()
            return rows, key_index, distinct, key_values, first_rows

        def display_cells(self, names, rows):
            rows = np.asarray(rows, dtype=np.int64)
            columns = []
            for name in names:
                text = self._chunk_texts.get(name)
                if text is None:
                    columns.append([[]] * len(rows))
                    continue
                plain = text.plain.gather(rows).to_list()
                items = text.items.gather(rows).to_list() if text.items is not None \
                    else [None] * len(rows)
                columns.append([item if item is not None else ([] if value is None else value)
                                for value, item in zip(plain, items)])
            return [list(cells) for cells in zip(*columns)] if columns else [[] for _ in rows]

    return FrameSource


# ------------------------------------------------------------------ running it


def _reply_error(name, script, texts):
    """The reference path's error for a command that reported ``texts`` as ERRORs."""
    command_name = os.path.splitext(os.path.basename(script))[0]
    return SplError("%s: %s failed (exit 1): %s" % (name, command_name, "; ".join(texts)))


def _encoded_strings(name, cells, n_rows):
    """The texts of ``cells`` (a Cells) from its CSV-ready byte matrix, without a Python str
    per cell: the bytes kept back to back and their offsets, an Arrow string array (checked to
    be UTF-8) and the polars column of it. None when it has no matrix, a cell is not
    UTF-8 (texts() decodes each cell with "replace": let it) or pyarrow is absent; the cells
    then give their texts."""
    encoded = cells.encoded()
    if encoded is None:
        return None
    chars, present = encoded
    if chars.shape[1] == 0:
        return pl.Series(name, [None] * n_rows, dtype=pl.String)
    try:
        import pyarrow as pa
    except ImportError:
        return None
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(present, axis=1), out=offsets[1:])
    flat = np.ascontiguousarray(chars[present])
    array = pa.LargeStringArray.from_buffers(n_rows, pa.py_buffer(offsets), pa.py_buffer(flat))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return _empty_to_null(pl.Series(name, pl.from_arrow(array)).cast(pl.String))


def _reply_cells(name, values, n_rows):
    """A command's output column as the decoded reply holds it (String or List(String))."""
    if hasattr(values, "texts"):
        if len(values) != n_rows:
            raise NotColumnar("%s: output column has %d values for %d records" % (name, len(values), n_rows))
        texts = _encoded_strings(name, values, n_rows)
        if texts is not None:
            return texts
        values = values.texts()
    if len(values) != n_rows:
        raise NotColumnar("%s: output column has %d values for %d records" % (name, len(values), n_rows))
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return _empty_to_null(pl.Series(name, values, dtype=pl.String))
    cells = []
    for value in values:
        if type(value) is list:
            if not all(type(item) is str for item in value):
                raise NotColumnar("%s: a multivalue cell holds a non-string" % name)
            if len(value) > 1:
                cells.append(value)
                continue
            value = value[0] if value else None
        elif value is not None and type(value) is not str:
            raise NotColumnar("%s: a cell of type %s" % (name, type(value).__name__))
        cells.append([value] if value else None)
    return pl.Series(name, cells, dtype=pl.List(pl.String))


def _header(chunk_texts, names):
    """The input fields a chunk's records name, in order of first appearance."""
    firsts = []
    for position, name in enumerate(names):
        held = chunk_texts[name].held
        first = held.arg_max() if held.any() else None
        if first is not None:
            firsts.append((first, position, name))
    return [name for _, _, name in sorted(firsts)]


def _assemble(parts, height):
    """One frame of the chunks' output columns: ``parts`` is a list of (start, n_rows,
    header, columns dict); columns ordered by first appearance over the records."""
    names, first_seen = [], {}
    for start, n_rows, header, columns in parts:
        for position, name in enumerate(header):
            cells = columns[name]
            present = cells.is_not_null()
            if name not in first_seen and present.any():
                first_seen[name] = (start + present.arg_max(), position)
                names.append(name)
    if not names:
        return pl.DataFrame(height=height) if height else pl.DataFrame()
    names.sort(key=first_seen.__getitem__)
    listed = {name for name in names
              if any(isinstance(columns[name].dtype, pl.List) and columns[name].is_not_null().any()
                     for _, _, header, columns in parts if name in columns)}
    out = []
    for name in names:
        pieces = []
        for _, n_rows, header, columns in parts:
            cells = columns.get(name)
            if cells is None:
                cells = pl.Series(name, [None] * n_rows, dtype=pl.String)
            if name in listed and not isinstance(cells.dtype, pl.List):
                cells = pl.select(pl.when(pl.lit(cells).is_not_null())
                                  .then(pl.concat_list(pl.lit(cells))).alias(name)).to_series()
            elif name not in listed and isinstance(cells.dtype, pl.List):
                cells = cells.list.first()
            pieces.append(cells.cast(pl.List(pl.String) if name in listed else pl.String).alias(name))
        out.append(pl.concat(pieces) if len(pieces) > 1 else pieces[0])
    return pl.DataFrame(out)


def streaming_reads(runner, name, args):
    """The fields the app's streaming command ``name`` reads with these arguments: its
    ``input_fields`` once configured (the contract of ``c2hunt.scp.command.StreamingCommand``:
    ``compute`` reads those columns only; every other field of a record passes through as its
    text). None when it is no streaming command this process can load, or the arguments do not
    configure it (the run then reports them)."""
    from .stream import streaming_custom
    if not streaming_custom(runner, name):
        return None
    try:
        script = _script(runner, name)
        argv = [str(arg) for arg in shlex.split(args)]
        cls = _command_class(script)
        with _app_imports(os.path.dirname(script)), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            command = cls()
            command.configure(argv)
        fields = getattr(command, "input_fields", None)
        return None if fields is None else {str(field) for field in fields}
    except Exception:  # noqa: BLE001  (not knowable here: the fields stay whole, the run decides)
        return None


def run_custom_in_process(ctx, name, args, frame):
    """``| <name> <args>`` over ``frame`` in this process; the frame the protocol path gives.

    Raises SplError with the protocol path's text for what it rejects (an undeclared command,
    bad arguments, a command's deliberate stop) and NotColumnar, before touching ``ctx``,
    for what it cannot reproduce exactly."""
    if not in_process_enabled():
        raise NotColumnar("C2HUNT_COMMANDS=protocol")
    runner = ctx.runner
    script = _script(runner, name)
    if runner.python and os.path.realpath(runner.python) != os.path.realpath(sys.executable):
        raise NotColumnar("the commands run under another interpreter (%s)" % runner.python)
    try:
        argv = shlex.split(args)
    except ValueError as exc:
        raise SplError("%s: bad arguments: %s" % (name, exc))
    for column in frame.columns:
        if column.startswith("__mv_") or not column or any(c in column for c in '"\r\n\x00'):
            raise NotColumnar("field name %r does not travel as a CSV header" % column)
    cls = _command_class(script)
    kind = getattr(cls, "command_type", None)
    if not (kind == "streaming" and hasattr(cls, "compute")) \
            and not (kind == "reporting" and hasattr(cls, "ingest")):
        raise NotColumnar("%s is neither a streaming nor an ingesting reporting command" % name)
    texts = {column: _as_text(frame.get_column(column)) for column in frame.columns}
    names = list(frame.columns)
    bin_dir = os.path.dirname(script)
    with _app_imports(bin_dir), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        from c2hunt.scp.command import CommandFailure
        from c2hunt.scp.options import OptionError
        command = cls()
        try:
            command.configure([str(arg) for arg in argv])
        except OptionError as error:
            raise _reply_error(name, script, [str(error)])
        except Exception as exc:  # noqa: BLE001  (the protocol path words it with a traceback)
            raise NotColumnar("%s: configure failed (%s)" % (name, exc))
        try:
            if kind == "streaming":
                result = _run_streaming(command, texts, names, frame.height)
            else:
                result = _run_reporting(command, texts, names, frame.height)
            command.messages.finish()
        except CommandFailure as failure:
            errors = [text for level, text in command.messages.take() if level in ("ERROR", "FATAL")]
            raise _reply_error(name, script, errors + [str(failure)])
        except NotColumnar:
            raise
        except Exception as exc:  # noqa: BLE001
            raise NotColumnar("%s failed in process (%s: %s)" % (name, type(exc).__name__, exc))
    messages = command.messages.take()
    errors = [text for level, text in messages if level in ("ERROR", "FATAL")]
    if errors:
        raise _reply_error(name, script, errors)
    ctx.messages.extend("%s: %s %s" % (name, level, text) for level, text in messages)
    return result


def _chunks(texts, names, height):
    """(start, n_rows, chunk texts, header) per protocol chunk; a chunk whose records hold no
    field is sent without a body (0 rows), as ``encode_records`` does."""
    starts = range(0, height, DEFAULT_CHUNK_SIZE) if height else [0]
    for start in starts:
        n_rows = min(DEFAULT_CHUNK_SIZE, height - start)
        chunk = {name: texts[name].slice(start, n_rows) for name in names}
        header = _header(chunk, names)
        if not header:
            chunk, n_rows = {}, 0
        else:
            chunk = {name: chunk[name] for name in header}
        yield start, n_rows, chunk, header


def _run_streaming(command, texts, names, height):
    parts = []
    for start, n_rows, chunk, header in _chunks(texts, names, height):
        if not n_rows:
            continue
        new = command.compute(make_source(chunk, n_rows), n_rows)
        new_names = [new_name for new_name, _ in new]
        if len(set(new_names)) != len(new_names):
            raise NotColumnar("an output field is named twice")
        columns = {column: chunk[column].out for column in header}
        columns.update((new_name, _reply_cells(new_name, values, n_rows)) for new_name, values in new)
        # an output field the records already hold moves to the end (Chunk._reencoded)
        out_header = [column for column in header if column not in new_names] + new_names
        parts.append((start, n_rows, out_header, columns))
    return _assemble(parts, sum(part[1] for part in parts))


def _run_reporting(command, texts, names, height):
    records = []
    chunks = list(_chunks(texts, names, height))
    for index, (start, n_rows, chunk, header) in enumerate(chunks):
        finished = index == len(chunks) - 1
        body = command.execute(make_source(chunk, n_rows), finished)
        if body:
            records.extend(decode_records(bytes(body))[0])
    from .table import frame_from_rows
    return frame_from_rows(records)
