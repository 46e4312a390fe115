"""Search command protocol v2 ("chunked") execute bodies, read as columns and written back.

splunkd sends a ``getinfo`` chunk, then ``execute`` chunks whose bodies are CSV with every
plain column first and one ``__mv_<name>`` column per field (``$a$;$b$`` for a multivalue
value). splunklib turns every record into an ordered dict and back, which costs ~97% of a
pass-through command's time. Here a chunk is parsed once with numpy: one pass finds every
quote, comma and newline, quote parity keeps the separators outside quoted values, and a
check that every quote opens, closes or doubles inside a value makes that parse exactly
the csv module's. Commands then read columns as byte arrays (:meth:`Chunk.numbers`,
:meth:`Chunk.cell_bytes`, :meth:`Chunk.group_keys`), unquoted in numpy, with a str per
value only where they ask for :meth:`Chunk.column`. New cells come back as byte matrices
(:class:`~c2hunt.scp.values.Cells`) and are inserted after each record's untouched bytes with
two masked copies. Where that shortcut is not correct (an output field already present in
the input, a carriage return in the body, a ragged row, a stray quote) the chunk is read
and written with the ``csv`` module; a value the byte path does not handle (an exponent,
text where a number is expected, a value to quote) goes through the per-value functions
the splunklib reference path uses, so both paths give the same records.
"""
import csv
import io
import re

import numpy as np

from c2hunt.byteranges import factorize_ranges, first_ids, gather_ranges as _gather, range_indices
from c2hunt.scp.output import (COMMA, NEWLINE, QUOTE, as_lists, encode_cells, header_cells,
                               insert_pieces, plain_and_mv, quoted, suffix_matrix)
from c2hunt.scp.values import Cells, parse_decimal_ranges, to_float

_MV_ITEM = re.compile(r"\$((?:\$\$|[^$])*)\$(?:;|$)")


# ------------------------------------------------------------------ multivalue helpers


def decode_mv(text):
    """``$a$;$b$`` -> ``["a", "b"]`` (``$$`` is a literal dollar sign)."""
    return [item.replace("$$", "$") for item in _MV_ITEM.findall(text)]


class Column(object):
    """One input field of a chunk.

    Attributes
    ----------
    values : list of str
        The plain cell of every record ("" when empty or absent; a multivalue value's
        items joined by newlines, as splunkd writes it).
    multi : dict
        Row index -> list of str, for the records whose ``__mv_`` cell is not empty.
    """

    __slots__ = ("values", "multi")

    def __init__(self, values, multi=None):
        self.values = values
        self.multi = multi or {}

    def items(self, row):
        """The values of one record as a list (empty for a null field)."""
        items = self.multi.get(row)
        if items is not None:
            return items
        value = self.values[row]
        return [value] if value != "" else []

    @classmethod
    def empty(cls, n_rows):
        return cls([""] * n_rows)

    @classmethod
    def from_records(cls, records, name):
        """Column of ``name`` from splunklib-style records (str, list or absent)."""
        values, multi = [], {}
        for row, record in enumerate(records):
            value = record.get(name)
            if isinstance(value, (list, tuple)):
                items = ["" if item is None else str(item) for item in value]
                values.append("\n".join(items))
                if len(items) > 1:
                    multi[row] = items
            else:
                values.append("" if value is None else str(value))
        return cls(values, multi)


# ------------------------------------------------------------------ reading columns


