"""CSV through Arrow, where pyarrow is installed: the same bytes as :mod:`producer.sinks.csv_text`, faster.

Times are the JSON's ISO strings, built a column at a time
(:func:`producer.sinks.jsonl.iso_times`); Arrow's CSV writer quotes and
joins. The base install (no pyarrow) writes CSV with the standard library
instead; ``tests/test_base_install.py`` checks the two agree byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from producer.sinks.arrow import door_table, session_table
from producer.sinks.gather import Gathering
from producer.sinks.jsonl import iso_times
from sim.batch import DoorColumns, SessionColumns


def _iso_columns(table: pa.Table, columns: tuple[str, ...], epochs: list[Any]) -> pa.Table:
    """Replace timestamp columns with the ISO strings the JSON carries."""
    for name, values in zip(columns, epochs):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, iso_times(values))
    return table


def session_csv_table(cols: SessionColumns) -> pa.Table:
    return _iso_columns(session_table(cols), ("entry_time", "exit_time"), [cols.entry, cols.exit])


def door_csv_table(cols: DoorColumns) -> pa.Table:
    return _iso_columns(door_table(cols), ("time",), [cols.time])


class CsvWriter(Gathering):
    """Writes Arrow tables (``to_table``: times as the JSON's ISO strings) with Arrow's CSV writer."""

    def __init__(self, path: Path, to_table: Callable[[Any], pa.Table], schema: pa.Schema,
                 times: tuple[str, ...]) -> None:
        super().__init__()
        self._to_table = to_table
        fields_ = [pa.field(f.name, pa.string() if f.name in times else f.type) for f in schema]
        self._writer = pacsv.CSVWriter(str(path), pa.schema(fields_))

    def _write_now(self, cols: Any) -> None:
        self._writer.write_table(self._to_table(cols))

    def _close_file(self) -> None:
        self._writer.close()
