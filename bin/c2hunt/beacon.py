"""Beacon scoring: how periodic is each group's connection time series.

The kernel behind ``c2beacon``. Pure numpy, vectorized across groups: events are sorted by
(group, time) once and every per-group statistic is a segment reduction, so millions of
events in ~1e5 groups cost a few sorts.

Model
-----
A beacon checks in every ``P`` seconds with jitter (Cobalt Strike sleeps ``S * (1 - j*U)``,
other implants ``S * (1 +- j*U)``), and some check-ins are missed (host asleep, proxy
failure), so a gap between consecutive check-ins is close to ``k * P`` for a small whole
number ``k``. What a beacon never does is check in *early*: a gap well below ``P``. Random
(Poisson) and bursty traffic produce many such gaps. The score therefore rests on the
*lattice fit*: after estimating ``P`` robustly (median gap, refined by dividing every gap by
its multiple ``k`` and taking the median again), each gap is assigned ``k = rint(gap / P)``;
a gap *fits* when ``1 <= k <= MAX_MULTIPLE``. Statistics on gaps, not spectra of absolute
times, because renewal jitter makes the phase drift and defeats periodograms.

Implants often open 2-3 connections per check-in (staged requests, retries). Before the
lattice fit, check-ins closer than ``BURST_FRACTION`` (5%) of the group's upper-quartile gap
are folded into the check-in before them and gaps are measured between burst starts.

Scores (each in 0..1, NaN when not computable)
----------------------------------------------
beacon_fit_share
    Share of gaps that fit the lattice (no early check-in, at most ``MAX_MULTIPLE`` periods).
    About 0.73 for Poisson arrivals, 1.0 for a beacon with up to 50% jitter and missed beats.
beacon_jitter
    Mean relative deviation of fitting gaps from their multiple, ``|gap/P - k| / sqrt(k)``
    (a sum of ``k`` jittered sleeps spreads as ``sqrt(k)``); 0 for a perfect clock, 0.17 for
    Cobalt Strike 50% jitter, 0.25 for symmetric 50% jitter, at most 0.5.
beacon_missed_share
    Share of expected check-ins that are missing: ``1 - fitting gaps / sum of their k``.
    Informational: it does not lower the score (missed beats are not evidence against a beacon).
beacon_interval_score
    ``clip((fit_share - 0.65) / 0.35) * (1 - 0.5 * jitter)``: a third of the gaps off the
    lattice (as random arrivals give) means no interval evidence; jitter costs at most a
    quarter, so a beacon with 50% jitter still scores high (the fit share, not the jitter,
    separates beacons from random traffic).
beacon_size_score
    Share of connections (weighted by ``counts``) whose size is within 10% (or 16 bytes) of the
    group's median size: check-ins are the same request every time. NaN when the group has no
    valid size.
beacon_count_score
    Confidence from the number of fitting gaps ``n``: ``n / (n + 1)`` (5 gaps -> 0.83,
    11 -> 0.92, 300 -> 0.997). Few check-ins fit a lattice by chance more easily.
beacon_duration_score
    Share of connections whose duration is within 25% (or 0.5 s) of the group's median
    duration (``beacon_duration``): the same exchange every time. NaN without durations.
beacon_coverage
    Share of the observation window (at most FULL_COVERAGE_SPAN, 12 h, RITA's ideal hours)
    that the group's check-ins span: sustained check-ins, not a tool run.
beacon_score
    ``(0.75 * interval + 0.25 * consistency) * (0.85 + 0.15 * coverage) * count_score``,
    consistency being the mean of the size and duration scores that are not NaN (without
    either: ``interval`` alone in place of the bracket).
beacon_checkins, beacon_required_count
    Check-ins (distinct times, bursts folded) and the check-ins the group needs to be
    judged: ``ceil(E / period) + 1`` with ``E`` the evidence span (two minutes, or half of a
    shorter window), at least ``min_count``. A fixed minimum means seconds of a fast beacon
    and days of a slow one; runs shorter than ``E`` are page loads, retries and scanner
    bursts.
beacon_period
    The estimated base period ``P`` in the unit of ``times`` (seconds).

Input handling
--------------
* Events with a NaN or infinite time, or a count that is NaN, infinite or <= 0, are ignored.
* Negative times are valid (the score is invariant to a time shift).
* Connections with the same group and timestamp are one check-in (zero gaps are dropped, as in
  RITA), and so are bursts (see above); ``beacon_count`` still counts every connection.
* Sizes that are NaN, infinite or negative are treated as missing (timing still counts).
* Groups with fewer than ``min_count`` distinct timestamps get NaN scores and period, but
  their count, first, last and span are filled (count 0 and NaN times for a group with no
  valid event).
"""
import numpy as np

