"""Sessions and door events to CSV with the standard library (no pyarrow in the base install).

The bytes are those Arrow's CSV writer gave for the same columns, so files
written before and after the change are identical: a header of quoted
names, text quoted (a quote inside doubled), numbers bare, ``\\n`` line
ends, UTF-8. Times are the ISO strings of the JSON payload.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from sim.batch import DoorColumns, SessionColumns, texts
from sim.events import iso_many

SESSION_COLUMNS = ("event_type", "customer_id", "entry_time", "exit_time", "trip_duration_minutes",
                   "weekday", "time_slot", "store_id", "queue_seconds")
DOOR_COLUMNS = ("event_type", "time", "weekday", "time_slot", "customer_id", "store_id")


class _CsvFile:
    def __init__(self, path: Path, header: tuple[str, ...]) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")
        # QUOTE_NONNUMERIC quotes every str and leaves ints bare, as Arrow's "needed" style does.
        self._csv = csv.writer(self._file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        self._csv.writerow(header)

    def close(self) -> None:
        self._file.close()


class SessionCsvWriter(_CsvFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SESSION_COLUMNS)

    def write(self, cols: SessionColumns) -> None:
        n = len(cols)
        if n:
            self._csv.writerows(zip(
                ["foot_traffic"] * n, texts(cols.customer_id), iso_many(cols.entry), iso_many(cols.exit),
                cols.trip_duration_minutes.tolist(), texts(cols.weekday), texts(cols.time_slot),
                texts(cols.store_id), cols.queue_seconds.tolist(), strict=True,
            ))


class DoorCsvWriter(_CsvFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path, DOOR_COLUMNS)

    def write(self, cols: DoorColumns) -> None:
        if len(cols):
            self._csv.writerows(zip(
                texts(cols.event_type), iso_many(cols.time), texts(cols.weekday),
                texts(cols.time_slot), texts(cols.customer_id), texts(cols.store_id), strict=True,
            ))