class ColumnSource(object):
    """What a command reads from a chunk: columns by name, and numbers.

    :class:`Chunk` implements this on the raw chunk bytes (vectorised where it can);
    :class:`RecordSource` on splunklib-style records (the reference path, one Python str
    per value). Both give the same results for the same records.
    """

    n_rows = 0

    def column(self, name):  # pragma: no cover - overridden
        raise NotImplementedError

    def numbers(self, name):
        """Values of ``name`` as float64, and which ones were bad.

        Returns
        -------
        values : ndarray of float64
            NaN for an empty, absent, non-numeric, non-finite or multivalue value.
        bad : ndarray of bool
            True where a value was present but not a finite number, or multivalue.
        """
        column = self.column(name)
        texts = list(column.values)
        for row in column.multi:  # a multivalue number is ambiguous: invalid
            texts[row] = "multivalue"
        return to_float(texts)

    def cell_bytes(self, name):
        """``(flat, offsets)``: the UTF-8 bytes of every value of ``name``, or None.

        Only given when no value is multivalue; the caller uses :meth:`column` otherwise.
        """
        return None

    def ascii_cells(self, name):
        """As :meth:`cell_bytes`, when every byte is ASCII (bytes are then symbols)."""
        cells = self.cell_bytes(name)
        if cells is None or (len(cells[0]) and cells[0].max() >= 128):
            return None
        return cells

    def group_keys(self, names):
        """Group the rows that have a value for every field of ``names``.

        Returns
        -------
        rows : ndarray of int64
            The rows that have every field (a row lacking one is not grouped).
        key_index : ndarray of int64
            For each of ``rows``, its key (numbered in order of first appearance).
        distinct : list of list of str
            Per field, its distinct plain values among ``rows``.
        key_values : ndarray of int64, shape (n_keys, len(names))
            Each key's value of each field, as an index into ``distinct``.
        first_rows : ndarray of int64
            The first row of each key.
        """
        columns = [self.column(name) for name in names]
        index = {}
        rows, key_index, first_rows = [], [], []
        for row, key in enumerate(zip(*[column.values for column in columns])
                                  if columns else [()] * self.n_rows):
            if "" in key:
                continue
            position = index.setdefault(key, len(index))
            if position == len(first_rows):
                first_rows.append(row)
            rows.append(row)
            key_index.append(position)
        distinct, key_values = [], np.zeros((len(index), len(names)), dtype=np.int64)
        for field in range(len(names)):
            values = {}
            key_values[:, field] = [values.setdefault(key[field], len(values)) for key in index]
            distinct.append(list(values))
        return (np.asarray(rows, dtype=np.int64), np.asarray(key_index, dtype=np.int64),
                distinct, key_values, np.asarray(first_rows, dtype=np.int64))

    def display_cells(self, names, rows):
        """The values of ``names`` at ``rows`` (a sequence or array of row indices): per row a
        list of str or list of str (multivalue)."""
        columns = [self.column(name) for name in names]
        return [[_single_or_list(column.items(row)) for column in columns]
                for row in np.asarray(rows, dtype=np.int64).tolist()]


def _single_or_list(items):
    return items[0] if len(items) == 1 else list(items)


class RecordSource(ColumnSource):
    """Columns of splunklib-style records (dicts of str or list of str)."""

    def __init__(self, records):
        self.records = records
        self.n_rows = len(records)

    def column(self, name):
        return Column.from_records(self.records, name)


# ------------------------------------------------------------------ parsing a chunk body


