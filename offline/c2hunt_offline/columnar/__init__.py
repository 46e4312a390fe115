"""The columnar engine: searches executed on polars columns, a frame of rows at a time.

:mod:`.table` defines how Splunk values sit in columns; a step that cannot run on columns
raises :class:`~.table.NotColumnar` and the pipeline continues on rows (the row engine).
"""
from .table import (NotColumnar, frame_from_rows, map_distinct, python_values, rows_from_frame,
                    series_from_values)

__all__ = ["NotColumnar", "frame_from_rows", "map_distinct", "python_values", "rows_from_frame",
           "series_from_values"]
