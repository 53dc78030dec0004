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

from producer.sinks.jsonl import _Gathering, arrow_strings, iso_times
from sim.batch import DoorColumns, SessionColumns

#: Parquet has no seconds unit; milliseconds is what Spark and pandas read natively.
_TS = pa.timestamp("ms", tz="UTC")

SESSION_SCHEMA = pa.schema([
    ("event_type", pa.string()),
    ("customer_id", pa.string()),
    ("entry_time", _TS),
    ("exit_time", _TS),
    ("trip_duration_minutes", pa.int32()),
    ("weekday", pa.string()),
    ("time_slot", pa.string()),
    ("store_id", pa.string()),
    ("queue_seconds", pa.int32()),
])

DOOR_SCHEMA = pa.schema([
    ("event_type", pa.string()),
    ("time", _TS),
    ("weekday", pa.string()),
    ("time_slot", pa.string()),
    ("customer_id", pa.string()),
    ("store_id", pa.string()),
])


def session_table(cols: SessionColumns) -> pa.Table:
    """Sessions as an Arrow table with typed columns (UTC timestamps, int32)."""
    n = len(cols)
    return pa.table({
        "event_type": pa.array(["foot_traffic"] * n, pa.string()),
        "customer_id": arrow_strings(cols.customer_id),
        "entry_time": pa.array(cols.entry * 1000, pa.int64()).cast(_TS),
        "exit_time": pa.array(cols.exit * 1000, pa.int64()).cast(_TS),
        "trip_duration_minutes": pa.array(cols.trip_duration_minutes.astype("int32")),
        "weekday": arrow_strings(cols.weekday),
        "time_slot": arrow_strings(cols.time_slot),
        "store_id": arrow_strings(cols.store_id),
        "queue_seconds": pa.array(cols.queue_seconds.astype("int32")),
    }, schema=SESSION_SCHEMA)


def door_table(cols: DoorColumns) -> pa.Table:
    return pa.table({
        "event_type": arrow_strings(cols.event_type),
        "time": pa.array(cols.time * 1000, pa.int64()).cast(_TS),
        "weekday": arrow_strings(cols.weekday),
        "time_slot": arrow_strings(cols.time_slot),
        "customer_id": arrow_strings(cols.customer_id),
        "store_id": arrow_strings(cols.store_id),
    }, schema=DOOR_SCHEMA)


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


class CsvWriter(_Gathering):
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