class Chunk(ColumnSource):
    """An execute chunk's CSV body, parsed lazily by column.

    Parameters
    ----------
    body : bytes
        The chunk body (may be empty).
    """

    def __init__(self, body):
        self.body = body
        self.header = []
        self.n_rows = 0
        self._fast = False
        self._rows = None  # list of cell lists, on the csv fallback path
        if not body:
            return
        if not self._parse_fast():
            self._parse_csv()

    def _parse_fast(self):
        body = self.body
        end_of_header = body.find(b"\n")
        if end_of_header < 0 or b"\r" in body[:end_of_header]:
            return False
        header_line = body[:end_of_header].decode("utf-8", "replace")
        if header_line.count('"') % 2:
            return False
        self.header = next(csv.reader([header_line]))
        n_cols = len(self.header)
        data = np.frombuffer(body, dtype=np.uint8)
        # Every quote, comma and newline in one pass; from the header's newline on.
        if '"' in header_line:
            rest = data[end_of_header:]
            special = np.flatnonzero((rest == COMMA) | (rest == NEWLINE) | (rest == QUOTE))
            special += end_of_header
        else:  # the header's n_cols - 1 commas come first: skip them
            special = np.flatnonzero((data == COMMA) | (data == NEWLINE) | (data == QUOTE))
            special = special[n_cols - 1:]
        kind = data[special]
        quote_at = np.flatnonzero(kind == QUOTE)
        quotes = special[quote_at]
        plain_newlines = True
        n_newlines = np.count_nonzero(kind == NEWLINE)
        if len(quotes):
            if not _quotes_well_formed(data, quotes):
                return False  # e.g. a quote inside an unquoted value: the csv module decides
            # Well formed, quotes pair up as (opening, closing): the separators between a
            # pair are text, like the quotes themselves.
            keep = np.ones(len(special), dtype=bool)
            keep[quote_at] = False
            opening, closing = quote_at[0::2], quote_at[1::2]
            inside = range_indices(opening + 1, closing - opening - 1)
            if len(inside):
                keep[inside] = False
                quoted_newlines = np.count_nonzero(kind[inside] == NEWLINE)
                n_newlines -= quoted_newlines
                plain_newlines = quoted_newlines == 0
            special = special[keep]
        if b"\r" in body and not _returns_quoted(data, quotes):
            return False  # a bare CR ends a record for the csv module: it decides
        if data[-1] != NEWLINE:  # the last record ends with the body
            special = np.append(special, len(data))
            n_newlines += 1
        # After the header's newline, each record is n_cols - 1 commas and a newline.
        if (len(special) - 1) % n_cols:
            return False
        separators = special[1:].reshape(-1, n_cols)
        n_rows = len(separators)
        row_ends = separators[:, -1]
        if n_newlines != n_rows + 1 or not np.all(
                data[np.minimum(row_ends, len(data) - 1)[:-1]] == NEWLINE):
            return False  # a record with too few or too many cells
        self.n_rows = n_rows
        row_starts = np.empty(n_rows, dtype=np.int64)
        row_starts[:1] = end_of_header + 1
        row_starts[1:] = row_ends[:-1] + 1
        self._data, self._quotes = data, quotes
        self._row_starts, self._row_ends, self._separators = row_starts, row_ends, separators
        self._header_end = end_of_header
        self._plain_newlines = plain_newlines
        self._fast = True
        return True

    def _parse_csv(self):
        # Undecodable bytes survive as lone surrogates (written back byte for byte); a NUL,
        # which the csv module of Python 3.9 refuses, travels as U+DC00, a code point no
        # decoding produces.
        text = self.body.decode("utf-8", "surrogateescape")
        has_nul = "\x00" in text
        if has_nul:
            text = text.replace("\x00", _NUL_STAND_IN)
        if csv.field_size_limit() < len(text):
            csv.field_size_limit(len(text))  # a cell may be as long as the chunk
        reader = csv.reader(io.StringIO(text, newline=""))
        self.header = [_restored(name, has_nul) for name in next(reader, [])]
        width = len(self.header)
        # splunklib pairs cells with names by zip(): short rows lack fields, long rows lose cells.
        self._rows = [[_restored(cell, has_nul) for cell in (row + [""] * (width - len(row)))[:width]]
                      for row in reader]
        self.n_rows = len(self._rows)

    def _ranges(self, index):
        """Start and end offsets of column ``index``'s raw cells (fast path)."""
        starts = self._row_starts if index == 0 else self._separators[:, index - 1] + 1
        ends = self._row_ends if index == len(self.header) - 1 else self._separators[:, index]
        return starts, ends

    def _content_ranges(self, index):
        """``(starts, ends, quoted)`` of column ``index``'s cells without their enclosing
        quotes (a quoted cell keeps its doubled quotes); ``quoted`` is None when no cell
        of the chunk is quoted. Equal values have equal content bytes: a value holding a
        quote is always quoted, so its quotes are always doubled."""
        starts, ends = self._ranges(index)
        if not len(self._quotes):
            return starts, ends, None
        quoted = (ends > starts) & (self._data[np.minimum(starts, len(self._data) - 1)] == QUOTE)
        return starts + quoted, ends - quoted, quoted

    def _content_texts(self, starts, ends, quoted, rows):
        """The values at ``rows`` as str, from :meth:`_content_ranges`."""
        body = self.body
        texts = [body[start:end].decode("utf-8", "replace")
                 for start, end in zip(starts[rows].tolist(), ends[rows].tolist())]
        if quoted is not None:
            for at in np.flatnonzero(quoted[rows]).tolist():
                texts[at] = texts[at].replace('""', '"')
        return texts

    def _unquoted(self, index):
        """``(flat, offsets)``: column ``index``'s values with CSV quoting undone (fast path)."""
        starts, ends, quoted = self._content_ranges(index)
        flat, offsets = _gather(self._data, starts, ends - starts)
        if quoted is not None and quoted.any():
            # Inside a quoted value quotes come doubled; the second of each pair is the
            # one at an even position in the chunk's sequence of quotes: drop it.
            at = np.flatnonzero(flat == QUOTE)
            if len(at):
                rows = np.searchsorted(offsets, at, side="right") - 1
                position = at - offsets[rows] + starts[rows]
                second = np.searchsorted(self._quotes, position) % 2 == 0
                drop, rows = at[second], rows[second]
                flat = np.delete(flat, drop)
                removed = np.zeros(len(offsets), dtype=np.int64)
                np.cumsum(np.bincount(rows, minlength=len(starts)), out=removed[1:])
                offsets = offsets - removed
        return flat, offsets

    def _texts(self, index, raw=False):
        """Column ``index``'s values as str: undecodable bytes as U+FFFD, or when ``raw`` as
        lone surrogates that encode back to the same bytes (for records written back)."""
        if not self._fast:
            texts = [row[index] for row in self._rows]
            return texts if raw else [_replaced(text) for text in texts]
        flat, offsets = self._unquoted(index)
        return _decode_cells(flat, offsets, "surrogateescape" if raw else "replace")

    def _multi_rows(self, name):
        """Rows whose ``__mv_<name>`` cell is not empty (fast path)."""
        mv_name = "__mv_" + name
        if mv_name not in self.header:
            return np.zeros(self.n_rows, dtype=bool)
        starts, ends = self._ranges(self.header.index(mv_name))
        nonempty = ends > starts
        if len(self._quotes) and nonempty.any():  # a quoted empty cell ("") is empty too
            two = nonempty & (ends - starts == 2)
            nonempty[two] = self._data[starts[two]] != QUOTE
        return nonempty

    def column(self, name):
        """The :class:`Column` named ``name``, or an all-empty one when absent."""
        values = None
        multi = {}
        if name in self.header:
            values = self._texts(self.header.index(name))
        mv_name = "__mv_" + name
        if mv_name in self.header:
            for row, text in enumerate(self._texts(self.header.index(mv_name))):
                if text:
                    multi[row] = decode_mv(text)
        if values is None:
            values = ["\n".join(multi[row]) if row in multi else "" for row in range(self.n_rows)]
        return Column(values, multi)

    def numbers(self, name):
        if not self._fast:
            return ColumnSource.numbers(self, name)
        n_rows = self.n_rows
        multi = self._multi_rows(name)
        if name not in self.header:
            return np.full(n_rows, np.nan), multi
        starts, ends, quoted = self._content_ranges(self.header.index(name))
        values, handled = parse_decimal_ranges(self._data, starts, ends - starts)
        bad = np.zeros(n_rows, dtype=bool)
        rest = np.flatnonzero(~handled & ~multi)
        if len(rest):  # exponents, spaces, text...: the per-value parser decides
            values[rest], bad[rest] = to_float(self._content_texts(starts, ends, quoted, rest))
        values[multi] = np.nan
        bad[multi] = True
        return values, bad

    def cell_bytes(self, name):
        if not self._fast or self._multi_rows(name).any():
            return None
        if name not in self.header:
            return np.empty(0, dtype=np.uint8), np.zeros(self.n_rows + 1, dtype=np.int64)
        return self._unquoted(self.header.index(name))

    def group_keys(self, names):
        if not self._fast or any("__mv_" + name in self.header and name not in self.header
                                 for name in names):
            return ColumnSource.group_keys(self, names)
        n_rows = self.n_rows
        grouped = np.ones(n_rows, dtype=bool)
        codes = np.zeros(n_rows, dtype=np.int64)
        fields = []  # per field: (distinct values as str, each row's value id)
        for name in names:
            if name not in self.header:
                return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                        [[] for _ in names], np.zeros((0, len(names)), dtype=np.int64),
                        np.zeros(0, dtype=np.int64))
            starts, ends, quoted = self._content_ranges(self.header.index(name))
            value_ids, first = factorize_ranges(self._data, starts, ends - starts)
            if value_ids is None:  # very long values: leave it to the per-record path
                return ColumnSource.group_keys(self, names)
            grouped &= ends > starts
            fields.append((self._content_texts(starts, ends, quoted, first), value_ids))
            if int(codes.max()) >= (1 << 62) // max(len(first), 1):  # keep codes in int64
                codes = np.unique(codes, return_inverse=True)[1].ravel()
            codes = codes * len(first) + value_ids
        rows = np.flatnonzero(grouped)
        # Keys numbered in sorted order here (the record path numbers them by appearance:
        # only the numbering differs, and no output depends on it).
        key_index, first_position = first_ids(codes[rows])
        first_rows = rows[first_position]
        key_values = np.zeros((len(first_rows), len(names)), dtype=np.int64)
        for field, (_, value_ids) in enumerate(fields):
            key_values[:, field] = value_ids[first_rows]
        return rows, key_index, [texts for texts, _ in fields], key_values, first_rows

    def display_cells(self, names, rows):
        """The cells' CSV bytes (``<plain>,<__mv_>`` per field, joined by commas) with the
        values' bytes as they came in (requoted on the csv path)."""
        if not self._fast:
            columns = [[self._rows[row][self.header.index(column)] if column in self.header
                        else "" for row in np.asarray(rows, dtype=np.int64).tolist()]
                       for name in names for column in (name, "__mv_" + name)]
            return [",".join(map(quoted, cells)).encode("utf-8", "surrogateescape")
                    for cells in zip(*columns)] if columns else [b""] * len(rows)
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = [], []
        for name in names:
            for column in (name, "__mv_" + name):
                if column in self.header:
                    column_starts, column_ends = self._ranges(self.header.index(column))
                    starts.append(column_starts[rows])
                    ends.append(column_ends[rows])
                else:
                    starts.append(np.zeros(len(rows), dtype=np.int64))
                    ends.append(np.zeros(len(rows), dtype=np.int64))
        if not starts:
            return [b""] * len(rows)
        # Every cell of every row in one gather, then a comma after each cell but the
        # row's last, where a byte that is in none of the cells marks the row's end.
        cell_starts = np.stack(starts, axis=1).ravel()
        cell_ends = np.stack(ends, axis=1).ravel()
        flat, offsets = _gather(self._data, cell_starts, cell_ends - cell_starts)
        marker = next((byte for byte in (0xFF, 0xFE, 0xC0, 0xC1)
                       if not np.any(flat == byte)), None)
        if marker is None:
            body = self.body
            return [b",".join(body[start:end] for start, end in zip(row_starts, row_ends))
                    for row_starts, row_ends in zip(zip(*[s.tolist() for s in starts]),
                                                    zip(*[e.tolist() for e in ends]))]
        width = 2 * len(names)
        after = np.full(len(cell_starts), COMMA, dtype=np.uint8)
        after[width - 1::width] = marker
        joined = insert_pieces(flat, offsets[1:], after,
                               np.ones(len(cell_starts), dtype=np.int64))
        return joined.tobytes().split(bytes((marker,)))[:len(rows)]

    def fields(self):
        """Field names of the chunk (plain columns, then any ``__mv_``-only names)."""
        names = [name for name in self.header if not name.startswith("__mv_")]
        for name in self.header:
            if name.startswith("__mv_") and name[5:] not in names:
                names.append(name[5:])
        return names

    # -------------------------------------------------------------- writing records back

    def with_fields(self, new_columns):
        """CSV body: every input record unchanged plus ``new_columns`` appended.

        Parameters
        ----------
        new_columns : list of (name, values)
            values is a :class:`~c2hunt.scp.values.Cells`, or a list whose item i is a str,
            None (empty) or a list of str (multivalue) for row i.

        Returns
        -------
        bytes or ndarray of uint8
            The body; an array (bytes-like, for ``write``) when every column is encoded.
        """
        if self.n_rows == 0:
            return b""
        for _, values in new_columns:
            if len(values) != self.n_rows:
                raise ValueError("output column has %d values for %d records"
                                 % (len(values), self.n_rows))
        names = [name for name, _ in new_columns]
        present = set(self.header)
        collision = any(name in present or "__mv_" + name in present for name in names)
        if not self._fast or collision:
            return self._reencoded(as_lists(new_columns))
        encoded = [values.encoded() if isinstance(values, Cells) else None
                   for _, values in new_columns]
        if all(item is not None for item in encoded):
            return self._with_encoded(names, encoded)
        return self._with_lists(names, as_lists(new_columns))

    def _with_encoded(self, names, encoded):
        """Append cells given as (chars, present) matrices: no Python object per cell."""
        pieces, sizes = suffix_matrix(encoded, self.n_rows, newline=False)
        header = np.frombuffer(header_cells(names), dtype=np.uint8)
        at = np.concatenate(([self._header_end], self._row_ends))
        out = insert_pieces(self._data, at, np.concatenate((header, pieces)),
                            np.concatenate(([len(header)], sizes)))
        if self._data[-1] != NEWLINE:
            return out.tobytes() + b"\n"
        return out  # bytes-like: written to the pipe as it is, without a 10 MB copy

    def _with_lists(self, names, new_columns):
        suffix = encode_cells(new_columns, self.n_rows)
        header = self.body[:self._header_end] + header_cells(names)
        # Interleave untouched record bytes with their new cells: one copy in the final join.
        n_rows = self.n_rows
        if self._plain_newlines:  # no newline inside quotes: split in C
            pieces = [b"\n"] * (3 * n_rows + 1)
            pieces[0] = header
            pieces[2::3] = self.body[self._header_end + 1:].split(b"\n", n_rows)[:n_rows]
            pieces[3::3] = suffix
        else:
            pieces = [None] * (2 * n_rows + 1)
            pieces[0] = header
            pieces[1::2] = map(self.body.__getitem__, map(slice, (self._row_starts - 1).tolist(),
                                                            self._row_ends.tolist()))
            pieces[2::2] = suffix
        return b"".join(pieces) + b"\n"

    def _reencoded(self, new_columns):
        header = self.header
        if self._fast:
            rows = list(zip(*[self._texts(i, raw=True) for i in range(len(header))]))
        else:
            rows = self._rows
        replaced = {}
        for name, values in new_columns:
            replaced[name] = values
        keep = [i for i, name in enumerate(header)
                if name not in replaced and not (name.startswith("__mv_") and name[5:] in replaced)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # as splunklib: quotes \r too
        writer.writerow([header[i] for i in keep]
                        + [part for name, _ in new_columns for part in (name, "__mv_" + name)])
        for row_index, row in enumerate(rows):
            cells = [row[i] for i in keep]
            for _, values in new_columns:
                cells.extend(plain_and_mv(values[row_index]))
            writer.writerow(cells)
        return out.getvalue().encode("utf-8", "surrogateescape")


_NUL_STAND_IN = "\udc00"


def _restored(text, has_nul):
    return text.replace(_NUL_STAND_IN, "\x00") if has_nul else text


def _replaced(text):
    """``text`` (read with surrogateescape) as a ``replace`` decoding would have given it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _returns_quoted(data, quotes):
    """True when every carriage return of the body is inside a quoted value (an odd number
    of the well-formed ``quotes`` before it): then it is text, as for the csv module."""
    returns = np.flatnonzero(data == 13)
    if not len(returns):
        return True
    return bool(np.all(np.searchsorted(quotes, returns) % 2 == 1))


def _quotes_well_formed(data, quotes):
    """True when every quote opens a value, closes one, or is half of a doubled quote.

    ``quotes`` are the body's quote offsets (the header's count is even). Then parity
    tells a chunk's structure exactly as the csv module reads it.
    """
    if len(quotes) % 2:
        return False
    if not len(quotes):
        return True
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[opening - 1]
    if not np.all((before == COMMA) | (before == NEWLINE) | (before == QUOTE)):
        return False
    at_end = closing + 1 == len(data)
    after = data[np.minimum(closing + 1, len(data) - 1)]
    return bool(np.all(at_end | (after == COMMA) | (after == NEWLINE) | (after == QUOTE)))


def _decode_cells(flat, offsets, errors="replace"):
    """The cells as str (UTF-8, undecodable bytes handled by ``errors``)."""
    n_cells = len(offsets) - 1
    if not len(flat):
        return [""] * n_cells
    raw = flat.tobytes()
    if b"\x00" in raw:
        return [raw[start:end].decode("utf-8", errors)
                for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    # One decode for the column: a NUL after each cell, then split (NUL ends any sequence).
    joined = insert_pieces(flat, offsets[1:], np.zeros(n_cells, dtype=np.uint8),
                           np.ones(n_cells, dtype=np.int64))
    return joined.tobytes().decode("utf-8", errors).split("\x00")[:n_cells]
