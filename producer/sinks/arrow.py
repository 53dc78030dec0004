"""Sessions and door events as typed Arrow tables, and the Parquet writer (the ``parquet`` extra).

Imported only when a run writes Parquet: pyarrow is not part of the base
install (:mod:`producer.sinks.files` imports this module through
:func:`sim.extras.need`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from producer.sinks.gather import Gathering
from sim.batch import Coded, DoorColumns, SessionColumns, concat_columns, concat_strings
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


#: The text columns of few values (kinds, labels, store ids) as a Parquet row group gets them.
_CODED = pa.dictionary(pa.int32(), pa.string())
_FEW = frozenset({"event_type", "weekday", "time_slot", "store_id"})


def _coded_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, _CODED) if f.name in _FEW else f for f in schema])


#: The schemas of a row group of sessions and of door events (:func:`session_row_group`, :func:`door_row_group`).
SESSION_ROW_GROUP = _coded_schema(SESSION_SCHEMA)
DOOR_ROW_GROUP = _coded_schema(DOOR_SCHEMA)


def _joined(parts: Sequence[Any], name: str) -> np.ndarray:
    return np.concatenate([getattr(p, name) for p in parts])


def _few(parts: Sequence[Any], name: str) -> pa.DictionaryArray:
    """A text column of few values, joined from ``parts``, as an Arrow dictionary.

    Made from the parts' codes where they are :class:`~sim.batch.Coded` by the
    same names: no string is copied, hashed or compared (the Parquet writer
    writes the codes as they are, and its statistics look at the few names).
    Other columns (the SimPy model's strings) are dictionary-encoded. Either
    way the dictionary is the values used, sorted: the same column gives the
    same dictionary whichever engine made it, so the same file bytes.
    """
    columns = [getattr(p, name) for p in parts]
    names = getattr(columns[0], "names", None)
    if names is not None and all(isinstance(c, Coded) and c.codes is not None and c.names is names for c in columns):
        codes, values = np.concatenate([c.codes for c in columns]), names
    else:
        encoded = arrow_strings(concat_strings(columns)).dictionary_encode()
        codes, values = encoded.indices.to_numpy(), np.array(encoded.dictionary.to_pylist(), dtype=object)
    used = np.flatnonzero(np.bincount(codes, minlength=len(values)))
    text, position = np.unique(values[used], return_inverse=True)  # names may repeat (two stores' slot labels)
    renumber = np.zeros(len(values), dtype=np.int32)
    renumber[used] = position
    # safe=False: the codes index the dictionary by construction (checking them cost a fifth of this function)
    return pa.DictionaryArray.from_arrays(pa.array(renumber[codes]), pa.array(text, pa.string()), safe=False)


def _constant(text: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string()), safe=False)


def session_row_group(parts: Sequence[SessionColumns]) -> pa.Table:
    """Gathered sessions as one Parquet row group's table: :func:`session_table`'s, its text
    columns of few values as dictionaries (read back, the same table)."""
    entry, exit_ = _joined(parts, "entry"), _joined(parts, "exit")
    return pa.table({
        "event_type": _constant("foot_traffic", len(entry)),
        "customer_id": arrow_strings(_joined(parts, "customer_id")),
        "entry_time": pa.array(entry * 1000, pa.int64()).cast(_TS),
        "exit_time": pa.array(exit_ * 1000, pa.int64()).cast(_TS),
        "trip_duration_minutes": pa.array(((exit_ - entry) // 60).astype("int32")),
        "weekday": _few(parts, "weekday"),
        "time_slot": _few(parts, "time_slot"),
        "store_id": _few(parts, "store_id"),
        "queue_seconds": pa.array(_joined(parts, "queue_seconds").astype("int32")),
    }, schema=SESSION_ROW_GROUP)


def door_row_group(parts: Sequence[DoorColumns]) -> pa.Table:
    """Gathered door events as one Parquet row group's table (as :func:`session_row_group`)."""
    return pa.table({
        "event_type": _few(parts, "event_type"),
        "time": pa.array(_joined(parts, "time") * 1000, pa.int64()).cast(_TS),
        "weekday": _few(parts, "weekday"),
        "time_slot": _few(parts, "time_slot"),
        "customer_id": arrow_strings(_joined(parts, "customer_id")),
        "store_id": _few(parts, "store_id"),
    }, schema=DOOR_ROW_GROUP)


def joined(to_table: Callable[[Any], pa.Table]) -> Callable[[Sequence[Any]], pa.Table]:
    """A row group's table from the gathered parts, by ``to_table`` of the parts joined."""
    def row_group(parts: Sequence[Any]) -> pa.Table:
        return to_table(concat_columns(parts))
    return row_group


class ParquetWriter(Gathering):
    """Gathers batches into row groups of about ``ROW_GROUP`` rows (:class:`Gathering`).

    A row group per (day-sized) batch would make many small groups: slow to
    write and to read. The buffer bounds memory at one row group. It holds
    the batches' numpy columns; ``to_table`` makes one Arrow table of them
    per row group: a table per batch cost a dozen Arrow conversions for every
    (maybe small) batch, a third of a year's run to Parquet.

    A row group's table is made in the run's thread (a few dozen numpy and
    Arrow calls), then encoded and compressed in a thread of its own while
    the run makes the next one. That thread runs only ``write_table``, which
    holds no GIL from start to end: on a busy machine two threads trading
    the GIL (the join and the conversions ran there too) cost more wall time
    than the overlap gained. At most one row group is in flight, so memory
    holds two at most. Its error, if any, is raised by the next write or by
    :meth:`close`.

    A schema with dictionary columns (:data:`SESSION_ROW_GROUP`) is not
    stored in the file: read back, its columns have the types of Parquet's
    own (plain strings), those of the table a reader expects.
    """

    ROW_GROUP = 128 * 1024

    def __init__(self, path: Path, to_table: Callable[[Sequence[Any]], pa.Table], schema: pa.Schema) -> None:
        """``to_table`` makes a row group's table of the gathered parts (:func:`joined` of a table of one)."""
        super().__init__(self.ROW_GROUP)
        self._to_table = to_table
        self._writer = pq.ParquetWriter(str(path), schema, compression="zstd", use_dictionary=_dictionary(schema),
                                        store_schema=not any(pa.types.is_dictionary(f.type) for f in schema))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
        self._in_flight: Future[None] | None = None

    def _write_parts(self, parts: list[Any]) -> None:
        table = self._to_table(parts)
        self._wait()
        self._in_flight = self._pool.submit(self._writer.write_table, table, row_group_size=len(table))

    def _write_now(self, cols: Any) -> None:
        self._write_parts([cols])

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
