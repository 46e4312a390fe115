"""c2hunt.scp (chunk I/O): the columnar parse agrees with the csv module; replies follow the SDK."""
import csv
import io
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import numpy as np

from c2hunt import byteranges
from c2hunt.byteranges import factorize_cells, factorize_ranges
from c2hunt.scp.columns import Chunk, Column, RecordSource, decode_mv
from c2hunt.scp.command import Messages, StreamingCommand
from c2hunt.scp.framing import read_chunk
from c2hunt.scp import values
from c2hunt.scp.output import encode_mv
from c2hunt.scp.values import (FixedCells, IntCells, parse_decimal_bytes, parse_decimal_ranges,
                               to_float)
from c2hunt.scp.options import OptionError
from c2hunt_offline import scp_driver

cell_text = st.text(alphabet=st.sampled_from(list('ab,"\n $;é✓\r')), max_size=12)
records = st.lists(st.fixed_dictionaries({
    "a": cell_text, "b": st.one_of(cell_text, st.lists(cell_text, min_size=2, max_size=3)),
    "c": cell_text}), max_size=12)


@settings(max_examples=150, deadline=None)
@given(records)
def test_columns_and_pass_through_match_csv_module(recs):
    body = scp_driver.encode_records(recs, fields=["a", "b", "c"]) if recs else b""
    chunk = Chunk(body)
    assert chunk.n_rows == len(recs)
    for name in ("a", "b", "c"):
        column = chunk.column(name)
        for row, record in enumerate(recs):
            value = record[name]
            expected = value if isinstance(value, list) else ([value] if value != "" else [])
            assert column.items(row) == expected
    out = chunk.with_fields([("n", [str(i) for i in range(len(recs))]),
                             ("m", [["x", "y,z"] if i % 2 else None for i in range(len(recs))])])
    decoded, _ = scp_driver.decode_records(out)
    assert len(decoded) == len(recs)
    for row, (before, after) in enumerate(zip(recs, decoded)):
        for name in ("a", "b", "c"):
            value = before[name]
            assert after.get(name, "") == value or after.get(name) == value
        assert after["n"] == str(row)
        assert after.get("m") == (["x", "y,z"] if row % 2 else None)


def test_fast_path_and_fallback_agree():
    recs = [{"a": "1", "b": 'q"uote', "c": "x,y"}, {"a": "2", "b": "line\nbreak", "c": ""}]
    body = scp_driver.encode_records(recs)
    fast = Chunk(body)
    slow = Chunk(b"")
    slow.body = body
    slow._parse_csv()   # the csv module's reading, used when the fast parse does not apply
    assert fast._fast and not slow._fast
    for name in "abc":
        assert fast.column(name).values == slow.column(name).values


def test_existing_output_field_is_replaced_not_duplicated():
    body = scp_driver.encode_records([{"a": "1", "n": "old"}])
    out = Chunk(body).with_fields([("n", ["new"])])
    header = out.split(b"\n", 1)[0].decode().split(",")
    assert header.count("n") == 1
    assert scp_driver.decode_records(out)[0] == [{"a": "1", "n": "new"}]


def test_ragged_rows_follow_splunklib_zip():
    chunk = Chunk(b"a,b\n1\n2,3,4\n")
    assert chunk.column("a").values == ["1", "2"]
    assert chunk.column("b").values == ["", "3"]


def test_mv_round_trip():
    assert decode_mv(encode_mv(["a$b", "", "c"])) == ["a$b", "", "c"]
    assert Column.from_records([{"x": ["p", "q"]}, {}], "x").items(0) == ["p", "q"]


def test_messages_first_then_total():
    messages = Messages()
    messages.count("WARN", "k", 2, "%d bad")
    assert messages.take() == [["WARN", "2 bad"]]
    messages.count("WARN", "k", 3, "%d bad")
    assert messages.take() == []
    messages.finish()
    assert messages.take() == [["WARN", "5 bad (total for this search)"]]


class Upper(StreamingCommand):
    name = "upper"

    def configure(self, args):
        if args and args[0] == "bad=1":
            raise OptionError("upper: unknown option bad=1")
        if args and args[0] == "boom":
            raise KeyError("boom")
        self.input_fields = ("x",)

    def compute(self, source, n_rows):
        values = source.column("x").values
        if values and values[0] == "crash":
            raise ValueError("crash requested")
        return [("X", [value.upper() for value in values])]


