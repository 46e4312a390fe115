"""CSV bytes of a command's output: new cells after each record, or whole records.

New cells come as :class:`~c2hunt.scp.values.Cells` (byte matrices) and are inserted after
each record's untouched bytes with two masked copies (:func:`insert_pieces`); a column of
Python values (str, None, list of str) goes through the per-value quoting splunklib uses,
so both give the same bytes.
"""
import re

import numpy as np

from c2hunt.scp.values import Cells

_NEEDS_QUOTES = re.compile(r'[",\r\n]')
QUOTE, COMMA, NEWLINE = 34, 44, 10  # the CSV bytes a chunk's structure hangs on


def encode_mv(values):
    """``["a", "b"]`` -> ``$a$;$b$``."""
    return "$" + "$;$".join(value.replace("$", "$$") for value in values) + "$"


def suffix_matrix(encoded, n_rows, newline, first_comma=True):
    """``,<v1>,<mv1>,<v2>,<mv2>...`` of every row, concatenated, and each row's size
    (without the first comma when ``first_comma`` is false)."""
    widths = [cell_chars.shape[1] for cell_chars, _ in encoded]
    width = sum(widths) + 2 * len(encoded) + bool(newline)
    # ,<value>,<the empty __mv_ cell> per column: every byte a cell does not fill is a comma.
    chars = np.full((n_rows, width), COMMA, dtype=np.uint8)
    present = np.ones((n_rows, width), dtype=bool)
    at = 0
    for (cell_chars, cell_present), cell_width in zip(encoded, widths):
        chars[:, at + 1:at + cell_width + 1] = cell_chars
        present[:, at + 1:at + cell_width + 1] = cell_present
        at += cell_width + 2
    if newline:
        chars[:, at] = NEWLINE
    if not first_comma and width:
        present[:, 0] = False
    if width < 1 << 16:  # byte-wide flags summed in 16 bits: faster than count_nonzero
        sizes = np.add.reduce(present.view(np.uint8), axis=1, dtype=np.uint16)
    else:
        sizes = np.count_nonzero(present, axis=1)
    return chars[present], sizes.astype(np.int64)


def records_body(fields, leading, cells):
    """CSV body of whole records: each record's ``leading`` cells, then ``cells``.

    Parameters
    ----------
    fields : list of str
        Every field of a record, in order (the header names them and their ``__mv_``).
    leading : list of bytes
        Per record, its first fields' ``<plain>,<__mv_>,...`` bytes (:func:`encode_display`),
        b"" for every record when ``cells`` are all its fields.
    cells : list of :class:`~c2hunt.scp.values.Cells`
        The remaining fields' columns.

    Returns
    -------
    bytes
    """
    n_rows = len(leading)
    if n_rows == 0:
        return b""
    header = header_bytes(fields) + b"\n"
    encoded = [column.encoded() for column in cells]
    if any(item is None for item in encoded):
        texts = [(None, column.texts()) for column in cells]
        suffixes = encode_cells(texts, n_rows)
        if not any(leading):  # the new cells are the whole record: no leading comma
            suffixes = [suffix[1:] for suffix in suffixes]
        pieces = [b"\n"] * (3 * n_rows)
        pieces[0::3], pieces[1::3] = leading, suffixes
        return header + b"".join(pieces)
    pieces, sizes = suffix_matrix(encoded, n_rows, newline=True, first_comma=any(leading))
    # The cells go after each record's leading bytes: one insert, no Python object per row.
    ends = np.cumsum(np.fromiter(map(len, leading), dtype=np.int64, count=n_rows))
    data = np.frombuffer(header + b"".join(leading), dtype=np.uint8)
    return insert_pieces(data, ends + len(header), pieces, sizes).tobytes()


def encode_display(values):
    """``<plain>,<__mv_>,...`` of one record's values (bytes: cells as they came in)."""
    if isinstance(values, bytes):
        return values
    return ",".join(_quoted(part) for value in values
                    for part in plain_and_mv(value)).encode("utf-8")


def header_bytes(fields):
    """Header line (without its newline) for ``fields`` and their ``__mv_`` columns."""
    return header_cells(fields)[1:]


def as_lists(new_columns):
    return [(name, values.texts() if isinstance(values, Cells) else values)
            for name, values in new_columns]


def insert_pieces(data, at, pieces, sizes):
    """``data`` with piece i (``sizes[i]`` bytes of ``pieces``) inserted before ``at[i]``.

    ``at`` is non-decreasing. The output alternates runs of ``data`` and of ``pieces``: one
    mask of which is which, then two masked copies (no Python object per row).
    """
    n_pieces = len(at)
    runs = np.empty(2 * n_pieces + 1, dtype=np.int64)
    runs[0::2] = np.diff(np.concatenate(([0], at, [len(data)])))
    runs[1::2] = sizes
    from_data = np.zeros(2 * n_pieces + 1, dtype=bool)
    from_data[0::2] = True
    mask = np.repeat(from_data, runs)
    out = np.empty(len(mask), dtype=np.uint8)
    out[mask] = data
    np.logical_not(mask, out=mask)
    out[mask] = pieces
    return out


def plain_and_mv(value):
    if value is None:
        return "", ""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return "", ""
        if len(value) == 1:
            return value[0], ""
        return "\n".join(value), encode_mv(value)
    return value, ""


def quoted(text):
    """One CSV cell as splunklib's writer writes it (quoted only when it must be)."""
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


_quoted = quoted


def header_cells(names):
    return ("," + ",".join(_quoted(name) + "," + _quoted("__mv_" + name)
                           for name in names)).encode("utf-8")


def encode_cells(new_columns, n_rows):
    """Per row, the bytes ``,<v1>,<mv1>,<v2>,<mv2>...`` for the new columns."""
    columns = []
    for _, values in new_columns:
        plain, mv = values, None
        if set(map(type, values)) != {str}:  # None or multivalue cells present
            pairs = [plain_and_mv(value) for value in values]
            plain = [pair[0] for pair in pairs]
            mv = [pair[1] for pair in pairs]
            if not any(mv):
                mv = None
        columns.append(_quoted_all(plain))
        columns.append(_quoted_all(mv) if mv is not None else None)
    # Build every row's cells with C-level joins: an extra "\x1f" cell ends each row.
    width = len(columns) + 1
    flat = [""] * (n_rows * width)
    for index, cells in enumerate(columns):
        if cells is not None:
            flat[index::width] = cells
    if "\x1f" in "".join(flat):
        return _encode_cells_slow(columns, n_rows)
    flat[width - 1::width] = ["\x1f"] * n_rows
    text = "," + ",".join(flat)
    return text.encode("utf-8").split(b",\x1f")[:n_rows]


def _quoted_all(texts):
    if _NEEDS_QUOTES.search("\x00".join(texts)):
        return [_quoted(text) for text in texts]
    return texts


def _encode_cells_slow(columns, n_rows):
    blank = [""] * n_rows
    columns = [cells if cells is not None else blank for cells in columns]
    return [("," + ",".join(row)).encode("utf-8") for row in zip(*columns)]