BEACON_FIELDS = (
    "beacon_score",
    "beacon_period",
    "beacon_interval_score",
    "beacon_size_score",
    "beacon_count_score",
    "beacon_fit_share",
    "beacon_jitter",
    "beacon_missed_share",
    "beacon_size",
    "beacon_duration_score",
    "beacon_duration",
    "beacon_coverage",
    "beacon_checkins",
    "beacon_required_count",
    "beacon_count",
    "beacon_first",
    "beacon_last",
    "beacon_span",
)

# Minimum number of distinct check-in times for a group to be scored: 6 check-ins give
# 5 gaps, the fewest on which a median period and a fit share mean anything (an hourly
# beacon over a 6-hour window). The count score still discounts short series.
DEFAULT_MIN_COUNT = 6
# Largest multiple of the period a gap may span and still fit (k-1 consecutive missed beats).
MAX_MULTIPLE = 4
# Fit share at or below which the interval score is 0 (Poisson arrivals give about 0.73
# once bursts are folded, so their interval score stays near 0.1-0.2).
FIT_SHARE_FLOOR = 0.65
# Check-ins closer than this fraction of the group's upper-quartile gap are one burst.
BURST_FRACTION = 0.05
BURST_REFERENCE_QUANTILE = 0.75
# Rounds of period refinement (median of gap / k); the estimate settles after two.
PERIOD_REFINEMENTS = 2
# A size matches the group's median when within this relative or absolute (bytes) tolerance.
SIZE_REL_TOLERANCE = 0.10
SIZE_ABS_TOLERANCE = 16.0
# Share of the jitter (0..0.5) taken off the interval score. Jitter is what implants are
# configured with (RITA's missing_host beacon sleeps 200-350 s, +-27%), while the fit share
# is what separates them from random traffic: 0.25 costs a 50%-jitter beacon at most 12%
# (0.5 cost a quarter and ranked that beacon below a scanner's exact hourly probes; 0 let
# Poisson rise).
JITTER_WEIGHT = 0.25
# A duration matches the group's median within this relative or absolute (seconds)
# tolerance: check-ins are the same exchange, but round trips vary by tens of percent and
# sub-second connections (refused, one request) differ by milliseconds.
DURATION_REL_TOLERANCE = 0.25
DURATION_ABS_TOLERANCE = 0.5
# Weights of the interval and consistency (size, duration) evidence.
INTERVAL_WEIGHT = 0.75
CONSISTENCY_WEIGHT = 0.25
# Count score ``n / (n + COUNT_PSEUDO_GAPS)`` of ``n`` fitting gaps: one pseudo-gap of
# counter-evidence (5 gaps 0.83, 11 gaps 0.92, 300 gaps 0.997). It keeps rising with the
# evidence, so of two equally regular channels the one with more check-ins ranks first
# (a day of a C2 beacon above a scanner's 23 hourly probes); 2 pseudo-gaps held beacons
# with 6-11 check-ins at 0.7-0.85 of their evidence, below the threshold when jittered.
COUNT_PSEUDO_GAPS = 1.0
# Coverage: a group spanning FULL_COVERAGE_SPAN (RITA's 12 ideal hours) or the whole window
# has coverage 1. The score keeps COVERAGE_FLOOR of its evidence at zero coverage: a short
# session of a real implant still alerts, a sustained one ranks above a tool run.
FULL_COVERAGE_SPAN = 12 * 3600.0
COVERAGE_FLOOR = 0.85
# Required check-ins: enough to cover the evidence span (DEFAULT_EVIDENCE_SPAN, two minutes,
# or EVIDENCE_SHARE of a shorter window) at the group's period, and never fewer than
# min_count. A fixed count means seconds for a fast beacon and days for a slow one: 19
# requests in 6 s (a page load, a crawler) or 960 connections in 96 s (a brute-forcer) are
# not beacons, 6 hourly check-ins are. Two minutes kept 97% of the synthetic beacons
# judged (10 minutes: 83%).
DEFAULT_EVIDENCE_SPAN = 120.0
EVIDENCE_SHARE = 0.5