def serve(args, chunks):
    stdin = io.BytesIO(scp_driver.encode_chunk(scp_driver.getinfo_metadata(args, "/tmp"))
                       + b"".join(chunks))
    stdout = io.BytesIO()
    status = Upper().serve(stdin, stdout)
    stdout.seek(0)
    replies = []
    while True:
        reply = read_chunk(stdout)
        if reply is None:
            return status, replies
        replies.append(reply)


def test_serve_getinfo_execute_and_finished():
    chunks = scp_driver.execute_chunks([{"x": "a"}, {"x": "b"}], chunk_size=1)
    status, replies = serve([], chunks)
    assert status == 0
    assert [meta for meta, _ in replies] == [{"type": "streaming"}, {"finished": False},
                                             {"finished": True}]
    assert scp_driver.decode_records(replies[2][1])[0] == [{"x": "b", "X": "B"}]


def test_bad_option_reports_error_in_getinfo_reply_and_exits_1():
    status, replies = serve(["bad=1"], scp_driver.execute_chunks([{"x": "a"}]))
    assert status == 1
    assert replies == [({"type": "streaming", "inspector": {"messages": [
        ["ERROR", "upper: unknown option bad=1"]]}}, b"")]


def test_unexpected_errors_are_reported_like_the_sdk():
    status, replies = serve(["boom"], [])
    assert status == 1 and replies[0][0]["inspector"]["messages"][0][1].startswith("KeyError at ")
    status, replies = serve([], scp_driver.execute_chunks([{"x": "crash"}]))
    assert status == 1
    meta = replies[-1][0]
    assert meta["finished"] is True
    assert meta["inspector"]["messages"][0][1].startswith('ValueError at "')


def test_empty_and_header_only_chunks_give_empty_bodies():
    status, replies = serve([], [scp_driver.encode_chunk({"action": "execute", "finished": False}),
                                 scp_driver.encode_chunk({"action": "execute", "finished": True},
                                                         b"x,__mv_x\n")])
    assert status == 0 and [body for _, body in replies[1:]] == [b"", b""]


def test_wrong_first_action_is_an_error():
    stdin = io.BytesIO(scp_driver.encode_chunk({"action": "execute", "finished": True}))
    stdout = io.BytesIO()
    assert Upper().serve(stdin, stdout) == 1
    stdout.seek(0)
    meta, _ = read_chunk(stdout)
    assert meta["finished"] is True and "expected the getinfo action" in meta["inspector"]["messages"][0][1]


# ------------------------------------------------------------------ vectorised cell work

def _flat(texts):
    raw = [text.encode("utf-8") for text in texts]
    offsets = np.concatenate(([0], np.cumsum([len(item) for item in raw]))).astype(np.int64)
    return np.frombuffer(b"".join(raw), dtype=np.uint8), offsets


number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10 ** 18, 10 ** 18).map(str),
    st.from_regex(r"-?[0-9]{0,17}(\.[0-9]{0,17})?", fullmatch=True),
    st.text(alphabet=st.sampled_from(list("0123456789.-+e _a ")), max_size=8))


@settings(max_examples=300, deadline=None)
@given(st.lists(number_text, max_size=30))
def test_parse_decimal_bytes_agrees_with_to_float(texts):
    values, handled = parse_decimal_bytes(*_flat(texts))
    expected, _ = to_float(texts)
    for text, value, done, want in zip(texts, values, handled, expected):
        if done:  # what it parses it parses exactly as float(); the rest is left alone
            assert (value == want and np.signbit(value) == np.signbit(want)) or \
                (np.isnan(value) and text == "")
        else:
            assert np.isnan(value)


def test_parse_decimal_bytes_leaves_odd_numbers_to_float():
    texts = ["1e3", " 5", "+7", "nan", "1_000", "1.", ".5", "1234567890123456", "-", "12"]
    _, handled = parse_decimal_bytes(*_flat(texts))
    assert handled.tolist() == [False] * 9 + [True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=64),
                          st.integers(-10 ** 6, 10 ** 6).map(float)), max_size=30),
       st.sampled_from([0, 3, 4]))
