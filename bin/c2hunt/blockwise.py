"""Score many groups a block at a time, so the scoring's working memory is bounded.

:func:`c2hunt.beacon.score_groups` needs about 230 bytes per event while it works (sorts,
gaps, histograms). A group's result does not depend on other groups, so the groups can be
scored in blocks of about ``block_events`` events each and the results put side by side:
the same output, with a working set of one block instead of the whole search.
"""
import numpy as np

# Events per scoring block: about 50 MB of working memory (measured by
# benchmarks/beacon_memory.py), small against what a search of millions of events holds.
BLOCK_EVENTS = 200000


def score_in_blocks(score, group_index, times, sizes=None, counts=None, n_groups=0,
                    block_events=BLOCK_EVENTS, durations=None, window=None, **options):
    """``score(group_index, times, sizes=..., counts=..., durations=..., n_groups=...,
    window=..., **options)`` over blocks of whole groups, merged into one dict of per-group
    arrays.

    Parameters
    ----------
    score : callable
        A scoring function whose result for a group depends on that group's events only,
        returning a dict of arrays of length ``n_groups``.
    group_index : ndarray of int, shape (n_events,)
        Group of each event, in ``[0, n_groups)``.
    times, sizes, counts, durations : ndarray of float64, shape (n_events,) (all but times
        optional)
    n_groups : int
    window : float, optional
        The observation window. When None and the groups are split, it is the span of all
        valid times (what ``score`` would take from the whole search), so a block's groups
        are judged against the search's window, not the block's.
    block_events : int
        Most events per block (a single larger group is a block of its own).

    Returns
    -------
    dict of str to ndarray, as ``score`` returns for all groups at once.
    """
    n_events = len(group_index)
    if n_events <= block_events or n_groups <= 1:
        return score(group_index, times, sizes=sizes, counts=counts, durations=durations,
                     n_groups=n_groups, window=window, **options)
    if window is None:
        window = _span_of_valid(times, counts)
    per_group = np.bincount(group_index, minlength=n_groups)
    ends = np.cumsum(per_group)
    # Block b holds the groups whose events end before (b + 1) * block_events, at least one.
    cuts = np.searchsorted(ends, np.arange(block_events, n_events, block_events), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [n_groups])))
    order = np.argsort(group_index, kind="stable")   # events of a group stay in input order
    merged = None
    for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if last <= first:
            continue
        start = int(ends[first - 1]) if first else 0
        rows = order[start:int(ends[last - 1])]
        part = score(group_index[rows] - first, times[rows],
                     sizes=None if sizes is None else sizes[rows],
                     counts=None if counts is None else counts[rows],
                     durations=None if durations is None else durations[rows],
                     n_groups=last - first, window=window, **options)
        if merged is None:
            merged = {name: np.empty(n_groups, dtype=values.dtype) for name, values in part.items()}
        for name, values in part.items():
            merged[name][first:last] = values
    return merged


def _span_of_valid(times, counts):
    """Seconds from the first to the last valid event (the kernel's default window), or None
    when there is no span (the kernel then finds none in any block either)."""
    valid = np.isfinite(times)
    if counts is not None:
        valid &= np.isfinite(counts) & (counts > 0)
    if not valid.any():
        return None
    span = float(times[valid].max() - times[valid].min())
    return span if span > 0 else None
