"""Sessions and door events as typed Arrow tables, and the Parquet writer (the ``parquet`` extra).

Imported only when a run writes Parquet: pyarrow is not part of the base
install (:mod:`producer.sinks.files` imports this module through
:func:`sim.extras.need`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from producer.sinks.gather import Gathering
from sim.batch import Coded, DoorColumns, SessionColumns
from sim.sensor_stream import SensorColumns

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


def arrow_strings(values: np.ndarray) -> pa.Array:
    """A string column from an object array of str or a fixed-width bytes array.

    A :class:`~sim.batch.Coded` array is built from its few names and its
    codes (``take``), ten times faster than from a million ``str`` objects.
    """
    if isinstance(values, Coded) and values.codes is not None and values.names is not None:
        return pa.array(values.names, pa.string()).take(pa.array(values.codes))
    if values.dtype.kind == "S":
        # The array's own bytes as the text's data (no copy), every ``width`` bytes a
        # string, checked to be UTF-8: ten times faster than converting the array
        # (customer ids: a 36-byte UUID each), and six times faster than a cast from
        # fixed-size binary, which copies.
        width, data = values.dtype.itemsize, pa.py_buffer(np.ascontiguousarray(values))
        if width * len(values) >= 2**31:  # past 32-bit offsets: the cast makes what fits
            return pa.Array.from_buffers(pa.binary(width), len(values), [None, data]).cast(pa.string())
        offsets = pa.py_buffer(np.arange(0, width * (len(values) + 1), width, dtype=np.int32))
        text = pa.Array.from_buffers(pa.string(), len(values), [None, offsets, data])
        text.validate(full=True)
        return text
    return pa.array(values, pa.string())


def session_table(cols: SessionColumns) -> pa.Table:
    """Sessions as an Arrow table with typed columns (UTC timestamps, int32)."""
    n = len(cols)
    return pa.table({
        "event_type": pa.repeat(pa.scalar("foot_traffic", pa.string()), n),
        "customer_id": arrow_strings(cols.customer_id),
        "entry_time": pa.array(cols.entry * 1000, pa.int64()).cast(_TS),
        "exit_time": pa.array(cols.exit * 1000, pa.int64()).cast(_TS),
        "trip_duration_minutes": pa.array(cols.trip_duration_minutes.astype("int32")),
        "weekday": arrow_strings(cols.weekday),
        "time_slot": arrow_strings(cols.time_slot),
        "store_id": arrow_strings(cols.store_id),
        "queue_seconds": pa.array(cols.queue_seconds.astype("int32")),
    }, schema=SESSION_SCHEMA)


def door_arrays(cols: DoorColumns | SensorColumns) -> dict[str, pa.Array]:
    """A door event's columns as Arrow arrays (also the first columns of a sensor's record)."""
    return {
        "event_type": arrow_strings(cols.event_type),
        "time": pa.array(cols.time * 1000, pa.int64()).cast(_TS),
        "weekday": arrow_strings(cols.weekday),
        "time_slot": arrow_strings(cols.time_slot),
        "customer_id": arrow_strings(cols.customer_id),
        "store_id": arrow_strings(cols.store_id),
    }


def door_table(cols: DoorColumns) -> pa.Table:
    return pa.table(door_arrays(cols), schema=DOOR_SCHEMA)


#: Columns with a value per event (almost): a dictionary would only be built to be dropped.
_UNIQUE = frozenset({"customer_id"})


def _dictionary(schema: pa.Schema) -> list[str]:
    """The columns worth dictionary-encoding: those with few distinct values.

    Ids and times are nearly all distinct; trying a dictionary on them cost a
    quarter of the write's CPU and made the files larger.
    """
    return [f.name for f in schema if f.name not in _UNIQUE and not pa.types.is_timestamp(f.type)]


class ParquetWriter(Gathering):
    """Gathers batches into row groups of about ``ROW_GROUP`` rows (:class:`Gathering`).

    A row group per (day-sized) batch would make many small groups: slow to
    write and to read. The buffer bounds memory at one row group. It holds
    the batches' numpy columns, joined and turned into one Arrow table per
    row group: a table per batch cost a dozen Arrow conversions for every
    (maybe small) batch, a third of a year's run to Parquet.

    A row group is joined, turned into a table, encoded and compressed in a
    thread of its own (pyarrow releases the GIL for most of it), while the
    run makes the next one: at most one row group is in flight, so memory
    holds two at most. Its error, if any, is raised by the next write or by
    :meth:`close`.
    """

    ROW_GROUP = 128 * 1024

    def __init__(self, path: Path, to_table: Callable[[Any], pa.Table], schema: pa.Schema) -> None:
        super().__init__(self.ROW_GROUP)
        self._to_table = to_table
        self._writer = pq.ParquetWriter(str(path), schema, compression="zstd", use_dictionary=_dictionary(schema))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
        self._in_flight: Future[None] | None = None

    def _write_parts(self, parts: list[Any]) -> None:
        self._wait()
        self._in_flight = self._pool.submit(super()._write_parts, parts)

    def _write_now(self, cols: Any) -> None:
        self._writer.write_table(self._to_table(cols), row_group_size=len(cols))

    def _wait(self) -> None:
        if self._in_flight is not None:
            done, self._in_flight = self._in_flight, None
            done.result()

    def _close_file(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown()
            self._writer.close()
