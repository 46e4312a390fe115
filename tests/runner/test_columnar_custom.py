"""The custom commands run in process on columns give exactly what the protocol path gives.

The reference is :meth:`Runner.run_custom`: ``bin/<command>.py`` in a child process, fed
search command protocol v2 chunks. :func:`run_custom_in_process` imports the same command
class and feeds it polars columns. Compared here on the frame each gives (``frame_from_rows``
of the protocol's decoded records against the in-process frame: same columns in the same
order, same dtypes, same values, same row order), the job inspector messages and the error
texts: on the input every saved search hands these commands on every scenario of samples/
and on the scale benchmark's generated Zeek workload, on seeded fuzzed rows (bad numbers,
multivalue, empty and missing fields, huge values, unicode, CSV-hostile text), on inputs
past one protocol chunk, and on bad arguments.
"""
import copy
import random
import sys
from pathlib import Path

import polars as pl
import pytest

from c2hunt_offline.columnar.custom import run_custom_in_process
from c2hunt_offline.columnar.table import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.values import SplError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCENARIOS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())

_PROTOCOL = {}   # (name, args, repr(rows)) -> (records, messages, error): one child per input
_COMPARED = set()
_REFERENCE = Runner.run_custom  # the protocol path (the hunts below spy on Runner.run_custom)


@pytest.fixture(scope="module")
def runner():
    return Runner(str(ROOT))


def _protocol(runner, name, args, rows):
    key = (name, args, repr(rows))
    if key not in _PROTOCOL:
        ctx = _Context(runner, [])
        try:
            records = _REFERENCE(runner, ctx, name, args, rows)
            _PROTOCOL[key] = (copy.deepcopy(records), list(ctx.messages), None)
        except SplError as exc:
            _PROTOCOL[key] = (None, None, str(exc))
    return key, _PROTOCOL[key]


def compare(runner, name, args, rows):
    """Assert both paths agree on ``rows``; returns the protocol's frame (or error text)."""
    key, (records, messages, error) = _protocol(runner, name, args, rows)
    frame = frame_from_rows(rows)
    ctx = _Context(runner, [])
    if error is not None:
        with pytest.raises(SplError) as raised:
            run_custom_in_process(ctx, name, args, frame)
        assert str(raised.value) == error
        assert ctx.messages == []
        return error
    expected = frame_from_rows(records)
    got = run_custom_in_process(ctx, name, args, frame)
    where = "%s %s over %d rows" % (name, args, len(rows))
    assert got.columns == expected.columns, where
    assert got.dtypes == expected.dtypes, where
    assert got.height == expected.height, where
    assert rows_from_frame(got) == rows_from_frame(expected), where
    assert ctx.messages == messages, where
    return expected


def _hunt_and_compare(runner, monkeypatch, paths):
    """Hunt ``paths`` on the row engine, each custom command's input captured, then both
    paths compared on every distinct input; returns how many inputs had rows."""
    monkeypatch.setenv("C2HUNT_ENGINE", "memo")  # the row engine calls Runner.run_custom
    captured = []

    def spy(self, ctx, name, args, rows):
        rows = [dict(row) for row in rows]
        _, (records, messages, error) = _protocol(self, name, args, rows)
        captured.append((name, args, rows))
        if error is not None:
            raise SplError(error)
        ctx.messages.extend(messages)
        return copy.deepcopy(records)

    monkeypatch.setattr(Runner, "run_custom", spy)
    hunter = Runner(str(ROOT))
    events, _ = hunter.read_files([str(p) for p in paths])
    _, errors = hunter.hunt(events)
    monkeypatch.setattr(Runner, "run_custom", _REFERENCE)
    assert not errors
    assert captured, "no saved search ran a custom command"
    with_rows = 0
    for name, args, rows in captured:
        key = (name, args, repr(rows))
        with_rows += bool(rows)
        if key not in _COMPARED:
            _COMPARED.add(key)
            compare(runner, name, args, rows)
    return with_rows


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_saved_search_inputs_of_every_scenario(scenario, runner, monkeypatch):
    _hunt_and_compare(runner, monkeypatch, [SAMPLES / scenario])


def test_saved_search_inputs_of_the_generated_zeek_workload(runner, monkeypatch, tmp_path):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path), 6000, hosts=300, n_beacons=3)
    assert _hunt_and_compare(runner, monkeypatch, paths) >= 3  # c2asym, c2entropy, c2beacon fed


