"""Converting field values between Splunk's strings and numpy arrays, column at a time."""
import functools
import operator

import numpy as np

from c2hunt.byteranges import LOW_BYTES, words_at


def to_float(texts):
    """Parse numbers; anything that is not a finite number becomes NaN.

    Parameters
    ----------
    texts : list of str

    Returns
    -------
    values : ndarray of float64, shape (n,)
    bad : ndarray of bool
        True where a non-empty text was not a finite number.
    """
    n = len(texts)
    try:
        values = np.array(texts, dtype=np.float64) if n else np.empty(0)
    except (ValueError, TypeError):
        values = np.empty(n)
        for i, text in enumerate(texts):
            try:
                values[i] = float(text)
            except ValueError:
                values[i] = np.nan
    finite = np.isfinite(values)
    values[~finite] = np.nan
    empty = np.fromiter((text == "" for text in texts), dtype=bool, count=n) if not finite.all() \
        else np.zeros(n, dtype=bool)
    return values, ~finite & ~empty


# An event time is an epoch in seconds from 1970 up to the year 2286: a value outside is
# not a clock reading (1e300 would silently stretch a group's span and change its score).
EPOCH_MIN, EPOCH_MAX = 0.0, 1e10
# A series token stands for at most this many connections at one time: larger is a bad
# token (a 301-digit count, or 1e308 that overflows when counts are summed).
SERIES_MAX_COUNT = 1e9
SERIES_MAX_BYTES = 1e18
SERIES_MAX_SECONDS = 1e15  # total seconds of the connections of one token


def epoch_times(texts_or_values):
    """Values outside [EPOCH_MIN, EPOCH_MAX] as NaN, and which ones were out of range.

    Parameters
    ----------
    texts_or_values : ndarray of float64 (NaN = missing)

    Returns
    -------
    times : ndarray of float64
    out_of_range : ndarray of bool
    """
    values = np.asarray(texts_or_values, dtype=np.float64).copy()
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(values) & ((values < EPOCH_MIN) | (values > EPOCH_MAX))
    values[out_of_range] = np.nan
    return values, out_of_range


def parse_series_tokens(tokens):
    """c2beacon ``series`` tokens ``epoch``, ``epoch:count``, ``epoch:count:bytes`` or
    ``epoch:count:bytes:duration`` (bytes and duration: totals over those connections).

    Parameters
    ----------
    tokens : list of str

    Returns
    -------
    times : ndarray of float64
        NaN for a bad token.
    counts : ndarray of float64
        Whole numbers from 1 to SERIES_MAX_COUNT (1 when absent); NaN for a bad token.
    total_bytes, total_seconds : ndarray of float64
        NaN when absent or bad.
    bad : ndarray of bool
        A token that is not four numbers at most, a time outside the epoch range, a count
        that is not a whole number in range, or bytes or seconds negative or out of range.
    """
    parts = [token.split(":") for token in tokens]
    padded = [(part + ["", "", ""])[:4] if len(part) <= 4 else ["x", "", "", ""]
              for part in parts]
    times, bad_time = to_float([part[0] for part in padded])
    counts, bad_count = to_float([part[1] or "1" for part in padded])
    total_bytes, bad_bytes = to_float([part[2] for part in padded])
    total_seconds, bad_seconds = to_float([part[3] for part in padded])
    times, out_of_range = epoch_times(times)
    with np.errstate(invalid="ignore"):
        bad_count |= ~((counts >= 1) & (counts <= SERIES_MAX_COUNT) & (counts == np.floor(counts)))
        bad_bytes |= (total_bytes < 0) | (total_bytes > SERIES_MAX_BYTES)
        bad_seconds |= (total_seconds < 0) | (total_seconds > SERIES_MAX_SECONDS)
    bad = bad_time | out_of_range | np.isnan(times) | bad_count | bad_bytes | bad_seconds
    for values in (times, counts, total_bytes, total_seconds):
        values[bad] = np.nan
    return times, counts, total_bytes, total_seconds, bad


