"""limits.conf defaults that change what a search returns, and how the runner applies them.

Values from Splunk's etc/system/default/limits.conf (the same in 9.4.3 and 10.4.2):

- ``[stats] list_maxsize = 100``: ``list()`` keeps the first 100 values.
- ``[searchresults]``/``[stats] maxresultrows = 50000`` and ``[default] max_mem_usage_mb =
  200``: eventstats stops adding its fields once *both* limits are passed (both limits,
  limits.conf.spec, max_mem_usage_mb NOTE; with max_mem_usage_mb = 0 only maxresultrows
  counts). stats spills to disk instead and loses nothing.
- ``sort``'s default count of 10,000 (searchbnf.conf) is applied by the sort command.

The memory a result takes inside Splunk is not known here; the runner estimates it as the
text size of the result's field names and values, a lower bound, so where it truncates,
Splunk truncates at least as early. Every limit that drops data adds a message to the
search's messages (the job inspector's warnings).
"""
from .values import mv, to_str

LIST_MAXSIZE = 100
MAXRESULTROWS = 50000
MAX_MEM_USAGE_MB = 200


def estimated_bytes(row):
    """Lower bound of a result's size: its field names and values as text."""
    total = 0
    for key, value in row.items():
        total += len(key)
        for v in mv(value):
            total += len(to_str(v) or "")
    return total


def eventstats_cutoff(rows):
    """Index of the first result eventstats no longer adds fields to, or None (all get them)."""
    if len(rows) <= MAXRESULTROWS:
        return None
    if MAX_MEM_USAGE_MB <= 0:
        return MAXRESULTROWS
    budget = MAX_MEM_USAGE_MB * 1024 * 1024
    used = 0
    for i, row in enumerate(rows):
        used += estimated_bytes(row)
        if i >= MAXRESULTROWS and used > budget:
            return i
    return None
