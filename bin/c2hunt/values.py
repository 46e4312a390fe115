"""Converting field values between Splunk's strings and numpy arrays, column at a time."""
import math
import operator

import numpy as np


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


def format_fixed(values, decimals=4):
    """Numbers as text with at most ``decimals`` decimals, trailing zeros dropped; NaN -> None.

    Examples: 0.5 -> "0.5", 3.0 -> "3", 0.123456 -> "0.1235", -0.00001 -> "0".
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    scale = 10 ** decimals
    finite = np.where(missing, 0.0, values)
    if len(values) == 0 or np.abs(finite).max() * scale >= 2.0 ** 52:
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


_FRACTIONS = {}


def _fractions(decimals):
    """Object array: k -> ".xyz" ending of k / 10**decimals, trailing zeros dropped."""
    table = _FRACTIONS.get(decimals)
    if table is None:
        template = ".%%0%dd" % decimals
        table = np.empty(10 ** decimals, dtype=object)
        table[:] = [(template % k).rstrip("0").rstrip(".") for k in range(10 ** decimals)]
        _FRACTIONS[decimals] = table
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


def is_missing(value):
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))
