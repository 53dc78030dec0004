"""The sensor's files: what the sensor delivered, and its interval counts.

With a sensor (``docs/sensors.md``) ``simulate`` writes, besides the
sessions file,

- ``foot_traffic_realistic.<ext>``: the sensor's records in delivery order
  (``sent_at``), the door event's fields plus ``sent_at`` and ``reading``;
- ``foot_traffic_realistic_true.<ext>``: the true door events, as written
  without a sensor (:class:`~producer.sinks.files.FileSink`);
- ``foot_traffic_counts.<ext>``: ``store_id``, ``interval_start``,
  ``interval_end``, ``in``, ``out`` per store and interval.

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
from sim.events import iso_many
from sim.sensor_stream import CountColumns, SensorColumns
from sim.wire import iso_ms

SENSOR_NAME = "foot_traffic_realistic"
TRUE_DOORS_NAME = "foot_traffic_realistic_true"
COUNTS_NAME = "foot_traffic_counts"

SENSOR_COLUMNS = ("event_type", "time", "weekday", "time_slot", "customer_id", "store_id", "sent_at", "reading")
COUNT_COLUMNS = ("store_id", "interval_start", "interval_end", "in", "out")


def _sensor_rows(cols: SensorColumns) -> list[Sequence[object]]:
    return list(zip(cols.event_type.tolist(), iso_many(cols.time), cols.weekday.tolist(), cols.time_slot.tolist(),
                    texts(cols.customer_id), cols.store_id.tolist(), iso_ms(cols.sent_at), cols.reading.tolist(),
                    strict=True))


def _count_rows(cols: CountColumns) -> list[Sequence[object]]:
    return list(zip(cols.store_id.tolist(), iso_many(cols.interval_start), iso_many(cols.interval_end),
                    cols.entries.tolist(), cols.exits.tolist(), strict=True))


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
    """The CSV writer of the sensor's records (``kind`` ``sensor``) or of its interval counts."""
    if kind == "sensor":
        return _Csv(path, SENSOR_COLUMNS, _sensor_rows)
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


def count_table(cols: CountColumns) -> Any:
    import pyarrow as pa

    ts = pa.timestamp("ms", tz="UTC")
    return pa.table({
        "store_id": pa.array(cols.store_id, pa.string()),
        "interval_start": pa.array(cols.interval_start * 1000, pa.int64()).cast(ts),
        "interval_end": pa.array(cols.interval_end * 1000, pa.int64()).cast(ts),
        "in": pa.array(cols.entries, pa.int64()),
        "out": pa.array(cols.exits, pa.int64()),
    })


class SensorFileSink:
    """The sensor records' file and the interval counts' file, in one format."""

    def __init__(self, folder: str | Path, fmt: str = "jsonl", partition: bool = False) -> None:
        """``partition``: the files are partitions of a hive-partitioned data set."""
        self.folder, self.fmt, self.partition = Path(folder), fmt, partition
        self.paths = (self.folder / f"{SENSOR_NAME}.{fmt}", self.folder / f"{COUNTS_NAME}.{fmt}")
        self._partial = tuple(p.with_name(p.name + ".partial") for p in self.paths)
        self.rows = [0, 0]
        self._writers: list[Any] = []
        self._writers.append(self._open(self._partial[0], "sensor"))
        self._writers.append(self._open(self._partial[1], "counts"))

    def _open(self, path: Path, kind: Kind) -> Any:
        return formats.get(self.fmt).writer(path, kind, self.partition)

    def write(self, records: SensorColumns, counts: CountColumns) -> None:
        self._writers[0].write(records)
        self._writers[1].write(counts)
        self.rows[0] += len(records)
        self.rows[1] += len(counts)

    def close(self) -> tuple[Path, Path]:
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
