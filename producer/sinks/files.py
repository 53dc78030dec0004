"""File sinks: sessions and door events to files, in any format of the registry (:mod:`producer.formats`).

A run writes two files in its output folder, named for the Kafka topics the
old pipeline lands: ``foot_traffic.<ext>`` (sessions) and
``foot_traffic_realistic.<ext>`` (door events). Each row carries exactly the
fields of the stream's JSON payload; a JSONL line *is* that payload, byte
for byte. Batches are appended as they come, so memory is bounded by a
batch, not by the run. Files are written under a ``.partial`` name and
renamed when the run completes, so a crashed run never leaves a file that
looks whole.

How each file is written is its format's business (``formats.get(fmt).writer``):
JSONL and CSV need nothing beyond the base install, Parquet and Avro an extra,
imported only when a run writes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from producer import formats
from producer.formats import Kind, Writer
from sim.batch import Batch

FORMATS = formats.NAMES
SESSIONS_NAME = "foot_traffic"
DOORS_NAME = "foot_traffic_realistic"


def abandon(writers: Iterable[Any], partials: Iterable[Path]) -> None:
    """Close ``writers`` and remove their ``partials`` (a run failed): errors on the way are not the news."""
    for w in writers:
        try:
            w.close()
        except Exception:  # noqa: BLE001 - already failing; keep the first error
            pass
    for partial in partials:
        partial.unlink(missing_ok=True)


class FileSink:
    """Writes a run's batches to two files in ``folder``, in one format."""

    def __init__(self, folder: str | Path, fmt: str = "jsonl", doors_name: str = DOORS_NAME,
                 partition: bool = False) -> None:
        """``doors_name``: the door events' file (with a sensor, the true events' own file);
        ``partition``: the files are partitions of a hive-partitioned data set."""
        formats.get(fmt)  # an unknown format is an error before anything is made
        self.folder, self.fmt, self.partition = Path(folder), fmt, partition
        self.folder.mkdir(parents=True, exist_ok=True)
        self.paths = (self.folder / f"{SESSIONS_NAME}.{fmt}", self.folder / f"{doors_name}.{fmt}")
        self._partial = tuple(p.with_name(p.name + ".partial") for p in self.paths)
        self._sessions = self._open(self._partial[0], "sessions")
        self._doors = self._open(self._partial[1], "doors")
        self.rows = [0, 0]

    def _open(self, path: Path, kind: Kind) -> Writer:
        return formats.get(self.fmt).writer(path, kind, self.partition)

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
        abandon((self._sessions, self._doors), self._partial)
