"""Byte-transfer asymmetry: who sends, who receives (producer-consumer ratio)."""
import numpy as np


def asymmetry(bytes_out, bytes_in, threshold=0.9, min_bytes=1024.0):
    """Producer-consumer ratio, outbound share and an exfiltration-style flag per record.

    Parameters
    ----------
    bytes_out, bytes_in : array_like of float, shape (n_samples,)
        Bytes sent and received. NaN, negative or infinite values are invalid.
    threshold : float
        Outbound share above which a record is flagged (0.9 = "more than 90% outbound",
        i.e. PCR > 0.8).
    min_bytes : float
        The flag also needs ``bytes_out + bytes_in > min_bytes``: idle check-ins are
        small both ways and their ratio means little.

    Returns
    -------
    result : dict of ndarray, each shape (n_samples,)
        ``pcr`` = (out - in) / (out + in) in [-1, 1]; ``outbound_share`` = out / (out + in)
        in [0, 1]; ``total_bytes`` = out + in; ``flag`` = 1.0 or 0.0.
        Invalid records get NaN everywhere. With no bytes either way, pcr and share are
        NaN (undefined), total is 0 and flag 0.
    invalid : ndarray of bool
        Records whose input was invalid (missing values are invalid too).
    """
    out = np.asarray(bytes_out, dtype=np.float64)
    inb = np.asarray(bytes_in, dtype=np.float64)
    if out.shape != inb.shape:
        raise ValueError("bytes_out and bytes_in differ in shape: %s vs %s" % (out.shape, inb.shape))
    invalid = ~(np.isfinite(out) & np.isfinite(inb) & (out >= 0) & (inb >= 0))
    total = out + inb
    with np.errstate(invalid="ignore", divide="ignore"):
        pcr = (out - inb) / total
        share = out / total
    pcr[total == 0] = np.nan
    share[total == 0] = np.nan
    flag = ((share > threshold) & (total > min_bytes)).astype(np.float64)
    for array in (pcr, share, total, flag):
        array[invalid] = np.nan
    return {"pcr": pcr, "outbound_share": share, "total_bytes": total, "flag": flag}, invalid