def _to_float(value):
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _as_1d_float(name, values, n_events):
    """Values as float64; entries that do not parse as numbers (None, "", "abc") become NaN."""
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != n_events:
        raise ValueError("%s must be a 1-D array of length %d (one value per event), got shape %s"
                         % (name, n_events, array.shape))
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "c":
        raise TypeError("%s must be real numbers, got dtype %s" % (name, array.dtype))
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        # Mixed or partly unparsable input: convert one value at a time (slow path).
        return np.fromiter((_to_float(v) for v in array), dtype=np.float64, count=n_events)


def _validate(group_index, times, sizes, counts, durations, n_groups, min_count, window,
              evidence_span):
    group_index = np.asarray(group_index)
    if group_index.ndim != 1:
        raise ValueError("group_index must be 1-D, got shape %s" % (group_index.shape,))
    if group_index.dtype.kind not in "iu":
        if group_index.size == 0:
            group_index = group_index.astype(np.int64)
        else:
            raise TypeError("group_index must hold integers, got dtype %s" % group_index.dtype)
    group_index = group_index.astype(np.int64, copy=False)
    n_events = group_index.shape[0]
    times = _as_1d_float("times", times, n_events)
    sizes = None if sizes is None else _as_1d_float("sizes", sizes, n_events)
    counts = None if counts is None else _as_1d_float("counts", counts, n_events)
    durations = None if durations is None else _as_1d_float("durations", durations, n_events)
    if isinstance(min_count, (bool, np.bool_)) or not isinstance(min_count, (int, np.integer)):
        raise TypeError("min_count must be an integer, got %r" % (min_count,))
    if min_count < 3:
        raise ValueError("min_count must be >= 3 (two gaps at least), got %d" % min_count)
    if n_events and group_index.min() < 0:
        raise ValueError("group_index must be >= 0, got %d" % group_index.min())
    observed = int(group_index.max()) + 1 if n_events else 0
    if n_groups is None:
        n_groups = observed
    else:
        if isinstance(n_groups, (bool, np.bool_)) or not isinstance(n_groups, (int, np.integer)):
            raise TypeError("n_groups must be an integer or None, got %r" % (n_groups,))
        if n_groups < observed:
            raise ValueError("group_index holds %d but n_groups is %d" % (observed - 1, n_groups))
    for name, value in (("window", window), ("evidence_span", evidence_span)):
        if value is None and name == "window":
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError("%s must be a number of seconds, got %r" % (name, value))
        if not np.isfinite(value) or value <= 0:
            raise ValueError("%s must be a positive number of seconds, got %r" % (name, value))
    return group_index, times, sizes, counts, durations, int(n_groups), int(min_count)


