"""CSV lookups resolved through transforms.conf, with Splunk's match types.

A lookup name is a transforms.conf stanza (``filename = x.csv``, ``match_type =
WILDCARD(f), CIDR(g)``, ``case_sensitive_match``, ``max_matches``, ``min_matches``,
``default_match``) or a CSV file name used directly. Files are read from the runner's
writable lookup folder first (where ``outputlookup`` writes), then from the app's
``lookups/``; the app's own files are never written.

As in Splunk, a lookup file is named, never pathed: the file name (from the stanza or the
search) must be a plain name, and it resolves only inside those two folders (a link that
leads out of them is refused), so a search can neither read nor write any other file.
"""
import csv
import functools
import ipaddress
import os
import re

from .values import SplError, Unavailable, fast_paths_enabled, mv, to_str, wildcard_regex


class LookupTable(object):
    """One lookup table with its matching rules."""

    def __init__(self, name, path, columns, rows, match_types=None, case_sensitive=True,
                 max_matches=100, min_matches=0, default_match=None):
        self.name = name
        self.path = path
        self.columns = columns
        self.rows = rows
        self.match_types = match_types or {}
        self.case_sensitive = case_sensitive
        self.max_matches = max_matches
        self.min_matches = min_matches
        self.default_match = default_match
        self._compiled = {}
        self._memo = {}  # (columns, event values) -> matching rows: event values repeat a lot
        self._indexes = {}  # column -> ExactIndex or CidrIndex, built on first use
        self._indexed = fast_paths_enabled()

    def _cell_matcher(self, column, cell):
        """Predicate on an event value for one lookup cell."""
        key = (column, cell)
        if key in self._compiled:
            return self._compiled[key]
        kind = self.match_types.get(column, "EXACT")
        if kind == "CIDR":
            try:
                network = ipaddress.ip_network(cell.strip(), strict=False)
            except ValueError:
                fn = lambda v: False  # noqa: E731  (a bad CIDR cell matches nothing)
            else:
                version, prefix = network.version, int(network.network_address)
                mask = int(network.netmask)

                def fn(v):
                    parsed = _address(v)  # each distinct value parsed once
                    return parsed is not None and parsed[0] == version and parsed[1] & mask == prefix
        elif kind == "WILDCARD" and "*" in cell:
            rx = wildcard_regex(cell, case_sensitive=self.case_sensitive)
            fn = lambda v: rx.match(v) is not None  # noqa: E731
        elif self.case_sensitive:
            fn = lambda v: v == cell  # noqa: E731
        else:
            low = cell.lower()
            fn = lambda v: v.lower() == low  # noqa: E731
        self._compiled[key] = fn
        return fn

    def match(self, columns, values):
        """Rows whose ``columns`` match the event ``values`` (each possibly multivalue).

        A null input value matches nothing. At most ``max_matches`` rows, in file order;
        fewer than ``min_matches`` rows are padded with ``default_match``.
        """
        if all(type(v) is str and v != "" for v in values):  # the common case: plain strings
            key = (tuple(columns), tuple(values))
            cached = self._memo.get(key)
            if cached is None:
                if len(self._memo) > 200000:
                    self._memo.clear()
                cached = self._memo[key] = self._match(columns, [[v] for v in values])
            return cached
        event_values = []
        for value in values:
            vs = [to_str(v) for v in mv(value) if to_str(v) not in (None, "")]
            if not vs:
                return self._defaults([])
            event_values.append(vs)
        key = (tuple(columns), tuple(tuple(vs) for vs in event_values))
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if len(self._memo) > 200000:
            self._memo.clear()
        result = self._match(columns, event_values)
        self._memo[key] = result
        return result

    def _match(self, columns, event_values):
        if not self._indexed:
            return self._scan(columns, event_values)
        # Rows that can match on the most selective column, then the other columns checked.
        column = min(columns, key=lambda c: _INDEX_PREFERENCE[self.match_types.get(c, "EXACT")])
        position = columns.index(column)
        index = self._index(column)
        candidates = set()
        for value in event_values[position]:
            candidates.update(index.candidates(value))
        found = []
        others = [(c, vs) for c, vs in zip(columns, event_values) if c != column]
        for row_id in sorted(candidates):
            row = self.rows[row_id]
            if all(any(self._cell_matcher(c, row.get(c, ""))(v) for v in vs) for c, vs in others):
                found.append(row)
                if len(found) >= self.max_matches:
                    break
        return self._defaults(found)

    def _index(self, column):
        index = self._indexes.get(column)
        if index is None:
            kind = self.match_types.get(column, "EXACT")
            cells = [row.get(column, "") for row in self.rows]
            if kind == "CIDR":
                index = CidrIndex(cells)
            else:
                index = ExactIndex(cells, self.case_sensitive, wildcard=kind == "WILDCARD",
                                   matcher=lambda cell: self._cell_matcher(column, cell))
            self._indexes[column] = index
        return index

    def _scan(self, columns, event_values):
        """Every lookup row tried against the event (the reference the indexes are tested
        against, used when ``C2HUNT_ENGINE=row``)."""
        found = []
        for row in self.rows:
            ok = True
            for column, vs in zip(columns, event_values):
                cell = row.get(column, "")
                matcher = self._cell_matcher(column, cell)
                if not any(matcher(v) for v in vs):
                    ok = False
                    break
            if ok:
                found.append(row)
                if len(found) >= self.max_matches:
                    break
        return self._defaults(found)

    def _defaults(self, found):
        if self.default_match is not None and len(found) < self.min_matches:
            filler = {c: self.default_match for c in self.columns}
            found = found + [filler] * (self.min_matches - len(found))
        return found