def test_cells_encode_as_the_per_value_formatting(values, decimals):
    cells = FixedCells(values, decimals)
    encoded = cells.encoded()
    texts = cells.texts()
    if encoded is None:  # beyond 2**52 after scaling: written from texts()
        assert np.nanmax(np.abs(values)) >= 2.0 ** 52 / 10 ** decimals
        return
    chars, present = encoded
    for row, text in enumerate(texts):
        assert bytes(chars[row][present[row]]).decode() == (text or "")
    whole = IntCells([value for value in values if value == value and abs(value) < 1e15])
    chars, present = whole.encoded() if whole.encoded() is not None else (None, None)
    if chars is not None:
        assert [bytes(c[p]).decode() for c, p in zip(chars, present)] == whole.texts()


@pytest.mark.parametrize("decimals", [0, 3, 4])
def test_columns_encode_from_the_text_table_as_per_value(decimals):
    # Cells at most twice as many as the largest scaled number take the table path; every
    # row of the largest table is checked against the per-value formatting, edges and NaN
    # included, then a short column of the same numbers (the per-cell path).
    limit = values._TABLE_LIMIT / 10 ** decimals
    rng = np.random.default_rng(decimals)
    column = np.concatenate((
        np.arange(-values._TABLE_LIMIT, values._TABLE_LIMIT + 1) / 10 ** decimals,
        rng.uniform(-limit, limit, 5000), [np.nan, -0.0, -0.00001, 0.00005, limit, -limit]))
    for cells in (column, column[::1000]):
        chars, present = FixedCells(cells, decimals).encoded()
        texts = values.format_fixed(cells, decimals)
        assert [bytes(c[p]).decode() for c, p in zip(chars, present)] == \
            [t or "" for t in texts]
        whole = np.rint(cells)
        chars, present = IntCells(whole).encoded()
        assert [bytes(c[p]).decode() for c, p in zip(chars, present)] == \
            [t or "" for t in values.format_int(whole)]
    assert values._TEXT_TABLES[decimals][0] == values._TABLE_LIMIT


def test_int_cells_leave_fractions_to_format_int():
    assert IntCells([1.5, 2.0]).encoded() is None       # "%d" truncates: per-value path
    assert IntCells([1.5, 2.0]).texts() == ["1", "2"]


def test_factorize_cells_groups_equal_bytes_only():
    texts = ["a", "b", "a", "", "a\x00", "b", "é"]
    ids, first = factorize_cells(*_flat(texts))
    assert len(set(ids.tolist())) == 5
    assert [texts[first[i]] for i in ids] == texts


# Cells that differ only in their length, a NUL, or a byte past the first 8-byte word.
_NEAR_CELLS = [b"", b"\x00", b"\x00\x00", b"abcdefgh", b"abcdefgh\x00", b"abcdefghi",
               b"abcdefghj", b"abcdefghijklmnopq", b"abcdefghijklmnopr"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=20), st.sampled_from(_NEAR_CELLS)),
                min_size=1, max_size=30), st.booleans())
def test_factorize_ranges_reads_cells_in_place(cells, colliding):
    # Cells laid out with gaps in one buffer, the last one ending the buffer (its 8-byte
    # words run past the end). With a degenerate hash every same-length cell collides and
    # the exact sort decides.
    buffer, starts = b"", []
    for cell in cells:
        buffer += b"\xff"
        starts.append(len(buffer))
        buffer += cell
    data = np.frombuffer(buffer, dtype=np.uint8)
    lengths = np.array([len(cell) for cell in cells], dtype=np.int64)
    saved = byteranges._HASH_MULTIPLIER
    try:
        if colliding:
            byteranges._HASH_MULTIPLIER = np.uint64(0)
        ids, first = factorize_ranges(data, np.array(starts, dtype=np.int64), lengths)
    finally:
        byteranges._HASH_MULTIPLIER = saved
    assert [cells[first[i]] for i in ids] == cells              # same id: same bytes
    assert len(first) == len(set(cells))                        # different bytes: new id
    assert [ids[i] for i in first] == list(range(len(first)))


