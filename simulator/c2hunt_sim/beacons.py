"""Labelled synthetic connection time series for the beacon-scoring benchmark.

Each series is the connection start times (and bytes sent) of one source/destination
pair. Beacons are renewal processes around a sleep period with Cobalt-Strike-style jitter
(``sleep * (1 - j * U)``, U uniform in [0, 1]) or symmetric jitter
(``sleep * (1 + j * (2U - 1))``), optionally with missed check-ins (each beat dropped
independently). Benign series are Poisson arrivals and bursty sessions (a Poisson process of
session starts, each session a short run of closely spaced connections). Counts and spans of
benign series are drawn from the same ranges as the beacons so that neither separates the
classes on its own.

Everything is deterministic for a given seed: every case draws from its own child stream of
``numpy.random.SeedSequence(seed)``, so adding a case or changing the number of series in one
case does not change the series of another.
"""
import collections

import numpy as np

Series = collections.namedtuple("Series", "case label period times sizes")
Series.__doc__ = """One labelled series.

case : str, the case name (a key of ``CASES``).
label : int, 1 for a beacon, 0 for benign traffic.
period : float, the configured sleep in seconds (NaN for benign series).
times : float ndarray, connection start times in epoch seconds, sorted.
sizes : float ndarray, bytes sent per connection, aligned with ``times``.
"""

# name -> (label, jitter kind, jitter fraction, missed-beat range, extras)
# extras: "extra" adds unrelated Poisson connections to the pair (10-30% of the beats),
# "outage" removes one stretch of 10-40% of the span (host asleep or offline), "burst" makes
# every check-in 2-3 connections within min(2 s, 5% of the sleep) (staged requests, retries).
CASES = collections.OrderedDict([
    ("periodic_j0", (1, "none", 0.0, (0.0, 0.0), "")),
    ("cs_j20", (1, "cs", 0.2, (0.0, 0.0), "")),
    ("cs_j50", (1, "cs", 0.5, (0.0, 0.0), "")),
    ("sym_j20", (1, "sym", 0.2, (0.0, 0.0), "")),
    ("sym_j50", (1, "sym", 0.5, (0.0, 0.0), "")),
    ("periodic_j0_missed", (1, "none", 0.0, (0.1, 0.3), "")),
    ("cs_j20_missed", (1, "cs", 0.2, (0.1, 0.3), "")),
    ("cs_j50_missed", (1, "cs", 0.5, (0.1, 0.3), "")),
    ("sym_j20_missed", (1, "sym", 0.2, (0.1, 0.3), "")),
    ("sym_j50_missed", (1, "sym", 0.5, (0.1, 0.3), "")),
    # stress cases beyond the list: where RITA is known to fail
    ("cs_j50_missed40", (1, "cs", 0.5, (0.4, 0.4), "")),
    ("cs_j30_extra", (1, "cs", 0.3, (0.0, 0.0), "extra")),
    ("cs_j30_outage", (1, "cs", 0.3, (0.0, 0.0), "outage")),
    ("cs_j20_burst", (1, "cs", 0.2, (0.0, 0.0), "burst")),
    ("poisson", (0, "poisson", 0.0, (0.0, 0.0), "")),
    ("bursty", (0, "bursty", 0.0, (0.0, 0.0), "")),
])

BEACON_CASES = tuple(name for name, spec in CASES.items() if spec[0] == 1)
# The cases the issue names (0/20/50% jitter, 10-30% missed beats); the rest are stress cases.
STRESS_CASES = ("cs_j50_missed40", "cs_j30_extra", "cs_j30_outage", "cs_j20_burst")
CORE_CASES = tuple(name for name in CASES if name not in STRESS_CASES)
BENIGN_CASES = tuple(name for name, spec in CASES.items() if spec[0] == 0)

# Ranges shared by all cases (log-uniform draws).
PERIOD_RANGE = (5.0, 3600.0)       # beacon sleep, seconds
N_BEATS_RANGE = (10, 300)          # scheduled check-ins (before missed beats)
START = 1.7e9                      # series start around late 2023, epoch seconds
NETWORK_DELAY_SD = 0.02            # seconds of latency noise added to every beacon beat


def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _beacon_sizes(rng, n):
    """Check-in sizes: a fixed request size +-2%, with 10% larger task replies."""
    base = _log_uniform(rng, 100.0, 5000.0)
    sizes = base * (1.0 + rng.normal(0.0, 0.02, n))
    tasks = rng.random(n) < 0.1
    sizes[tasks] *= rng.uniform(2.0, 20.0, int(tasks.sum()))
    return np.round(np.maximum(sizes, 1.0))


def _benign_sizes(rng, n):
    """Half the benign series have regular sizes (keepalives, polling), half vary widely,
    so size regularity alone does not separate the classes."""
    if rng.random() < 0.5:
        return _beacon_sizes(rng, n)
    base = _log_uniform(rng, 100.0, 5000.0)
    return np.round(np.maximum(base * rng.lognormal(0.0, 1.0, n), 1.0))


