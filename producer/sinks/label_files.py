"""The labels' file: ``foot_traffic_labels.<ext>``, every scenario that happened (:mod:`sim.labels`).

One row per label: ``store_id``, ``kind``, ``start``, ``end``, ``parameters``
(a JSON object as text), ``effect`` and ``expected``. As for the other files,
the format writes it (:mod:`producer.formats`): a JSONL line is the label's
JSON, CSV has a quoted header, quoted text and bare numbers, times as ISO
strings (UTC); Parquet and Avro have UTC timestamps in milliseconds.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

from sim.labels import LABEL_COLUMNS, LabelColumns

LABELS_NAME = "foot_traffic_labels"


class LabelCsv:
    """The labels as CSV, with the standard library (a run has few of them)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        self._csv.writerow(LABEL_COLUMNS)

    def write(self, cols: LabelColumns) -> None:
        self._csv.writerows(cols.rows())

    def close(self) -> None:
        self._file.close()


def label_table(cols: LabelColumns) -> Any:
    """The labels as an Arrow table (Parquet)."""
    import pyarrow as pa

    ts = pa.timestamp("ms", tz="UTC")
    return pa.table({
        "store_id": pa.array(cols.store_id, pa.string()),
        "kind": pa.array(cols.kind, pa.string()),
        "start": pa.array(cols.start * 1000, pa.int64()).cast(ts),
        "end": pa.array(cols.end * 1000, pa.int64()).cast(ts),
        "parameters": pa.array(cols.parameters, pa.string()),
        "effect": pa.array(cols.effect, pa.string()),
        "expected": pa.array(cols.expected, pa.float64()),
    })
