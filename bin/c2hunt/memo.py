"""The library's cache style for values derived from data: a dict that empties itself when full.

Such caches (an address's text, a name's registered domain) grow with the input. Each
names its limit; reaching it clears the cache, which keeps memory bounded for input of
any size and lets a long read whose keys drift keep hitting (a cache that stopped filling
would serve only the keys seen first). Results never depend on a cache: a miss recomputes
the same value.

Tables built from a parameter (digit tables per number of decimals) are not data caches:
they use ``functools.lru_cache``, or grow in place where a larger request extends them
(``scp.values._text_table``, ``capture.flows._powers``).
"""


class BoundedCache(dict):
    """A dict with ``put(key, value)`` that clears it once it holds ``limit`` entries."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        """Remember ``value`` under ``key`` (clearing the cache first when full); returns it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