def _beacon(rng, jitter_kind, jitter, missed_range, extras):
    period = _log_uniform(rng, *PERIOD_RANGE)
    n_beats = int(round(_log_uniform(rng, *N_BEATS_RANGE)))
    u = rng.random(n_beats - 1)
    if jitter_kind == "cs":
        sleeps = period * (1.0 - jitter * u)
    elif jitter_kind == "sym":
        sleeps = period * (1.0 + jitter * (2.0 * u - 1.0))
    else:
        sleeps = np.full(n_beats - 1, period)
    times = START + rng.uniform(0.0, 86400.0) + np.concatenate(([0.0], np.cumsum(sleeps)))
    times = times + np.abs(rng.normal(0.0, NETWORK_DELAY_SD, n_beats))
    missed = rng.uniform(*missed_range) if missed_range[1] > 0 else 0.0
    keep = rng.random(n_beats) >= missed
    keep[0] = keep[-1] = True  # keep the span so a missed-beat case is not also a shorter one
    if extras == "outage":
        width = rng.uniform(0.1, 0.4) * (times[-1] - times[0])
        start = rng.uniform(times[0], times[-1] - width)
        keep &= (times < start) | (times > start + width)
    times = times[keep]
    if extras == "extra":
        n_extra = max(1, int(round(rng.uniform(0.1, 0.3) * times.size)))
        times = np.concatenate((times, rng.uniform(times[0], times[-1], n_extra)))
    if extras == "burst":
        per_check_in = rng.integers(2, 4, times.size)
        spread = min(2.0, 0.05 * period)
        offsets = [np.sort(rng.uniform(0.0, spread, k - 1)) for k in per_check_in]
        times = np.concatenate([np.r_[t, t + o] for t, o in zip(times, offsets)])
    times = np.sort(times)
    return period, times, _beacon_sizes(rng, times.size)


def _benign_span_and_count(rng):
    """Span and count drawn as a beacon's would be, so neither is a give-away."""
    period = _log_uniform(rng, *PERIOD_RANGE)
    n = int(round(_log_uniform(rng, *N_BEATS_RANGE)))
    return period * (n - 1), n


def _poisson(rng):
    span, n = _benign_span_and_count(rng)
    times = START + rng.uniform(0.0, 86400.0) + np.sort(rng.uniform(0.0, span, n))
    return times, _benign_sizes(rng, n)


def _bursty(rng):
    """Sessions: Poisson session starts; each session 1 + Geometric connections spaced by
    exponential gaps of a few seconds (page loads, sync bursts)."""
    span, n = _benign_span_and_count(rng)
    mean_per_session = rng.uniform(2.0, 8.0)
    n_sessions = max(1, int(round(n / mean_per_session)))
    starts = np.sort(rng.uniform(0.0, span, n_sessions))
    per_session = rng.geometric(1.0 / mean_per_session, n_sessions)
    intra_gap = rng.uniform(0.5, 10.0)
    offsets = [np.cumsum(np.concatenate(([0.0], rng.exponential(intra_gap, k - 1))))
               for k in per_session]
    times = np.concatenate([s + o for s, o in zip(starts, offsets)])
    times = START + rng.uniform(0.0, 86400.0) + np.sort(times)
    return times, _benign_sizes(rng, times.size)


def generate_case(case, n_series, seed=0):
    """Generate ``n_series`` labelled series of one case.

    Parameters
    ----------
    case : str
        A key of ``CASES``.
    n_series : int
        Number of series (>= 0).
    seed : int
        Base seed; the case's own stream is derived from it and the case's position.

    Returns
    -------
    list of Series
    """
    if case not in CASES:
        raise ValueError("unknown case %r; expected one of %s" % (case, ", ".join(CASES)))
    if int(n_series) != n_series or n_series < 0:
        raise ValueError("n_series must be a non-negative integer, got %r" % (n_series,))
    label, kind, jitter, missed_range, extras = CASES[case]
    case_position = list(CASES).index(case)
    child = np.random.SeedSequence(seed).spawn(len(CASES))[case_position]
    rng = np.random.default_rng(child)
    out = []
    for _ in range(int(n_series)):
        if kind == "poisson":
            period, (times, sizes) = float("nan"), _poisson(rng)
        elif kind == "bursty":
            period, (times, sizes) = float("nan"), _bursty(rng)
        else:
            period, times, sizes = _beacon(rng, kind, jitter, missed_range, extras)
        out.append(Series(case, label, period, times, sizes))
    return out


def generate_benchmark(n_series=200, seed=0, cases=None):
    """Generate every case (or the named ``cases``), ``n_series`` series each.

    Returns
    -------
    list of Series
        Cases in ``CASES`` order, series in generation order.
    """
    names = list(CASES) if cases is None else list(cases)
    series = []
    for name in names:
        series.extend(generate_case(name, n_series, seed=seed))
    return series


def to_events(series):
    """Flatten series into event columns, one group per series.

    Returns
    -------
    group_index : int64 ndarray (n_events,)
    times : float64 ndarray (n_events,)
    sizes : float64 ndarray (n_events,)
    labels : int64 ndarray (n_groups,)
    cases : object ndarray (n_groups,) of case names
    """
    lengths = np.array([s.times.size for s in series], dtype=np.int64)
    group_index = np.repeat(np.arange(len(series), dtype=np.int64), lengths)
    if series:
        times = np.concatenate([s.times for s in series])
        sizes = np.concatenate([s.sizes for s in series])
    else:
        times = np.empty(0)
        sizes = np.empty(0)
    labels = np.array([s.label for s in series], dtype=np.int64)
    cases = np.array([s.case for s in series], dtype=object)
    return group_index, times, sizes, labels, cases
