"""Where a partitioned run's files go: one partition's path, the ``.partial`` data sets, moving files in.

Shared by the sessions' and door events' partitions (:mod:`producer.partition`)
and the sensor's (:mod:`producer.partition_sensor`), so neither imports the other
for it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

PART_NAME = "part-0000"


def partial_name(dataset: str) -> str:
    return f"{dataset}.partial"


def partition_path(out: str | Path, dataset: str, store_id: str, day: dt.date, fmt: str) -> Path:
    """Where one partition's file goes (under the data set's ``.partial`` folder while a run writes)."""
    return (Path(out) / dataset / f"store_id={quote(store_id, safe='')}" / f"date={day.isoformat()}"
            / f"{PART_NAME}.{fmt}")


def move_to_partitions(paths: Sequence[Path], datasets: Sequence[str], rows: Sequence[int], out: str | Path,
                       store_id: str, date: dt.date, fmt: str) -> None:
    """Move a store's files of one date to their partitions (``.partial`` data sets); drop those with no rows."""
    for path, dataset, count in zip(paths, datasets, rows, strict=True):
        if count == 0:
            path.unlink()
            continue
        target = partition_path(out, partial_name(dataset), store_id, date, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