def _segment_starts(sorted_groups, n_groups):
    """Start offset and length of each group's run in an array sorted by group."""
    lengths = np.bincount(sorted_groups, minlength=n_groups)
    starts = np.zeros(n_groups, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts, lengths


def _order_within_groups(values, groups, n_groups):
    """Permutation sorting ``values`` ascending within each group of a group-sorted array.

    A float key ``group + 0.5 * (value - min) / range`` sorts 5-8x faster than
    ``np.lexsort``; the factor 0.5 keeps rounding from ever reaching the next group's key.
    Values closer than about 1e-10 of their group's range may swap, which moves a median by
    no more than that. Ties of the key keep no particular order.
    """
    starts, lengths = _segment_starts(groups, n_groups)
    has = lengths > 0
    low = np.full(n_groups, 0.0)
    high = np.full(n_groups, 0.0)
    low[has] = np.minimum.reduceat(values, starts[has])
    high[has] = np.maximum.reduceat(values, starts[has])
    span = high - low
    scale = np.where(span > 0, 0.5 / np.where(span > 0, span, 1.0), 0.0)
    fraction = (values - low[groups]) * scale[groups]
    # Infinite gaps (times near the float limits) give NaN: park them at the group's end.
    fraction = np.where(np.isfinite(fraction), fraction, 0.5)
    return np.argsort(groups + fraction), starts, lengths


def _segment_median(values, groups, n_groups, lower=False):
    """Median of ``values`` within each group of a group-sorted array (NaN if empty); with
    ``lower``, the lower of the two middle values of an even count."""
    order, starts, lengths = _order_within_groups(values, groups, n_groups)
    ordered = values[order]
    out = np.full(n_groups, np.nan)
    has = lengths > 0
    low = starts[has] + (lengths[has] - 1) // 2
    high = low if lower else starts[has] + lengths[has] // 2
    out[has] = 0.5 * (ordered[low] + ordered[high])
    return out


def _segment_weighted_median(values, weights, groups, n_groups):
    """Lower weighted median of ``values`` (weights > 0) within each group of a group-sorted
    array (NaN if empty)."""
    order, starts, lengths = _order_within_groups(values, groups, n_groups)
    ordered = values[order]
    cumulative = np.cumsum(weights[order])
    out = np.full(n_groups, np.nan)
    has = lengths > 0
    group_starts = starts[has]
    before = np.zeros(group_starts.size)
    later = group_starts > 0
    before[later] = cumulative[group_starts[later] - 1]
    total = np.bincount(groups, weights=weights, minlength=n_groups)[has]
    index = np.searchsorted(cumulative, before + 0.5 * total, side="left")
    # Rounding in the running sum must not step outside the group.
    index = np.clip(index, group_starts, group_starts + lengths[has] - 1)
    out[has] = ordered[index]
    return out


_LONG_RUN = 256  # events per ordered run, on average, for timsort to beat quicksort


def _sort_events(groups, times, n_groups):
    """Exact permutation sorting events by (group, time), faster than ``np.lexsort``: sort
    by time, then a stable sort by group (a radix sort when group ids fit 16 bits); above
    that, one int64 key of group and time rank."""
    # A search's events come in time order (newest first, or oldest first after a sort),
    # chunk after chunk: a stable sort (timsort) merges such runs in a few passes, where
    # quicksort takes 3-15x longer. On shuffled times timsort is the slower one.
    steps = np.diff(times)
    breaks = min(np.count_nonzero(steps < 0), np.count_nonzero(steps > 0))
    in_runs = breaks * _LONG_RUN <= times.size
    by_time = np.argsort(times, kind="stable" if in_runs else "quicksort")
    if n_groups <= 1 << 16:
        return by_time[np.argsort(groups[by_time].astype(np.uint16), kind="stable")]
    rank = np.empty(times.size, dtype=np.int64)
    rank[by_time] = np.arange(times.size, dtype=np.int64)
    return np.argsort(groups * np.int64(times.size) + rank)


def _segment_quantile(values, groups, n_groups, q):
    """Lower ``q`` quantile of ``values`` within each group of a group-sorted array."""
    order, starts, lengths = _order_within_groups(values, groups, n_groups)
    out = np.full(n_groups, np.nan)
    has = lengths > 0
    out[has] = values[order][starts[has] + np.floor(q * (lengths[has] - 1)).astype(np.int64)]
    return out


def _merge_bursts(gap_start, gap_end, gap_groups, n_groups):
    """Fold check-ins closer than BURST_FRACTION of the group's upper-quartile gap into the
    check-in before them, so a beacon making 2-3 connections per check-in (staged requests,
    retries) is scored on its check-ins. Returns the gaps between burst starts."""
    gaps = gap_end - gap_start
    reference = _segment_quantile(gaps, gap_groups, n_groups, BURST_REFERENCE_QUANTILE)
    return _fold_gaps(gap_start, gap_end, gap_groups,
                      gaps > BURST_FRACTION * reference[gap_groups])


def _fold_gaps(gap_start, gap_end, gap_groups, keep):
    """Drop the check-in ending each gap not in ``keep``: a kept gap then runs from the
    previous kept check-in (or the group's first check-in) to its own end. Gaps are
    differences of the original times, so a gap nothing was folded into is unchanged to the
    bit. Folded gaps after the group's last kept gap are dropped."""
    kept_end = gap_end[keep]
    kept_groups = gap_groups[keep]
    kept_start = np.empty_like(kept_end)
    kept_start[1:] = kept_end[:-1]
    first_in_group = np.ones(kept_groups.size, dtype=bool)
    first_in_group[1:] = kept_groups[1:] != kept_groups[:-1]
    # The first check-in of each group is the start of the group's first gap.
    group_first_gap = np.ones(gap_groups.size, dtype=bool)
    group_first_gap[1:] = gap_groups[1:] != gap_groups[:-1]
    group_start = np.zeros(int(gap_groups.max()) + 1 if gap_groups.size else 0)
    group_start[gap_groups[group_first_gap]] = gap_start[group_first_gap]
    kept_start[first_in_group] = group_start[kept_groups[first_in_group]]
    return kept_end - kept_start, kept_groups


def _non_negative(values, valid):
    """The valid events' values, NaN where not a finite number >= 0 (None stays None)."""
    if values is None:
        return None
    kept = values[valid]
    return np.where(np.isfinite(kept) & (kept >= 0), kept, np.nan)


def _divide(numerator, denominator):
    """Elementwise ratio, NaN where the denominator is not positive."""
    out = np.full(np.shape(numerator), np.nan)
    ok = denominator > 0
    out[ok] = numerator[ok] / denominator[ok]
    return out


def score_groups(group_index, times, sizes=None, counts=None, n_groups=None,
                 min_count=DEFAULT_MIN_COUNT, durations=None, window=None,
                 evidence_span=DEFAULT_EVIDENCE_SPAN):
    """Score every group's events for periodic beaconing.

    Parameters
    ----------
    group_index : array_like of int, shape (n_events,)
        Group of each event, in ``[0, n_groups)``.
    times : array_like of float, shape (n_events,)
        Event times, epoch seconds. NaN, infinite or not a number (None, "abc"): the event is
        ignored. Numeric strings are parsed.
    sizes : array_like of float, shape (n_events,), optional
        Bytes sent per connection (for a pre-aggregated row: the mean per connection of that
        row). NaN, infinite or negative: missing for the size score only.
    counts : array_like of float, shape (n_events,), optional
        Connections each row stands for (pre-aggregated input); None means 1 each. A count
        that is NaN, infinite or <= 0 drops the row.
    n_groups : int, optional
        Number of groups; default ``max(group_index) + 1`` (0 for empty input).
    min_count : int, default DEFAULT_MIN_COUNT (6)
        Fewest distinct timestamps for a group to be scored, and the floor of the check-ins
        a group needs (``beacon_required_count``); must be >= 3.
    durations : array_like of float, shape (n_events,), optional
        Seconds each connection lasted (for a pre-aggregated row: the mean of that row).
        NaN, infinite or negative: missing for the duration score only.
    window : float, optional
        The observation window in seconds (> 0); default: from the first to the last valid
        event of all groups. Sets ``beacon_coverage`` and, when shorter than twice
        ``evidence_span``, the evidence span (half the window).
    evidence_span : float, default DEFAULT_EVIDENCE_SPAN (120 s)
        Seconds of check-ins a group must show: it needs ``ceil(span / period) + 1``
        check-ins (at least ``min_count``) to be judged.

    Returns
    -------
    dict of str to ndarray
        One float64 array of length ``n_groups`` per name in ``BEACON_FIELDS``. Groups below
        ``min_count`` have NaN scores, period, sub-scores and size, with ``beacon_count``
        (connections), ``beacon_first``, ``beacon_last`` and ``beacon_span`` filled. Groups
        with fewer check-ins than ``beacon_required_count`` have NaN scores too, with their
        period, ``beacon_checkins`` and ``beacon_required_count`` filled (why they were not
        judged).

    Raises
    ------
    TypeError, ValueError
        For malformed arguments (shapes, non-integer ``group_index``, complex values, group
        ids outside ``[0, n_groups)``, ``min_count`` < 3), before any heavy work. Bad values
        (NaN, inf, negative sizes or counts, unparsable entries) never raise.

    Notes
    -----
    The result does not depend on the order of events, shifting all times by a constant
    leaves it unchanged, and scaling all times (and ``evidence_span``, with windows under
    FULL_COVERAGE_SPAN) scales ``beacon_period``, ``beacon_duration`` and the times only.
    A group's result does not depend on other groups when ``window`` is given (otherwise the
    window, and with it coverage and the required count, spans every group's events).

    Examples
    --------
    >>> import numpy as np
    >>> t = 1000.0 + 60.0 * np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 10])   # one missed beat
    >>> out = score_groups(np.zeros(10, dtype=int), t)
    >>> float(out["beacon_period"][0]), float(out["beacon_fit_share"][0])
    (60.0, 1.0)
    """
    group_index, times, sizes, counts, durations, n_groups, min_count = _validate(
        group_index, times, sizes, counts, durations, n_groups, min_count, window,
        evidence_span)
    # Extreme but finite values may overflow to inf/NaN on the way; those end as NaN fields,
    # never as warnings or exceptions.
    with np.errstate(all="ignore"):
        return _score(group_index, times, sizes, counts, durations, n_groups, min_count,
                      window, float(evidence_span))


def _score(group_index, times, sizes, counts, durations, n_groups, min_count, window,
           evidence_span):
    """score_groups after validation."""
    out = {name: np.full(n_groups, np.nan) for name in BEACON_FIELDS}
    out["beacon_count"] = np.zeros(n_groups)
    if n_groups == 0:
        return out

    valid = np.isfinite(times)
    if counts is not None:
        valid &= np.isfinite(counts) & (counts > 0)
    groups = group_index[valid]
    event_times = times[valid]
    event_counts = np.ones(groups.size) if counts is None else counts[valid]
    event_sizes = _non_negative(sizes, valid)
    event_durations = _non_negative(durations, valid)
    if window is None:  # the span of everything this search handed over
        window = float(event_times.max() - event_times.min()) if event_times.size else 0.0
    window = float(window) if np.isfinite(window) else 0.0

    # One sort by (group, time). Rows tied on both keep no particular order, so sums of
    # non-integer counts may differ in the last bit with input order.
    order = _sort_events(groups, event_times, n_groups)
    groups = groups[order]
    event_times = event_times[order]
    event_counts = event_counts[order]
    if event_sizes is not None:
        event_sizes = event_sizes[order]
    if event_durations is not None:
        event_durations = event_durations[order]

    out["beacon_count"] = np.bincount(groups, weights=event_counts, minlength=n_groups)

    # Distinct (group, time) pairs are the check-ins ("beats").
    new_beat = np.ones(groups.size, dtype=bool)
    new_beat[1:] = (groups[1:] != groups[:-1]) | (event_times[1:] != event_times[:-1])
    beat_groups = groups[new_beat]
    beat_times = event_times[new_beat]
    starts, n_beats = _segment_starts(beat_groups, n_groups)
    present = n_beats > 0
    out["beacon_first"][present] = beat_times[starts[present]]
    out["beacon_last"][present] = beat_times[starts[present] + n_beats[present] - 1]
    out["beacon_span"] = out["beacon_last"] - out["beacon_first"]

    scored = n_beats >= min_count
    if not scored.any():
        return out

    # Gaps between consecutive check-ins of scored groups.
    same_group = beat_groups[1:] == beat_groups[:-1]
    keep_gap = same_group & scored[beat_groups[1:]]
    gap_groups = beat_groups[1:][keep_gap]
    gap_start = beat_times[:-1][keep_gap]
    gap_end = beat_times[1:][keep_gap]
    if BURST_FRACTION > 0:
        gaps, gap_groups = _merge_bursts(gap_start, gap_end, gap_groups, n_groups)
    else:
        gaps = gap_end - gap_start
    n_gaps = np.bincount(gap_groups, minlength=n_groups).astype(np.float64)

    # Missed beats only lengthen gaps: when they split evenly between one period and two,
    # the shorter middle gap is the period, while their mean fits neither lattice point.
    period = _segment_median(gaps, gap_groups, n_groups, lower=True)
    for _ in range(PERIOD_REFINEMENTS):
        multiple = np.maximum(np.rint(gaps / period[gap_groups]), 1.0)
        near = multiple <= MAX_MULTIPLE
        refined = _segment_median((gaps / multiple)[near], gap_groups[near], n_groups)
        period = np.where(np.isfinite(refined), refined, period)

    ratio = gaps / period[gap_groups]
    multiple = np.rint(ratio)
    fits = (multiple >= 1) & (multiple <= MAX_MULTIPLE)
    fit_groups = gap_groups[fits]
    deviation = np.abs(ratio[fits] - multiple[fits]) / np.sqrt(multiple[fits])
    n_fit = np.bincount(fit_groups, minlength=n_groups).astype(np.float64)
    expected = np.bincount(fit_groups, weights=multiple[fits], minlength=n_groups)
    fit_share = _divide(n_fit, n_gaps)
    jitter = _divide(np.bincount(fit_groups, weights=deviation, minlength=n_groups), n_fit)
    # A group whose gaps all miss the lattice has no jitter to measure: the worst value.
    jitter = np.where(scored & (n_fit == 0), 0.5, jitter)
    missed = 1.0 - _divide(n_fit, expected)
    missed = np.where(scored & (n_fit == 0), np.nan, missed)

    interval = np.clip((fit_share - FIT_SHARE_FLOOR) / (1.0 - FIT_SHARE_FLOOR), 0.0, 1.0)
    interval = interval * (1.0 - JITTER_WEIGHT * jitter)
    count_score = _count_score(n_fit)

    size_score, median_size = _consistency(event_sizes, event_counts, groups, scored, n_groups,
                                           SIZE_REL_TOLERANCE, SIZE_ABS_TOLERANCE)
    duration_score, median_duration = _consistency(
        event_durations, event_counts, groups, scored, n_groups,
        DURATION_REL_TOLERANCE, DURATION_ABS_TOLERANCE)
    # Size and duration both say "the same exchange every time": their mean is the
    # consistency evidence (either alone when the other is missing).
    with np.errstate(invalid="ignore"):
        consistency = np.where(np.isfinite(size_score),
                               np.where(np.isfinite(duration_score),
                                        0.5 * (size_score + duration_score), size_score),
                               duration_score)

    # Coverage: how much of the observation window (at most FULL_COVERAGE_SPAN of it) the
    # check-ins span. Sustained check-ins are what separates an implant from a tool run.
    span = out["beacon_span"]
    coverage = np.clip(_divide(span, np.full(n_groups, min(window, FULL_COVERAGE_SPAN))), 0, 1)
    coverage = np.where(np.isfinite(coverage), coverage, 0.0)

    evidence = np.where(np.isfinite(consistency),
                        INTERVAL_WEIGHT * interval + CONSISTENCY_WEIGHT * consistency, interval)
    evidence = evidence * (COVERAGE_FLOOR + (1.0 - COVERAGE_FLOOR) * coverage)
    score = np.clip(evidence * count_score, 0.0, 1.0)

    # The check-ins a beacon of this period makes over the evidence span (at least
    # min_count): a group with fewer is not judged.
    evidence_span = min(EVIDENCE_SHARE * window, evidence_span)
    required = np.ceil(_divide(np.full(n_groups, evidence_span), period)) + 1.0
    required = np.where(np.isfinite(required), np.maximum(required, min_count), float(min_count))
    checkins = n_gaps + 1.0
    judged = scored & (checkins >= required)

    for name, values in (("beacon_score", score), ("beacon_period", period),
                         ("beacon_interval_score", interval), ("beacon_size_score", size_score),
                         ("beacon_count_score", count_score), ("beacon_fit_share", fit_share),
                         ("beacon_jitter", jitter), ("beacon_missed_share", missed),
                         ("beacon_size", median_size), ("beacon_duration_score", duration_score),
                         ("beacon_duration", median_duration), ("beacon_coverage", coverage)):
        values = np.asarray(values, dtype=np.float64).copy()
        values[~judged] = np.nan
        out[name] = values
    # Why a group was not judged stays visible: its period, check-ins and what it needed.
    out["beacon_period"][scored] = period[scored]
    out["beacon_checkins"][scored] = checkins[scored]
    out["beacon_required_count"][scored] = required[scored]
    return out


def _count_score(n_fit):
    return n_fit / (n_fit + COUNT_PSEUDO_GAPS)


def _consistency(values, weights, groups, scored, n_groups, rel_tolerance, abs_tolerance):
    """(share, median): the share of connections (weighted) whose value is within
    ``max(rel_tolerance * median, abs_tolerance)`` of the group's weighted median, and that
    median; NaN for groups without a valid value (or when ``values`` is None)."""
    share = np.full(n_groups, np.nan)
    median = np.full(n_groups, np.nan)
    if values is None:
        return share, median
    has = np.isfinite(values) & scored[groups]
    value_groups = groups[has]
    kept = values[has]
    kept_weights = weights[has]
    median = _segment_weighted_median(kept, kept_weights, value_groups, n_groups)
    tolerance = np.maximum(rel_tolerance * median, abs_tolerance)
    close = np.abs(kept - median[value_groups]) <= tolerance[value_groups]
    share = _divide(np.bincount(value_groups, weights=kept_weights * close, minlength=n_groups),
                    np.bincount(value_groups, weights=kept_weights, minlength=n_groups))
    return share, median