# ------------------------------------------------------------------ fuzzed rows

_TEXTS = ["", " ", "0", "-0", "12", " 12 ", "12.50", "-3.25", "1e5", "1E-3", "+7", "0x10", "1_000",
          "nan", "inf", "-inf", "1e400", "١٢", "-", ".", "5.", ".5", "99999999999999999999",
          "123456789012345678", "abc", "é漢字", "a\U0001F600b", 'say "hi"', "a,b", "a\r\nb", "line\nbreak",
          "$a$;$b$", "$", "tab\tx", "x" * 3000, "aGVsbG8gd29ybGQ=", "deadbeef00ff", "zz==",
          "www.example.com", "a1b2c3d4e5f6a7b8c9d0.t.example.net", "xn--bcher-kva.example",
          "host.local", "1.2.3.4.in-addr.arpa", "a..b.com", ".", "com", "EXAMPLE.co.uk.",
          "lbl-" + "q" * 70 + ".evil.org"]


def _value(rng):
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_TEXTS)
    if roll < 0.55:
        return rng.choice([0, 1, -5, 1023, 1024, 65535, 10 ** 9, 2 ** 52 + 1, 1700000000,
                           1700000000 + rng.randrange(86400)])
    if roll < 0.7:
        return rng.choice([0.5, -0.0, 1e-7, 123.456, 1e15 + 0.5, 1e16, 1e300, 1.1e10,
                           1700000000.25 + rng.randrange(1000), float(rng.randrange(10 ** 6))])
    if roll < 0.85:
        return [rng.choice(_TEXTS) for _ in range(rng.choice([2, 2, 3]))]
    return None


def _series_token(rng):
    roll = rng.random()
    if roll < 0.7:
        return "%d:%d:%d" % (1700000000 + rng.randrange(0, 7200, 60), rng.randrange(1, 4),
                             rng.randrange(100, 900))
    return rng.choice(["", "x", "1:2:3:4:5", "1700000000", "1700000000:0", "99999999999:1",
                       "1700000100:1::2.5", "1700000000:1.5"])


def fuzz_rows(seed, n_rows=160):
    rng = random.Random(seed)
    rows = []
    for _ in range(n_rows):
        row = {}
        for name in ("bytes_out", "bytes_in", "query", "src", "dest", "pcr", "_time"):
            if rng.random() < 0.8:
                value = _value(rng)
                if value is not None:
                    row[name] = value
        if rng.random() < 0.5:  # beacon-like rows: few groups, plausible times
            row["src"] = rng.choice(["10.0.0.1", "10.0.0.2", ["10.0.0.3", "10.0.0.4"], "ß"])
            row["_time"] = 1700000000 + rng.randrange(0, 7200, 60) + rng.random()
            row["bytes_out"] = str(rng.randrange(100, 200))
        if rng.random() < 0.4:
            tokens = [_series_token(rng) for _ in range(rng.randrange(1, 5))]
            row["series"] = tokens[0] if len(tokens) == 1 else tokens
        rows.append(row)
    rows.append({})  # a record without fields
    return rows