# Which input column narrows the rows first: an exact key, then a network, then wildcards.
_INDEX_PREFERENCE = {"EXACT": 0, "CIDR": 1, "WILDCARD": 2}


class ExactIndex(object):
    """Row ids by cell value (lower-cased when the lookup is case-insensitive). For a WILDCARD
    column the cells holding ``*`` are candidates for every value (their patterns are checked
    afterwards, each compiled once); the other cells of the column are exact keys."""

    def __init__(self, cells, case_sensitive, wildcard, matcher):
        self.case_sensitive = case_sensitive
        self.by_value = {}
        self.patterns = []
        for row_id, cell in enumerate(cells):
            if wildcard and "*" in cell:
                self.patterns.append((row_id, matcher(cell)))
            else:
                key = cell if case_sensitive else cell.lower()
                self.by_value.setdefault(key, []).append(row_id)

    def candidates(self, value):
        key = value if self.case_sensitive else value.lower()
        found = self.by_value.get(key, [])
        if self.patterns:
            found = found + [row_id for row_id, fn in self.patterns if fn(value)]
        return found


@functools.lru_cache(maxsize=65536)
def _address(text):
    """(version, integer) of an address string, None when it is not one (parsed once per value)."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return address.version, int(address)


class CidrIndex(object):
    """Row ids by network: for each (IP version, prefix length) the lookup holds, a dict from
    the network's integer to its rows. An address is masked once per prefix length present
    (at most 33 for IPv4, 129 for IPv6; a handful in practice) and looked up, so nested and
    overlapping networks all match, as in Splunk. Cells that are not networks match nothing."""

    def __init__(self, cells):
        self.tables = {}  # (version, prefix length) -> {network int: [row ids]}
        for row_id, cell in enumerate(cells):
            try:
                network = ipaddress.ip_network(cell.strip(), strict=False)
            except ValueError:
                continue
            table = self.tables.setdefault((network.version, network.prefixlen), {})
            table.setdefault(int(network.network_address), []).append(row_id)
        self.masks = sorted((version, prefix, ((1 << prefix) - 1) << ((32 if version == 4 else 128) - prefix))
                            for version, prefix in self.tables)

    def candidates(self, value):
        parsed = _address(value)
        if parsed is None:
            return []
        version, number = parsed
        found = []
        for table_version, prefix, mask in self.masks:
            if table_version == version:
                found.extend(self.tables[(version, prefix)].get(number & mask, ()))
        return found


def _parse_match_types(text):
    out = {}
    for kind, field in re.findall(r"(WILDCARD|CIDR|EXACT)\s*\(\s*([^)\s]+)\s*\)", text or "", re.I):
        out[field] = kind.upper()
    return out


def _bool(value, default):
    if value is None:
        return default
    return str(value).strip().lower() in ("1", "true", "t", "yes")


class Lookups(object):
    """Lookup registry for one app: ``get(name)`` and ``write(name, rows)``."""

    def __init__(self, app_root, transforms, writable_dir):
        self.app_root = str(app_root)
        self.transforms = transforms
        self.writable_dir = str(writable_dir)
        self._cache = {}

    def _stanza(self, name):
        stanza = self.transforms.get(name)
        if stanza is not None:
            if "filename" not in stanza and stanza.get("collection") and \
                    stanza.get("external_type", "kvstore").strip() == "kvstore":
                # A KV store collection: offline, <collection>.csv in the writable lookup
                # folder (none: the collection is empty). KV store matching is case-sensitive.
                return dict(stanza, filename=stanza["collection"].strip() + ".csv", case_sensitive_match="true",
                            kvstore="1")
            if "filename" not in stanza:
                kind = "external_cmd" if "external_cmd" in stanza else ("collection" if "collection" in stanza else "non-file")
                raise SplError("lookup %s: %s lookups are not supported offline" % (name, kind))
            return stanza
        if name.lower().endswith(".csv"):
            return {"filename": name}
        raise Unavailable("lookup %r: no transforms.conf stanza and not a .csv file name" % name)

    def _filename(self, name):
        """The stanza's file name, refused unless it is a plain name (no folder, no ``..``)."""
        filename = self._stanza(name)["filename"].strip()
        if (not filename or filename in (".", "..") or "/" in filename or "\\" in filename
                or os.path.isabs(filename) or "\x00" in filename):
            raise SplError("lookup %s: %r is not a plain file name; lookups resolve only inside "
                           "the lookup folders" % (name, filename))
        return filename

    @staticmethod
    def _inside(folder, filename, name):
        """``folder/filename``, refused when a link leads it out of ``folder``."""
        path = os.path.join(folder, filename)
        real_folder = os.path.realpath(folder)
        if os.path.dirname(os.path.realpath(path)) != real_folder:
            raise SplError("lookup %s: %s leads out of the lookup folder %s" % (name, filename, folder))
        return path

    def path_for(self, name):
        filename = self._filename(name)
        local = self._inside(self.writable_dir, filename, name)
        if os.path.exists(local) or self._stanza(name).get("kvstore"):
            return local
        return self._inside(os.path.join(self.app_root, "lookups"), filename, name)

    def get(self, name):
        stanza = self._stanza(name)
        path = self.path_for(name)
        key = (name, path, os.path.getmtime(path) if os.path.exists(path) else None)
        if key in self._cache:
            return self._cache[key]
        if not os.path.exists(path) and stanza.get("kvstore"):
            columns = [c.strip() for c in stanza.get("fields_list", "").split(",") if c.strip()]
            return LookupTable(name, path, columns, [], _parse_match_types(stanza.get("match_type")))
        if not os.path.exists(path):
            raise Unavailable("lookup %s: file %s does not exist" % (name, path))
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                columns = next(reader)
            except StopIteration:
                raise SplError("lookup %s: %s is empty (a header row is required)" % (name, path))
            rows = []
            for n, row in enumerate(reader, 2):
                if not row:
                    continue
                if len(row) != len(columns):
                    raise SplError("lookup %s: %s line %d has %d cells, header has %d"
                                   % (name, path, n, len(row), len(columns)))
                rows.append(dict(zip(columns, row)))
        try:
            max_matches = int(stanza.get("max_matches", "100"))
            min_matches = int(stanza.get("min_matches", "0"))
        except ValueError:
            raise SplError("lookup %s: max_matches/min_matches must be integers" % name)
        table = LookupTable(name, path, columns, rows, _parse_match_types(stanza.get("match_type")),
                            _bool(stanza.get("case_sensitive_match"), True), max_matches,
                            min_matches, stanza.get("default_match"))
        self._cache[key] = table
        return table

    def write(self, name, rows, append=False, override_if_empty=True):
        """``outputlookup``: write rows to the runner's copy of the lookup file."""
        filename = self._filename(name)
        os.makedirs(self.writable_dir, exist_ok=True)
        target = self._inside(self.writable_dir, filename, name)
        if not rows and not override_if_empty:
            return target
        columns = []
        for row in rows:
            for key in row:
                if key not in columns and (not key.startswith("_") or key in ("_time", "_key")):
                    columns.append(key)
        existing = []
        if append:
            source = self.path_for(name)
            if os.path.exists(source):
                with open(source, newline="", encoding="utf-8-sig") as handle:
                    reader = csv.DictReader(handle)
                    for col in reader.fieldnames or []:
                        if col not in columns:
                            columns.insert(len(columns), col)
                    existing = list(reader)
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in existing:
                writer.writerow([row.get(c, "") for c in columns])
            for row in rows:
                cells = []
                for c in columns:
                    value = row.get(c)
                    cells.append("\n".join(to_str(v) for v in mv(value)))
                writer.writerow(cells)
        self._cache = {}
        return target