def test_factorize_ranges_refuses_cells_over_max_width():
    data = np.frombuffer(b"x" * 600, dtype=np.uint8)
    assert factorize_ranges(data, np.array([0]), np.array([600])) == (None, None)


def test_parse_decimal_ranges_reads_numbers_in_place():
    data = np.frombuffer(b'"12.5",-3,"1""2",7', dtype=np.uint8)
    parsed, handled = parse_decimal_ranges(data, np.array([1, 7, 11, 17]),
                                           np.array([4, 2, 4, 1]))
    assert parsed[[0, 1, 3]].tolist() == [12.5, -3.0, 7.0]
    assert handled.tolist() == [True, True, False, True]         # 1""2: for to_float


def test_group_keys_fast_and_record_paths_agree():
    records = [{"s": "x", "d": "1"}, {"s": "y,z", "d": "1"}, {"s": "x", "d": "2"},
               {"s": "", "d": "1"}, {"s": "x", "d": "1"}, {"s": ["m", "n"], "d": "1"}]
    chunk = Chunk(scp_driver.encode_records(records))
    assert chunk._fast
    def row_keys(result):
        rows, key_index, distinct, key_values, first_rows = result
        keys = [tuple(distinct[field][key_values[key, field]] for field in range(2))
                for key in key_index.tolist()]
        firsts = sorted(first_rows.tolist())
        return rows.tolist(), keys, firsts

    fast = row_keys(chunk.group_keys(["s", "d"]))
    slow = row_keys(RecordSource(records).group_keys(["s", "d"]))
    assert fast == slow
    assert fast[0] == [0, 1, 2, 4, 5] and fast[2] == [0, 1, 2, 5]
    assert fast[1] == [("x", "1"), ("y,z", "1"), ("x", "2"), ("x", "1"), ("m\nn", "1")]
    display = chunk.display_cells(["s"], [1, 5])
    assert [scp_driver.decode_records(b"s,__mv_s\n" + cells + b"\n")[0][0]["s"]
            for cells in display] == ["y,z", ["m", "n"]]


def test_malformed_quotes_fall_back_to_csv_module():
    body = b'a,b\nx"y,1\n"p"q,2\n'
    chunk = Chunk(body)
    assert not chunk._fast
    assert chunk.column("a").values == list(next(zip(*list(csv.reader(io.StringIO(
        body.decode(), newline="")))[1:])))


def test_numbers_mark_multivalue_and_text_bad():
    records = [{"n": "5"}, {"n": ["1", "2"]}, {"n": "abc"}, {"n": ""}, {"n": "1e2"}]
    values, bad = Chunk(scp_driver.encode_records(records)).numbers("n")
    assert values[0] == 5 and values[4] == 100 and np.isnan(values[1:4]).all()
    assert bad.tolist() == [False, True, True, False, False]
    ref_values, ref_bad = RecordSource(records).numbers("n")
    assert np.array_equal(values, ref_values, equal_nan=True) and (bad == ref_bad).all()


def test_c2beacon_group_ids_switch_to_a_dict_mid_search(monkeypatch):
    import c2beacon
    rng = np.random.default_rng(3)
    records = [{"_time": "%d" % (1000 + 60 * i + int(rng.integers(0, 5))), "src": "s%d" % (i % 9),
                "dest": "d%d" % (i % 4)} for i in range(400)]
    chunks = [Chunk(scp_driver.encode_records(records[start:start + 50]))
              for start in range(0, 400, 50)]

    def run():
        command = c2beacon.C2Beacon()
        command.configure(["src", "dest", "min_count=3"])
        for chunk in chunks:
            command.ingest(chunk, chunk.n_rows)
        return command.results(), command.results_body(), command._group_dict is not None

    packed = run()
    monkeypatch.setattr(c2beacon, "_ID_BITS", 3)   # ids outgrow 3 bits after a few chunks
    switched = run()
    assert not packed[2] and switched[2]
    assert packed[:2] == switched[:2]
    fields, rows = packed[0]
    assert len(rows) == 36 and [row[:2] for row in rows] == sorted(row[:2] for row in rows)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_widen_pipes_enlarges_pipes_and_leaves_other_streams_alone():
    import fcntl
    import os
    from c2hunt.scp.framing import widen_pipes
    read_end, write_end = os.pipe()
    get_pipe_size = getattr(fcntl, "F_GETPIPE_SZ", 1032)
    with open(read_end, "rb") as reader, open(write_end, "wb") as writer:
        before = fcntl.fcntl(read_end, get_pipe_size)
        widen_pipes(reader, writer, io.BytesIO(), sys.stderr)   # no error for non-pipes
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        assert fcntl.fcntl(read_end, get_pipe_size) == max(before, min(1 << 20, limit))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list('ab,"\n')), max_size=14), max_size=6),
       st.booleans())
