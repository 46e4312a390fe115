"""Converting field values between Splunk's strings and numpy arrays, column at a time."""
import math

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

    Examples: 0.5 -> "0.5", 3.0 -> "3", 0.123456 -> "0.1235".
    """
    values = np.asarray(values, dtype=np.float64)
    template = "%%.%df" % decimals
    out = []
    append = out.append
    for value in values.tolist():
        if value != value:
            append(None)
            continue
        text = template % value
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        append(text)
    return out


def format_int(values):
    """Whole numbers as text; NaN -> None."""
    values = np.asarray(values, dtype=np.float64)
    return [None if value != value else "%d" % value for value in values.tolist()]


def is_missing(value):
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))
