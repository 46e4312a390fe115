"""The columnar engine's representation: rows convert to columns and back exactly, and
map_distinct calls its function once per distinct input."""
import polars as pl
import pytest

from c2hunt_offline.columnar import (NotColumnar, frame_from_rows, map_distinct, python_values,
                                     rows_from_frame, series_from_values)

ROWS = [{"a": "x", "n": 1, "m": ["p", "q"], "_time": 1715644800.25},
        {"a": "y", "n": 2.5, "_time": 1715644801.0},
        {"b": "z", "m": "s", "o": [1, "x"], "_time": 1715644802.0},
        {}]


def test_rows_round_trip_exactly():
    frame = frame_from_rows(ROWS)
    assert frame.schema["a"] == pl.String
    assert frame.schema["n"] == pl.Float64
    assert frame.schema["m"] == pl.List(pl.String)
    assert frame.schema["o"] == pl.Object  # multivalue numbers: held as they are
    assert rows_from_frame(frame) == ROWS


@pytest.mark.parametrize("values, dtype", [
    (["1", None, "b"], pl.String),
    ([None, None], pl.String),
    ([1, 2.5, None], pl.Float64),
    (["1", 1], pl.Object),               # a string and a number in one field
    ([2 ** 60, 1], pl.Object),           # an integer a float cannot hold
    ([["a", "b"], "c", None], pl.List(pl.String)),
])
def test_each_kind_of_values_gets_its_column(values, dtype):
    series = series_from_values("f", values)
    assert series.dtype == dtype
    assert python_values(series) == values


def test_integral_numbers_read_back_as_int():
    assert python_values(series_from_values("f", [6.0, 6.5, 2 ** 53 - 1])) == [6, 6.5, 2 ** 53 - 1]
    assert type(python_values(series_from_values("f", [6.0]))[0]) is int


def test_booleans_are_refused():
    with pytest.raises(NotColumnar):
        series_from_values("f", [True, False])


def test_map_distinct_calls_once_per_distinct_input():
    rows = [{"t": "tcp", "p": "443"}, {"t": "udp"}, {"t": "tcp", "p": "443"}, {"p": ["1", "2"]},
            {"t": "udp"}, {"p": ["1", "2"]}]
    seen = []

    def fn(row):
        seen.append(dict(row))
        return "%s/%s" % (row.get("t"), row.get("p"))

    out = map_distinct(frame_from_rows(rows), ["t", "p"], fn, "k")
    assert out.to_list() == ["tcp/443", "udp/None", "tcp/443", "None/['1', '2']", "udp/None",
                             "None/['1', '2']"]
    assert len(seen) == 3
    assert {"p": ["1", "2"]} in seen  # a multivalue input arrives as a list


def test_map_distinct_without_input_fields_is_a_constant():
    frame = frame_from_rows([{"a": "1"}, {"a": "2"}])
    assert map_distinct(frame, ["missing"], lambda row: 5, "k").to_list() == [5.0, 5.0]
    assert map_distinct(frame, [], lambda row: None, "k").to_list() == [None, None]


def test_map_distinct_refuses_mixed_columns():
    frame = frame_from_rows([{"a": "1"}, {"a": 1}])
    with pytest.raises(NotColumnar):
        map_distinct(frame, ["a"], lambda row: 1, "k")