def test_any_body_reads_as_the_csv_module_reads_it(lines, header_quoted):
    # Arbitrary bytes after a header: rows too short or too long, stray quotes, quoted
    # newlines, a missing final newline. Whatever path the chunk takes, its columns are
    # the csv module's.
    header = '"a,x",b,c' if header_quoted else "a,b,c"
    body = (header + "\n" + "\n".join(lines)).encode()
    fast = Chunk(body)
    slow = Chunk(b"")
    slow.body = body
    slow._parse_csv()
    assert fast.n_rows == slow.n_rows
    for name in slow.header:
        assert fast.column(name).values == slow.column(name).values


@pytest.mark.parametrize("base", range(8))
def test_words_at_reads_little_endian_words_at_any_alignment(base):
    # The buffer starts at every alignment; positions cover both ends of it.
    rng = np.random.default_rng(base)
    raw = rng.integers(0, 256, 300, dtype=np.uint8)
    data = raw[base:]
    middle = rng.integers(8, len(data) - 16, 200)     # read from whole aligned words
    anywhere = np.concatenate((np.arange(len(data)), middle))
    for positions in (middle, anywhere):
        remaining = rng.integers(-3, 12, len(positions))
        words = byteranges.words_at(data, positions, remaining)
        for position, left, word in zip(positions.tolist(), remaining.tolist(), words.tolist()):
            piece = data[position:position + max(0, min(left, 8))].tobytes()
            assert word == int.from_bytes(piece, "little")


@pytest.mark.parametrize("leading", [[b"a,", b'"x,y",$x$;$y$', b"c,"], [b"", b"", b""]])
@pytest.mark.parametrize("counts", [[3.0, float("nan"), 12.0], [1.5, 2.0, float("nan")]])
def test_records_body_reads_back_as_the_records(leading, counts):
    # Whole records from each one's leading cells and Cells columns: encodable cells take
    # the matrix path, a fractional count (IntCells cannot encode it) the per-value path;
    # with no leading cells the record starts with the first new cell.
    from c2hunt.scp.output import records_body
    by_fields = ["src"] if any(leading) else []
    cells = [FixedCells([0.25, np.nan, -3.0], 4), IntCells(counts),
             FixedCells([np.nan] * 3, 3), FixedCells([1700000000.125, 1e9, 12.5], 3)]
    body = records_body(by_fields + ["score", "count", "period", "first"], leading, cells)
    assert isinstance(body, bytes)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    leading_cells = [next(csv.reader([cell.decode()])) if cell else [] for cell in leading]
    want = [[part for name in by_fields + ["score", "count", "period", "first"]
             for part in (name, "__mv_" + name)]]
    for row, first in enumerate(leading_cells):
        new = [column.texts()[row] or "" for column in cells]
        want.append(first + [part for value in new for part in (value, "")])
    assert rows == want


@pytest.mark.parametrize("decimals", [0, 3, 4])
def test_long_whole_parts_encode_as_per_value(decimals):
    # Whole parts of 5 to 16 digits are written 4 digits a lookup: every limb boundary,
    # epoch times, negatives and the largest exact value, beside the per-value formatting.
    edges = [10.0 ** k + d for k in range(4, 16) for d in (-1, 0, 1)]
    column = np.array(edges + [-e for e in edges] + [1700000000.125, 1700000000.0005,
                                                     -1699999999.9995, np.nan, 0.0, 7.5])
    column = column[np.abs(column) < 2.0 ** 52 / 10 ** decimals]
    chars, present = FixedCells(column, decimals).encoded()
    assert [bytes(c[p]).decode() for c, p in zip(chars, present)] == \
        [t or "" for t in values.format_fixed(column, decimals)]