def format_fixed(values, decimals=4):
    """Numbers as text with at most ``decimals`` decimals, trailing zeros dropped; NaN -> None.

    Examples: 0.5 -> "0.5", 3.0 -> "3", 0.123456 -> "0.1235", -0.00001 -> "0".
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    scale = 10 ** decimals
    finite = np.where(missing, 0.0, values)
    if len(values) == 0 or np.abs(finite).max() >= 2.0 ** 52 / scale:
        return _format_each(values, decimals)
    # Fixed point: integer part with str(), fraction from a table of the 10**decimals endings.
    scaled = np.rint(finite * scale).astype(np.int64)
    magnitude = np.abs(scaled)
    whole = list(map(str, (magnitude // scale).tolist()))
    texts = list(map(operator.add, whole, _fractions(decimals)[magnitude % scale].tolist()))
    for index in np.flatnonzero(scaled < 0).tolist():
        texts[index] = "-" + texts[index]
    for index in np.flatnonzero(missing).tolist():
        texts[index] = None
    return texts


@functools.lru_cache(maxsize=None)  # one table per decimals: a handful
def _fractions(decimals):
    """Object array: k -> ".xyz" ending of k / 10**decimals, trailing zeros dropped."""
    template = ".%%0%dd" % decimals
    table = np.empty(10 ** decimals, dtype=object)
    table[:] = [(template % k).rstrip("0").rstrip(".") for k in range(10 ** decimals)]
    return table


def _format_each(values, decimals):
    template = "%%.%df" % decimals
    out = []
    for value in values.tolist():
        if value != value:
            out.append(None)
            continue
        text = template % value
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        out.append("0" if text == "-0" else text)
    return out


def format_int(values):
    """Whole numbers as text; NaN -> None."""
    values = np.asarray(values, dtype=np.float64)
    distinct, inverse = np.unique(values, return_inverse=True)
    return _take([None if value != value else "%d" % value for value in distinct.tolist()],
                 inverse)


def _take(texts, inverse):
    table = np.empty(len(texts), dtype=object)
    table[:] = texts
    return table[inverse.ravel()].tolist()


# ------------------------------------------------------------------ bytes <-> numbers, vectorised
#
# The fast chunk path reads and writes numbers as byte arrays without a Python object per
# cell. Each function below handles the common shapes with numpy and leaves the rest to the
# per-value functions above, so results are identical to them value for value.

_MAX_DIGITS = 15  # a mantissa of <= 15 digits and 10**k (k <= 15) are exact doubles


def parse_decimal_bytes(flat, offsets):
    """:func:`parse_decimal_ranges` of cells given as ``flat[offsets[i]:offsets[i + 1]]``."""
    return parse_decimal_ranges(flat, offsets[:-1], np.diff(offsets))


def parse_decimal_ranges(data, starts, lengths):
    """Parse ``-?digits(.digits)?`` cells exactly as ``float()`` does.

    Parameters
    ----------
    data : ndarray of uint8
        A buffer holding the cells (e.g. a whole chunk: no copy of the column is made).
    starts, lengths : ndarray of int64, shape (n_cells,)
        Cell i is ``data[starts[i]:starts[i] + lengths[i]]``.

    Returns
    -------
    values : ndarray of float64, shape (n_cells,)
        NaN for empty cells and for cells not handled here.
    handled : ndarray of bool
        True for empty cells and for the cells parsed here. The others (exponents, '+',
        spaces, more than 15 digits, "nan", text...) are for :func:`to_float`.

    Notes
    -----
    With at most 15 significant digits the mantissa and the power of ten are exact
    doubles, so one IEEE division is correctly rounded: the same double ``float()`` gives.
    """
    n = len(lengths)
    values = np.full(n, np.nan)
    handled = lengths == 0
    candidates = np.flatnonzero((lengths > 0) & (lengths <= _MAX_DIGITS + 2))  # sign, dot
    if len(candidates) == 0 or len(data) == 0:
        return values, handled
    candidates = _parse_whole_words(data, starts, lengths, candidates, values, handled)
    if len(candidates) == 0:
        return values, handled
    cand_lengths = lengths[candidates]
    width = int(cand_lengths.max())
    at = starts[candidates].copy()  # byte ``position`` of every cell, one step at a time
    clip = int(at.max()) + width - 1 > len(data) - 1
    # Character position by position across all cells, on uint8 and bool where possible.
    mantissa = np.zeros(len(candidates), dtype=np.int64)
    n_digits = np.zeros(len(candidates), dtype=np.int64)
    n_dots = np.zeros(len(candidates), dtype=np.int64)
    dot_at = cand_lengths.copy()  # with more than one dot the cell is refused anyway
    bad = np.zeros(len(candidates), dtype=bool)
    negative = None
    for position in range(width):
        inside = position < cand_lengths
        chars = data.take(np.minimum(at, len(data) - 1) if clip else at)
        digits = chars - np.uint8(48)
        is_digit = (digits < 10) & inside
        is_dot = (chars == 46) & inside
        plain = is_digit | is_dot
        if negative is None:
            negative = chars == 45
            plain |= negative
        bad |= inside & ~plain
        mantissa *= np.where(is_digit, 10, 1)
        mantissa += digits * is_digit
        n_digits += is_digit
        np.copyto(dot_at, position, where=is_dot)
        n_dots += is_dot
        at += 1
    ok = (~bad & (n_dots <= 1) & (n_digits <= _MAX_DIGITS) & (dot_at > negative)
          & ((n_dots == 0) | (dot_at < cand_lengths - 1)))
    decimals = np.where(n_dots > 0, cand_lengths - 1 - dot_at, 0)
    parsed = mantissa.astype(np.float64) / (10.0 ** decimals)
    parsed = np.where(negative, -parsed, parsed)
    chosen = candidates[ok]
    values[chosen] = parsed[ok]
    handled[chosen] = True
    return values, handled


_ZERO_DIGITS = np.uint64(0x3030303030303030)  # "00000000"
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)


def _parse_whole_words(data, starts, lengths, candidates, values, handled):
    """Parse the candidates that are 1 to 8 digits (counts, bytes, ports) a word at a time,
    into ``values`` and ``handled``; returns the other candidates.

    Each cell is one 8-byte word, moved to the word's end behind ASCII zeros ("42" ->
    "00000042"); a word of 8 digits is checked and converted with a few integer operations
    per word rather than per character (the SWAR method of simdjson's number parser).
    """
    short = candidates[lengths[candidates] <= 8]
    if len(short) == 0:
        return candidates
    short_lengths = lengths[short]
    pad = (8 - short_lengths).astype(np.uint64)
    word = words_at(data, starts[short], short_lengths) << (pad * np.uint64(8))
    word |= _ZERO_DIGITS & LOW_BYTES[pad]
    # All 8 bytes are digits when each byte's high nibble is 3, before and after adding 6.
    digits = ((word & _HIGH_NIBBLES) | (((word + np.uint64(0x0606060606060606))
                                         & _HIGH_NIBBLES) >> np.uint64(4))) \
        == np.uint64(0x3333333333333333)
    word = word[digits] - _ZERO_DIGITS  # one digit value per byte, the first lowest
    word = word * np.uint64(10) + (word >> np.uint64(8))  # pairs of digits
    word = ((word & np.uint64(0x000000FF000000FF)) * np.uint64(100 + (1000000 << 32))
            + ((word >> np.uint64(16)) & np.uint64(0x000000FF000000FF))
            * np.uint64(1 + (10000 << 32))) >> np.uint64(32)
    parsed = short[digits]
    values[parsed] = word
    handled[parsed] = True
    if len(parsed) == len(candidates):
        return candidates[:0]
    done = np.zeros(len(values), dtype=bool)
    done[parsed] = True
    return candidates[~done[candidates]]


class Cells(object):
    """An output column the chunk writer can encode without a Python str per cell.

    ``texts()`` gives the cells as str/None (the reference formatting, what the SDK path
    writes); ``encoded()`` gives ``(chars, present)``: an (n, width) uint8 matrix of CSV-ready
    cell bytes and a mask of the bytes that belong to each cell, or None when this column
    must be written from ``texts()``.
    """

    def __len__(self):
        raise NotImplementedError

    def texts(self):
        raise NotImplementedError

    def encoded(self):
        return None


class FixedCells(Cells):
    """Numbers written as :func:`format_fixed` writes them (NaN -> empty)."""

    def __init__(self, values, decimals=4):
        self.values = np.asarray(values, dtype=np.float64)
        self.decimals = decimals

    def __len__(self):
        return len(self.values)

    def texts(self):
        return format_fixed(self.values, self.decimals)

    def encoded(self):
        return _fixed_chars(self.values, self.decimals)


class IntCells(Cells):
    """Whole numbers written as :func:`format_int` writes them (NaN -> empty)."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float64)

    def __len__(self):
        return len(self.values)

    def texts(self):
        return format_int(self.values)

    def encoded(self):
        finite = self.values[~np.isnan(self.values)]
        if len(finite) and not (np.all(finite == np.floor(finite))
                                and np.abs(finite).max() < 2.0 ** 52):
            return None  # "%d" truncates where rounding would not: leave it to format_int
        return _fixed_chars(self.values, 0)


class BytesCells(Cells):
    """Text cells given as byte ranges of one buffer (UTF-8); absent cells are empty."""

    def __init__(self, buffer, starts, ends, present):
        self.buffer, self.starts, self.ends, self.present = buffer, starts, ends, present

    def __len__(self):
        return len(self.starts)

    def texts(self):
        raw = self.buffer.tobytes()
        return [raw[start:end].decode("utf-8", "replace") if present else None
                for start, end, present in zip(self.starts.tolist(), self.ends.tolist(),
                                               self.present.tolist())]

    def encoded(self):
        lengths = np.where(self.present, self.ends - self.starts, 0)
        width = int(lengths.max()) if len(lengths) else 0
        if len(lengths) * width > (1 << 26):
            return None
        columns = np.arange(width)
        present = columns < lengths[:, None]
        index = np.minimum(self.starts[:, None] + columns, max(len(self.buffer) - 1, 0))
        chars = self.buffer[index] if len(self.buffer) else np.zeros(index.shape, np.uint8)
        special = present & ((chars == 44) | (chars == 34) | (chars == 10) | (chars == 13))
        if special.any():
            return None  # a value to quote: the per-value writer does it
        return chars, present


_TABLE_SLOTS = 4


@functools.lru_cache(maxsize=None)  # built once
def _whole_table():
    """For k < 10**4: its digits right-aligned in 4 slots, and how many digits it has."""
    k = np.arange(10 ** _TABLE_SLOTS, dtype=np.int64)
    digits = np.empty((len(k), _TABLE_SLOTS), dtype=np.uint8)
    rest = k.copy()
    for slot in range(_TABLE_SLOTS - 1, -1, -1):
        digits[:, slot] = rest % 10 + 48
        rest //= 10
    lengths = np.array([len(str(value)) for value in k.tolist()], dtype=np.int64)
    return digits, lengths


@functools.lru_cache(maxsize=None)  # one table per decimals: a handful
def _fraction_table(decimals):
    """For k < 10**decimals: the digits of k / 10**decimals after the dot (rows padded to
    4 bytes for :func:`_table_rows`), and how many remain once trailing zeros are dropped."""
    k = np.arange(10 ** decimals, dtype=np.int64)
    digits = np.full((len(k), max(decimals, _TABLE_SLOTS)), 48, dtype=np.uint8)
    kept = np.full(len(k), decimals, dtype=np.int64)
    still_zero = np.ones(len(k), dtype=bool)
    rest = k.copy()
    for position in range(decimals - 1, -1, -1):
        digit = rest % 10
        digits[:, position] = digit + 48
        still_zero &= digit == 0
        kept -= still_zero
        rest //= 10
    return digits, kept


def _fixed_chars(values, decimals):
    """(chars, present) for :func:`format_fixed`'s text of each value, or None."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if missing.all():  # e.g. a score no group had enough events for: no bytes at all
        return np.zeros((len(values), 0), dtype=np.uint8), np.zeros((len(values), 0), bool)
    scale = 10 ** decimals
    finite = np.where(missing, 0.0, values)
    if len(values) and np.abs(finite).max() >= 2.0 ** 52 / scale:
        return None
    scaled = np.rint(finite * scale).astype(np.int64)
    largest = int(np.abs(scaled).max()) if len(scaled) else 0
    if largest <= min(_TABLE_LIMIT, 2 * len(values)):
        # Many cells for the range of their numbers: each cell's text is a table row.
        # (A table of 2 * size + 1 rows costs about what formatting that many cells does.)
        limit, table_chars, table_present = _text_table(decimals, largest)
        index = scaled + limit
        present = _table_rows(table_present.view(np.uint8), index).view(bool)
        present[missing] = False
        return _table_rows(table_chars, index), present
    return _scaled_chars(scaled, missing, decimals)


_TABLE_LIMIT = 10 ** 5      # the largest table: scaled values -10**5..10**5
_TEXT_TABLES = {}


def _text_table(decimals, largest):
    """(limit, chars, present) for every scaled value from -limit to limit >= largest."""
    table = _TEXT_TABLES.get(decimals)
    if table is None or table[0] < largest:
        limit = min(10 ** len(str(max(largest, 99))), _TABLE_LIMIT)  # a power of ten
        scaled = np.arange(-limit, limit + 1, dtype=np.int64)
        chars, present = _scaled_chars(scaled, np.zeros(len(scaled), dtype=bool), decimals)
        width = next((size for size in (2, 4, 8) if size >= chars.shape[1]), chars.shape[1])
        if width > chars.shape[1]:  # rows of a word's width: gathered as words
            pad = ((0, 0), (0, width - chars.shape[1]))
            chars, present = np.pad(chars, pad), np.pad(present, pad)
        table = _TEXT_TABLES[decimals] = (limit, chars, present)
    return table


def _scaled_chars(scaled, missing, decimals):
    """(chars, present) of ``scaled / 10**decimals`` written as :func:`format_fixed` does."""
    n_rows = len(scaled)
    negative = (scaled < 0) & ~missing
    whole, fraction = np.divmod(np.abs(scaled), 10 ** decimals)
    n_slots = len(str(int(whole.max()))) if n_rows else 1
    sign = int(bool(negative.any()))
    has_fraction = bool(decimals and fraction.any())
    width = sign + n_slots + (decimals + 1 if has_fraction else 0)
    chars = np.empty((n_rows, width), dtype=np.uint8)
    present = np.empty((n_rows, width), dtype=bool)
    if sign:
        chars[:, 0] = 45  # '-'
        present[:, 0] = negative
    # Whole part: 4 digits a table lookup, right to left (one lookup below 10**4).
    table_digits, table_lengths = _whole_table()
    n_limbs = -(-n_slots // _TABLE_SLOTS)
    limbs = np.empty((n_rows, n_limbs), dtype=np.uint32)
    rest = whole
    for limb in range(n_limbs - 1, 0, -1):
        rest, limbs[:, limb] = np.divmod(rest, 10 ** _TABLE_SLOTS)
    limbs[:, 0] = rest
    limb_chars = _table_rows(table_digits, limbs.ravel()).reshape(n_rows, -1)
    chars[:, sign:sign + n_slots] = limb_chars[:, limb_chars.shape[1] - n_slots:]
    if n_limbs == 1:
        n_whole = table_lengths[whole]
    else:
        n_whole = np.ones(n_rows, dtype=np.int64)
        for k in range(1, n_slots):
            n_whole += whole >= 10 ** k
    np.less(np.arange(n_slots - 1, -1, -1)[None, :], n_whole[:, None],
            out=present[:, sign:sign + n_slots])
    if has_fraction:
        frac_digits, frac_lengths = _fraction_table(decimals)
        n_frac = frac_lengths[fraction]
        dot = sign + n_slots
        chars[:, dot] = 46  # '.'
        present[:, dot] = n_frac > 0
        chars[:, dot + 1:] = _table_rows(frac_digits, fraction)[:, :decimals]
        np.less(np.arange(decimals)[None, :], n_frac[:, None], out=present[:, dot + 1:])
    present[missing] = False
    return chars, present


def _table_rows(table, index):
    """``table[index]`` for a uint8 table of digit rows, read as whole words (a row of 4
    bytes is one uint32: numpy gathers those several times faster than 4-byte rows)."""
    if table.shape[1] in (2, 4, 8) and table.flags.c_contiguous:
        words = table.view("u%d" % table.shape[1]).ravel()
        return words[index].view(np.uint8).reshape(len(index), table.shape[1])
    return table[index]
