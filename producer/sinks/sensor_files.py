"""The sensor's files: what the sensor delivered, and its interval counts.

With a sensor (``docs/sensors.md``) ``simulate`` writes, besides the
sessions file,

- ``foot_traffic_realistic.<ext>``: the sensor's records in delivery order
  (``sent_at``), the door event's fields plus ``sent_at`` and ``reading``;
- ``foot_traffic_realistic_true.<ext>``: the true door events, as written
  without a sensor (:class:`~producer.sinks.files.FileSink`);
- ``foot_traffic_counts.<ext>``: ``store_id``, ``interval_start``,
  ``interval_end``, ``in``, ``out`` per store and interval;
- ``foot_traffic_registers.<ext>``: the counter's cumulative registers and
  occupancy estimate at each interval's end (:mod:`sim.counter_feed`):
  ``store_id``, ``interval_start``, ``interval_end``, ``reset_at``,
  ``in_total``, ``out_total``, ``occupancy``.

As for the other files, the format writes them (:mod:`producer.formats`): a
JSONL line is the record's JSON payload, CSV has a quoted header, quoted text
and bare numbers, times as the payload's ISO strings; Parquet has UTC
timestamps in milliseconds. Files are written under
a ``.partial`` name and renamed when the run completes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from producer import formats
from producer.formats import Kind
from producer.sinks.files import abandon
from sim.batch import texts
from sim.counter_feed import RegisterColumns
from sim.events import iso_many
from sim.sensor_stream import CountColumns, SensorColumns
from sim.wire import iso_ms

SENSOR_NAME = "foot_traffic_realistic"
TRUE_DOORS_NAME = "foot_traffic_realistic_true"
COUNTS_NAME = "foot_traffic_counts"
REGISTERS_NAME = "foot_traffic_registers"

SENSOR_COLUMNS = ("event_type", "time", "weekday", "time_slot", "customer_id", "store_id", "sent_at", "reading")
COUNT_COLUMNS = ("store_id", "interval_start", "interval_end", "in", "out")
REGISTER_COLUMNS = ("store_id", "interval_start", "interval_end", "reset_at", "in_total", "out_total", "occupancy")


def _sensor_rows(cols: SensorColumns) -> list[Sequence[object]]:
    return list(zip(cols.event_type.tolist(), iso_many(cols.time), cols.weekday.tolist(), cols.time_slot.tolist(),
                    texts(cols.customer_id), cols.store_id.tolist(), iso_ms(cols.sent_at), cols.reading.tolist(),
                    strict=True))


def _count_rows(cols: CountColumns) -> list[Sequence[object]]:
    return list(zip(cols.store_id.tolist(), iso_many(cols.interval_start), iso_many(cols.interval_end),
                    cols.entries.tolist(), cols.exits.tolist(), strict=True))


def _register_rows(cols: RegisterColumns) -> list[Sequence[object]]:
    return list(zip(cols.store_id.tolist(), iso_many(cols.interval_start), iso_many(cols.interval_end),
                    iso_many(cols.reset_at), cols.in_total.tolist(), cols.out_total.tolist(),
                    cols.occupancy.tolist(), strict=True))


class _Csv:
    def __init__(self, path: Path, header: tuple[str, ...], rows: Callable[[Any], list[Sequence[object]]]) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        self._csv.writerow(header)
        self._rows = rows

    def write(self, cols: Any) -> None:
        self._csv.writerows(self._rows(cols))

    def close(self) -> None:
        self._file.close()


def sensor_csv(path: Path, kind: Kind) -> _Csv:
    """The CSV writer of the sensor's records (``kind`` ``sensor``), its interval counts or its registers."""
    if kind == "sensor":
        return _Csv(path, SENSOR_COLUMNS, _sensor_rows)
    if kind == "registers":
        return _Csv(path, REGISTER_COLUMNS, _register_rows)
    return _Csv(path, COUNT_COLUMNS, _count_rows)


def sensor_table(cols: SensorColumns) -> Any:
    import pyarrow as pa

    from producer.sinks.arrow import door_arrays

    ts = pa.timestamp("ms", tz="UTC")
    return pa.table({
        **door_arrays(cols),  # a record's first columns are a door event's
        "sent_at": pa.array(cols.sent_at, pa.int64()).cast(ts),
        "reading": pa.array(cols.reading.astype("int8")),
    })


def _interval_arrays(cols: CountColumns | RegisterColumns) -> dict[str, Any]:
    """A counter's interval: its store and the interval's start and end (the counts' and registers' first columns)."""
    import pyarrow as pa

    ts = pa.timestamp("ms", tz="UTC")
    return {
        "store_id": pa.array(cols.store_id, pa.string()),
        "interval_start": pa.array(cols.interval_start * 1000, pa.int64()).cast(ts),
        "interval_end": pa.array(cols.interval_end * 1000, pa.int64()).cast(ts),
    }


def count_table(cols: CountColumns) -> Any:
    import pyarrow as pa

    return pa.table({
        **_interval_arrays(cols),
        "in": pa.array(cols.entries, pa.int64()),
        "out": pa.array(cols.exits, pa.int64()),
    })


def register_table(cols: RegisterColumns) -> Any:
    import pyarrow as pa

    ts = pa.timestamp("ms", tz="UTC")
    return pa.table({
        **_interval_arrays(cols),
        "reset_at": pa.array(cols.reset_at * 1000, pa.int64()).cast(ts),
        "in_total": pa.array(cols.in_total, pa.int64()),
        "out_total": pa.array(cols.out_total, pa.int64()),
        "occupancy": pa.array(cols.occupancy, pa.int64()),
    })


#: The sensor's data sets and their kinds, in the order :class:`SensorFileSink` writes them.
SENSOR_FILES: tuple[tuple[str, Kind], ...] = (
    (SENSOR_NAME, "sensor"), (COUNTS_NAME, "counts"), (REGISTERS_NAME, "registers"))


class SensorFileSink:
    """The sensor records' file, the interval counts' file and the registers' file, in one format."""

    def __init__(self, folder: str | Path, fmt: str = "jsonl", partition: bool = False) -> None:
        """``partition``: the files are partitions of a hive-partitioned data set."""
        self.folder, self.fmt, self.partition = Path(folder), fmt, partition
        self.paths = tuple(self.folder / f"{name}.{fmt}" for name, _ in SENSOR_FILES)
        self._partial = tuple(p.with_name(p.name + ".partial") for p in self.paths)
        self.rows = [0] * len(SENSOR_FILES)
        self._writers: list[Any] = []
        for path, (_, kind) in zip(self._partial, SENSOR_FILES, strict=True):
            self._writers.append(self._open(path, kind))

    def _open(self, path: Path, kind: Kind) -> Any:
        return formats.get(self.fmt).writer(path, kind, self.partition)

    def write(self, records: SensorColumns, counts: CountColumns, registers: RegisterColumns) -> None:
        sizes = (len(records), len(counts), len(registers))
        for i, cols in enumerate((records, counts, registers)):
            self._writers[i].write(cols)
            self.rows[i] += sizes[i]

    def close(self) -> tuple[Path, ...]:
        for w in self._writers:
            w.close()
        for partial, final in zip(self._partial, self.paths, strict=True):
            os.replace(partial, final)
        return self.paths

    def abort(self) -> None:
        abandon(self._writers, self._partial)


def empty_counts() -> CountColumns:
    import numpy as np

    none = np.zeros(0, dtype=np.int64)
    return CountColumns(np.zeros(0, dtype=object), none, none, none, none)