@pytest.mark.parametrize("size", [0, 1, 7, 5000])
def test_first_ids_number_keys_as_unique(size):
    keys = np.random.default_rng(size).integers(-50, 50, size) * (1 << 40)
    ids, first = byteranges.first_ids(keys)
    _, want_first, want_ids = np.unique(keys, return_index=True, return_inverse=True)
    assert np.array_equal(ids, want_ids.ravel()) and np.array_equal(first, want_first)


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, 4])
def test_small_text_tables_padded_to_words_encode_as_per_value(decimals, monkeypatch):
    # A fresh table sized to a small column: its rows are padded to 2, 4 or 8 bytes (read
    # as words); the padding is never part of a cell.
    monkeypatch.setattr(values, "_TEXT_TABLES", {})
    column = np.concatenate((np.arange(-60, 61) / 10 ** decimals, [np.nan]))
    chars, present = FixedCells(column, decimals).encoded()
    assert chars.shape[1] in (2, 4, 8)
    assert [bytes(c[p]).decode() for c, p in zip(chars, present)] == \
        [t or "" for t in values.format_fixed(column, decimals)]


def test_whole_numbers_of_up_to_8_digits_parse_a_word_at_a_time():
    # Every length 1..8 with each byte position holding a digit's neighbours ('/' and ':'
    # bracket '0'-'9'), NUL, a sign or a dot: only all-digit cells are parsed by words; the
    # others stay for the per-character pass or to_float. Cells sit at the buffer's ends too.
    texts = []
    for length in range(1, 9):
        texts.append("9" * length)
        texts.append("0" * (length - 1) + "7")
        for position in range(length):
            for odd in "/:\x00-.":
                texts.append("5" * position + odd + "5" * (length - position - 1))
    for order in (texts, texts[::-1]):
        flat, offsets = _flat(order)
        lengths = np.diff(offsets)
        parsed, handled = np.full(len(order), np.nan), np.zeros(len(order), dtype=bool)
        left = values._parse_whole_words(flat, offsets[:-1], lengths, np.arange(len(order)),
                                         parsed, handled)
        assert sorted(left.tolist()) == [i for i, text in enumerate(order) if not text.isdigit()]
        assert all(parsed[i] == int(text) for i, text in enumerate(order) if text.isdigit())
        values_, handled = parse_decimal_bytes(flat, offsets)
        expected, _ = to_float(order)
        assert all(value == want for value, done, want in zip(values_, handled, expected) if done)
    flat, offsets = _flat(["12", "x", "345"])
    assert parse_decimal_bytes(flat, offsets)[0][[0, 2]].tolist() == [12.0, 345.0]


@pytest.mark.parametrize("odd", [b"\xff", b"\xff\xfe\xc0\xc1"])
def test_display_cells_keep_any_bytes(odd):
    # Rows are split at a byte none of the cells holds; cells holding every candidate
    # byte are joined row by row instead. Either way the cells come back as they came in.
    chunk = Chunk(b"s,__mv_s,n\na" + odd + b",,1\nb,,2\n\"c,d\",\"$c,d$;$e$\",3\n")
    assert chunk._fast
    assert chunk.display_cells(["s"], np.array([0, 2, 1])) == \
        [b"a" + odd + b",", b'"c,d","$c,d$;$e$"', b"b,"]


def test_driver_reads_reply_bodies_into_one_buffer():
    # The benchmark's splunkd stand-in: bodies land in a reused, growing buffer and their
    # sizes stand for them; a body cut short is an error, as on the keeping path.
    stream = io.BytesIO(scp_driver.encode_chunk({"a": 1}, b"0123456789")
                        + scp_driver.encode_chunk({}, b"xyz"))
    buffer = bytearray(4)
    assert scp_driver.read_chunk(stream, buffer) == ({"a": 1}, 10)
    assert bytes(buffer[:10]) == b"0123456789"
    assert scp_driver.read_chunk(stream, buffer) == ({}, 3) and bytes(buffer[:3]) == b"xyz"
    assert scp_driver.read_chunk(stream, buffer) is None
    cut = io.BytesIO(scp_driver.encode_chunk({}, b"0123456789")[:-2])
    with pytest.raises(ValueError, match="8 of 10"):
        scp_driver.read_chunk(cut, bytearray())
