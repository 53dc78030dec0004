"""File sinks: sessions and door events to JSONL, CSV or Parquet.

A run writes two files in its output folder, named for the Kafka topics the
old pipeline lands: ``foot_traffic.<ext>`` (sessions) and
``foot_traffic_realistic.<ext>`` (door events). Each row carries exactly the
fields of the stream's JSON payload; a JSONL line *is* that payload, byte
for byte. Batches are appended as they come, so memory is bounded by a
batch, not by the run. Files are written under a ``.partial`` name and
renamed when the run completes, so a crashed run never leaves a file that
looks whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from producer.sinks.jsonl import arrow_strings, door_lines, iso_times, session_lines, text_bytes
from sim.batch import Batch, DoorColumns, SessionColumns, concat_columns

FORMATS = ("jsonl", "csv", "parquet")
SESSIONS_NAME = "foot_traffic"
DOORS_NAME = "foot_traffic_realistic"

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


class _Writer(Protocol):
    def write(self, cols: Any) -> None: ...

    def close(self) -> None: ...


def _dtypes(cols: Any) -> tuple[np.dtype, ...]:
    return tuple(getattr(cols, f.name).dtype for f in fields(cols))


class _Gathering:
    """Gathers batches' columns up to about ``ROWS`` rows, then writes them at once.

    Turning columns into text costs a few dozen numpy and Arrow calls
    whatever the number of rows, which day-sized batches (a few thousand
    rows) would pay over and over. The buffer bounds memory at ``ROWS`` rows.
    Only columns of the same dtypes are gathered (concatenating fixed-width
    bytes of two widths, or bytes with str, would change the values).
    """

    ROWS = 64 * 1024

    def __init__(self) -> None:
        self._pending: list[Any] = []
        self._rows = 0

    def write(self, cols: Any) -> None:
        if not len(cols):
            return
        if self._pending and _dtypes(cols) != _dtypes(self._pending[0]):
            self._flush()
        self._pending.append(cols)
        self._rows += len(cols)
        if self._rows >= self.ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._write_now(concat_columns(self._pending))
        self._pending, self._rows = [], 0

    def _write_now(self, cols: Any) -> None:
        raise NotImplementedError

    def _close_file(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._close_file()


class _JsonlWriter(_Gathering):
    """Writes lines built a column at a time by ``to_lines`` (:mod:`producer.sinks.jsonl`):
    no Python call per line."""

    def __init__(self, path: Path, to_lines: Callable[[Any], pa.Array]) -> None:
        super().__init__()
        self._file: IO[bytes] = open(path, "wb")
        self._to_lines = to_lines

    def _write_now(self, cols: Any) -> None:
        self._file.write(text_bytes(self._to_lines(cols)))

    def _close_file(self) -> None:
        self._file.close()


class _CsvWriter(_Gathering):
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


class _ParquetWriter:
    """Gathers batches into row groups of about ``ROW_GROUP`` rows.

    A row group per (day-sized) batch would make many small groups: slow to
    write and to read. The buffer bounds memory at one row group.
    """

    ROW_GROUP = 128 * 1024

    def __init__(self, path: Path, to_table: Callable[[Any], pa.Table], schema: pa.Schema) -> None:
        self._to_table = to_table
        self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")
        self._pending: list[pa.Table] = []
        self._rows = 0

    def write(self, cols: Any) -> None:
        if len(cols):
            self._pending.append(self._to_table(cols))
            self._rows += len(cols)
        if self._rows >= self.ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=self._rows)
        self._pending, self._rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


class FileSink:
    """Writes a run's batches to two files in ``folder``, in one format."""

    def __init__(self, folder: str | Path, fmt: str = "jsonl") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
        self.folder, self.fmt = Path(folder), fmt
        self.folder.mkdir(parents=True, exist_ok=True)
        self.paths = (self.folder / f"{SESSIONS_NAME}.{fmt}", self.folder / f"{DOORS_NAME}.{fmt}")
        self._partial = tuple(p.with_name(p.name + ".partial") for p in self.paths)
        self._sessions = self._open(self._partial[0], session_table, session_csv_table, session_lines,
                                    SESSION_SCHEMA, ("entry_time", "exit_time"))
        self._doors = self._open(self._partial[1], door_table, door_csv_table, door_lines, DOOR_SCHEMA,
                                 ("time",))
        self.rows = [0, 0]

    def _open(
        self, path: Path, typed: Callable[[Any], pa.Table], as_text: Callable[[Any], pa.Table],
        as_lines: Callable[[Any], pa.Array], schema: pa.Schema, times: tuple[str, ...],
    ) -> _Writer:
        if self.fmt == "jsonl":
            return _JsonlWriter(path, as_lines)
        if self.fmt == "csv":
            return _CsvWriter(path, as_text, schema, times)
        return _ParquetWriter(path, typed, schema)

    def write(self, batch: Batch) -> None:
        self._sessions.write(batch.sessions)
        self._doors.write(batch.doors)
        self.rows[0] += len(batch.sessions)
        self.rows[1] += len(batch.doors)

    def close(self) -> tuple[Path, Path]:
        """Finish both files and give them their final names."""
        self._sessions.close()
        self._doors.close()
        for partial, final in zip(self._partial, self.paths):
            os.replace(partial, final)
        return self.paths

    def abort(self) -> None:
        """Close and remove the partial files (the run failed)."""
        for w in (self._sessions, self._doors):
            try:
                w.close()
            except Exception:  # noqa: BLE001 - already failing; keep the first error
                pass
        for partial in self._partial:
            partial.unlink(missing_ok=True)