FUZZ_ARGS = [
    ("c2asym", ""), ("c2asym", "threshold=0.5 min_bytes=0"), ("c2asym", "out=query in=src"),
    ("c2entropy", "field=query"), ("c2entropy", "field=query mode=dns"),
    ("c2entropy", "field=query decode=auto"), ("c2entropy", "field=query decode=hex"),
    ("c2entropy", "field=query field=src decode=base64 prefix=p_"), ("c2entropy", "field=nothing"),
    ("c2entropy", "field=src mode=dns field=query"),
    ("c2beacon", "src"), ("c2beacon", "src dest"), ("c2beacon", ""), ("c2beacon", "by src"),
    ("c2beacon", "series=series src"), ("c2beacon", "time=bytes_out size=bytes_in src min_count=3"),
    ("c2beacon", "src min_count=3 window=600 evidence_span=60"),
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name,args", FUZZ_ARGS)
def test_fuzzed_rows(name, args, seed, runner):
    compare(runner, name, args, fuzz_rows(seed))


def test_fuzzed_rows_of_one_kind_each(runner):
    """Columns of one dtype each (String, Float64, List): the paths that do not go through
    the mixed-column conversion."""
    rng = random.Random(5)
    rows = [{"bytes_out": float(rng.randrange(0, 5000)) + rng.choice([0, 0.5]),
             "bytes_in": rng.choice(["10", "2000", " 7", "x"]),
             "query": rng.choice([["a.example.com", "bb.example.com"], ["c.example.org", ""]]),
             "src": rng.choice(["h1", "h2"]), "_time": 1700000000 + 60 * i} for i, _ in enumerate(range(300))]
    frame = frame_from_rows(rows)
    assert frame.schema["bytes_out"] == pl.Float64 and isinstance(frame.schema["query"], pl.List)
    for name, args in [("c2asym", ""), ("c2entropy", "field=query"), ("c2entropy", "field=query mode=dns"),
                       ("c2beacon", "src"), ("c2beacon", "query src")]:
        compare(runner, name, args, rows)


def test_empty_input(runner):
    for name, args in [("c2asym", ""), ("c2entropy", "field=query"), ("c2beacon", "src")]:
        compare(runner, name, args, [])


# ------------------------------------------------------------------ chunking, errors, isolation


def test_more_than_one_protocol_chunk(runner):
    """Messages are per chunk with a total at the end; a chunk whose records hold no field
    is lost, as the protocol path loses it."""
    rng = random.Random(3)
    rows = [{"bytes_out": rng.choice(["500", "x", "2000", ["1", "2"]]) if i % 997 == 0 else str(i % 5000),
             "bytes_in": str(i % 300), "src": "10.0.%d.%d" % (i % 3, i % 7),
             "query": "%x.example.com" % i, "_time": 1700000000 + i // 3} for i in range(60000)]
    compare(runner, "c2asym", "", rows)
    _, (_, messages, _) = _protocol(runner, "c2asym", "", rows)
    assert any(text.endswith("(total for this search)") for text in messages)  # per chunk, then total
    compare(runner, "c2beacon", "src min_count=3", rows)
    compare(runner, "c2entropy", "field=query mode=dns", rows)
    hollow = [{}] * 50000 + [{"bytes_out": "5000", "bytes_in": "1"}] * 10
    assert compare(runner, "c2asym", "", hollow).height == 10


BAD_ARGS = [("c2asym", "threshold=2"), ("c2asym", "threshold=abc"), ("c2asym", "bogus=1"),
            ("c2asym", "out="), ("c2entropy", ""), ("c2entropy", "field=q mode=dns decode=hex"),
            ("c2entropy", "field=q mode=nope"), ("c2entropy", 'field="unterminated'),
            ("c2beacon", "min_count=1 src"), ("c2beacon", "max_events=0 src"),
            ("c2beacon", "window=-5 src"), ("c2beacon", "max_events=2 src")]


@pytest.mark.parametrize("name,args", BAD_ARGS)
def test_bad_arguments_and_deliberate_stops(name, args, runner):
    rows = [{"src": "a", "_time": 1700000000 + i, "bytes_out": "5"} for i in range(5)]
    result = compare(runner, name, args, rows)
    assert isinstance(result, str)  # every one of these is an error on both paths


def test_protocol_forced_by_environment(runner, monkeypatch):
    monkeypatch.setenv("C2HUNT_COMMANDS", "protocol")
    with pytest.raises(NotColumnar):
        run_custom_in_process(_Context(runner, []), "c2asym", "", frame_from_rows([{"bytes_out": "1"}]))


def test_sys_path_is_left_as_it_was(runner):
    before = list(sys.path)
    run_custom_in_process(_Context(runner, []), "c2entropy", "field=q mode=dns",
                          frame_from_rows([{"q": "a.example.com"}]))
    assert before == list(sys.path)


def test_undeclared_command(runner):
    with pytest.raises(SplError, match="not declared in default/commands.conf"):
        run_custom_in_process(_Context(runner, []), "c2nothing", "", frame_from_rows([{"a": "1"}]))


def test_mixed_boolean_column_is_left_to_the_protocol_path(runner):
    frame = pl.DataFrame({"bytes_out": pl.Series([True, False])})
    with pytest.raises(NotColumnar):
        run_custom_in_process(_Context(runner, []), "c2asym", "", frame)


def test_commands_under_another_interpreter_stay_in_their_process(tmp_path):
    other = Runner(str(ROOT), python=str(tmp_path / "python3"))
    with pytest.raises(NotColumnar):
        run_custom_in_process(_Context(other, []), "c2asym", "", frame_from_rows([{"bytes_out": "1"}]))


def test_another_apps_commands_go_through_the_protocol(tmp_path):
    """Its bin/ holds another c2hunt package, which cannot share the name with the one loaded."""
    import shutil
    app = tmp_path / "app"
    for folder in ("default", "bin", "lookups"):
        shutil.copytree(ROOT / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__", "lib"))
    import c2hunt  # the repository's bin/ (pythonpath), as a hunt over this repository loads it
    assert Path(c2hunt.__file__).resolve().is_relative_to(ROOT / "bin")
    with pytest.raises(NotColumnar):
        run_custom_in_process(_Context(Runner(str(app)), []), "c2asym", "", frame_from_rows([{"bytes_out": "1"}]))


# ------------------------------------------------------------------ numbers as the records carry them

def test_number_texts_are_to_str_of_each_number():
    """Fractions written by the eval kernel's "%.15g" where it is certain (fixed notation), the
    rest by Python: to_str of every value, on
    columns of short decimals, of microsecond event times, of any magnitude, and on the edges."""
    import numpy as np

    from c2hunt_offline.columnar.expressions import _g15, number_texts
    from c2hunt_offline.values import to_str

    rng = np.random.default_rng(17)
    n = 40000
    places = rng.integers(0, 12, n)
    edges = [0.1 + 0.2, 1e-4, 9.99999999999999e-5, 9.999999999999999e14, 999999999999999.9, 0.99999999999999995,
             0.000123456789012345678, 1.00000000000000005, 5e-324, float("inf"), float("-inf"), float("nan"),
             -0.0, 1e16, 1e15 - 0.5, 0.5, -2.5, 123456789012345.6, 12345678901234.56, 1e-5, 2.0 ** 53 + 0.0]
    columns = {
        "short": np.concatenate([np.round(rng.random(n) * 1e4, 4), -np.round(rng.random(n) * 10, 3), edges]),
        "times": np.concatenate([1.7e9 + np.round(rng.random(n) * 1e12) / 1e6, edges]),
        "midpoints": np.concatenate([np.round(rng.random(n) * 1e6, 3) + 0.0005,
                                     np.nextafter(np.round(rng.random(n) * 1e6, 3), np.inf), edges]),
        "wide": np.concatenate([rng.random(n) * 10.0 ** rng.integers(-7, 18, n),
                                np.round(rng.random(n) * 1e6 * 10.0 ** places) / 10.0 ** places, edges]),
    }
    natively = {}
    for name, values in columns.items():
        series = pl.Series(name, values)
        got = number_texts(series).to_list()
        expected = [to_str(v) if v == v else "nan" for v in values.tolist()]
        assert got == expected, name
        natively[name] = _g15(series).is_not_null().sum()
    assert natively["short"] > n and natively["times"] > n * 0.8 and natively["wide"] > n


# ---------------------------------------------------------------- output cells as a column

def test_encoded_cells_become_the_texts_they_encode():
    """A command's encoded output column (bytes back to back, as the reply writer has them)
    becomes the column its texts give, an empty cell no value; a cell that is not UTF-8 gives
    None (the caller then decodes each cell with "replace", as the protocol path does)."""
    import numpy as np
    from c2hunt.scp.values import BytesCells, FixedCells, IntCells
    from c2hunt_offline.columnar.custom import _encoded_strings

    def expected(cells):
        return [text or None for text in cells.texts()]

    words = ["beacon", "", "caf\u00e9", "\U0001F600 x", "a\x00b", "z" * 40, "7"]
    buffer = np.frombuffer("".join(words).encode("utf-8"), dtype=np.uint8)
    ends = np.cumsum([len(w.encode("utf-8")) for w in words])
    starts = np.concatenate([[0], ends[:-1]])
    present = np.array([True, False, True, True, True, True, True])
    for cells in (BytesCells(buffer, starts, ends, present), FixedCells([1.5, np.nan, -0.25, 1e6], 4),
                  IntCells([3, np.nan, -12, 0]), IntCells([])):
        got = _encoded_strings("f", cells, len(cells))
        assert got is not None and got.dtype == pl.String and got.name == "f"
        assert got.to_list() == expected(cells)
    assert _encoded_strings("f", BytesCells(buffer, starts, ends, present), len(words)).to_list()[2] == "caf\u00e9"
    broken = np.frombuffer(b"ok\xff\xfe", dtype=np.uint8)
    assert _encoded_strings("f", BytesCells(broken, np.array([0, 2]), np.array([2, 4]), np.array([True, True])), 2) is None
