"""Where a partitioned run's files go: one partition's path, the ``.partial`` data sets, moving files in,
and a task's files of each UTC date, open until the date is done.

Shared by the sessions' and door events' partitions (:mod:`producer.partition`)
and the sensor's (:mod:`producer.partition_sensor`), so neither imports the other
for it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
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


class StagingSink(Protocol):
    """A file sink writing a date's files in a staging folder of its own (the run's or the sensor's sink)."""

    folder: Path
    rows: list[int]

    def write(self, *columns: Any) -> None: ...

    def close(self) -> Sequence[Path]: ...

    def abort(self) -> None: ...


class DayFiles:
    """One store's rows of one UTC date, through ``sink`` (the format's partition files) in a staging folder.

    When the date is done its files are moved to their partitions in
    ``datasets`` (a file with no rows is dropped); an aborted date leaves
    nothing behind.
    """

    def __init__(self, sink: StagingSink, datasets: Sequence[str], out: str | Path, store_id: str, day: int,
                 fmt: str) -> None:
        self.sink, self.datasets, self.out, self.store_id, self.fmt = sink, datasets, out, store_id, fmt
        self.date = dt.date(1970, 1, 1) + dt.timedelta(days=day)

    def write(self, *columns: Any) -> None:
        self.sink.write(*columns)

    def finish(self) -> list[int]:
        paths = self.sink.close()
        move_to_partitions(paths, self.datasets, self.sink.rows, self.out, self.store_id, self.date, self.fmt)
        self.sink.folder.rmdir()
        return list(self.sink.rows)

    def abort(self) -> None:
        self.sink.abort()
        shutil.rmtree(self.sink.folder, ignore_errors=True)


class OpenDays:
    """A task's :class:`DayFiles` by UTC date (epoch days): opened on first use, each finished when done.

    ``rows`` adds up the rows of the finished dates, per file. A subclass
    says how a date's files are made (:meth:`_open_day`) and when a date is
    done (it calls :meth:`_finish_before`).
    """

    def __init__(self, files: int = 2) -> None:
        self.open: dict[int, DayFiles] = {}
        self.rows = [0] * files

    def _open_day(self, day: int) -> DayFiles:
        raise NotImplementedError

    def _day(self, day: int) -> DayFiles:
        part = self.open.get(day)
        if part is None:
            part = self.open[day] = self._open_day(day)
        return part

    def _finish_before(self, limit: int) -> None:
        """Finish every open date before ``limit`` (epoch days)."""
        for day in [d for d in self.open if d < limit]:
            self._finish(day)

    def _finish(self, day: int) -> None:
        rows = self.open.pop(day).finish()
        self.rows = [a + b for a, b in zip(self.rows, rows, strict=True)]

    def close(self) -> None:
        for day in sorted(self.open):
            self._finish(day)

    def abort(self) -> None:
        for part in self.open.values():
            part.abort()
        self.open.clear()
