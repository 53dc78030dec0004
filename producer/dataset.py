"""Read back a data set written by ``foot-traffic simulate`` (any of its formats and layouts).

Only the columns the report needs are kept, as numpy arrays of epoch seconds
and whole minutes: the sessions' entry times, dwell minutes and store ids, and
the door events' kinds and times. Each format reads its own files
(:mod:`producer.formats`); times in JSONL and CSV are the wire format's ISO
strings with an explicit offset, parsed by Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from producer import formats
from producer.formats.read import read_path
from producer.run_folder import NotThisRun, check_belongs, recorded_format
from producer.sinks.files import DOORS_NAME, FORMATS, SESSIONS_NAME
from producer.sinks.sensor_files import COUNTS_NAME, TRUE_DOORS_NAME


class DatasetError(ValueError):
    """The folder holds no readable data set; the message is one line."""


@dataclass(frozen=True)
class Dataset:
    """A data set's sessions and door events, as arrays."""

    fmt: str
    entry: np.ndarray  #: session entry times, epoch seconds (int64)
    minutes: np.ndarray  #: session dwell, whole minutes (int64)
    store_id: np.ndarray  #: session store ids (object)
    door_kind: np.ndarray  #: "entry" / "exit", or "turned_away" / "gave_up" when written (object)
    door_time: np.ndarray  #: door event times, epoch seconds (int64)
    door_store: np.ndarray  #: door event store ids (object)
    #: With a sensor: the interval counts' ends (epoch seconds), ins and outs, one row per store and interval.
    counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


_SESSION_COLUMNS = {"entry_time": pa.string(), "trip_duration_minutes": pa.int64(), "store_id": pa.string()}
_DOOR_COLUMNS = {"event_type": pa.string(), "time": pa.string(), "store_id": pa.string()}
_COUNT_COLUMNS = {"interval_end": pa.string(), "in": pa.int64(), "out": pa.int64()}


def _partitioned_formats(folder: Path) -> list[str]:
    """Formats of the partitioned data sets in ``folder`` (``simulate --partition`` or on Dask)."""
    if not ((folder / SESSIONS_NAME).is_dir() and (folder / DOORS_NAME).is_dir()):
        return []
    return [f for f in FORMATS if next((folder / SESSIONS_NAME).glob(f"*/*/*.{f}"), None) is not None]


def find_format(folder: Path) -> str:
    """The one format whose two files (or two partitioned data sets) are both in ``folder``."""
    found = [f for f in FORMATS
             if (folder / f"{SESSIONS_NAME}.{f}").is_file() and (folder / f"{DOORS_NAME}.{f}").is_file()]
    found += [f for f in _partitioned_formats(folder) if f not in found]
    if not found:
        raise DatasetError(
            f"{folder}: no data set found; expected {SESSIONS_NAME}.<ext> and {DOORS_NAME}.<ext> "
            f"with <ext> one of {', '.join(FORMATS)} (written by 'foot-traffic simulate')"
        )
    if len(found) > 1:
        raise DatasetError(f"{folder}: data sets in several formats ({', '.join(found)}); pass --format")
    return found[0]


def _read(path: Path, fmt: str, columns: dict[str, pa.DataType]) -> pa.Table:
    """A file or a partitioned data set in format ``fmt``, as a table of ``columns`` (:mod:`producer.formats`)."""
    return read_path(formats.get(fmt), path, columns)


def _epochs(column: pa.ChunkedArray) -> np.ndarray:
    if not pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("s", tz="UTC"))
    return column.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class DataFiles:
    """Where a data set's sessions, (true) door events and interval counts are: files or partitioned folders."""

    fmt: str
    sessions: Path
    doors: Path
    counts: Path | None  #: None without a sensor


def data_files(folder: str | Path, fmt: str | None = None) -> DataFiles:
    """Locate ``folder``'s files (``fmt`` found when not given); a run with a sensor reads its true doors."""
    path = Path(folder)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder")
    fmt = fmt or recorded_format(path) or find_format(path)
    try:
        check_belongs(path, fmt)  # a folder holds one run: never another run's files under this run.json
    except NotThisRun as exc:
        raise DatasetError(str(exc)) from None
    sessions_path, doors_path = path / f"{SESSIONS_NAME}.{fmt}", path / f"{DOORS_NAME}.{fmt}"
    if not sessions_path.is_file() and fmt in _partitioned_formats(path):
        sessions_path, doors_path = path / SESSIONS_NAME, path / DOORS_NAME
    counts_path = path / f"{COUNTS_NAME}.{fmt}"
    if (path / f"{TRUE_DOORS_NAME}.{fmt}").is_file():  # a run with a sensor: the truth has its own file
        doors_path = path / f"{TRUE_DOORS_NAME}.{fmt}"
    elif sessions_path.is_dir() and (path / TRUE_DOORS_NAME).is_dir():  # the same, partitioned
        doors_path, counts_path = path / TRUE_DOORS_NAME, path / COUNTS_NAME
    return DataFiles(fmt, sessions_path, doors_path, counts_path if counts_path.exists() else None)


def read_dataset(folder: str | Path, fmt: str | None = None) -> Dataset:
    """Read ``folder``'s sessions and door events (``fmt`` found when not given)."""
    path = Path(folder)
    files = data_files(path, fmt)
    fmt, sessions_path, doors_path, counts_path = files.fmt, files.sessions, files.doors, files.counts
    try:
        sessions = _read(sessions_path, fmt, _SESSION_COLUMNS)
        doors = _read(doors_path, fmt, _DOOR_COLUMNS)
        entry = _epochs(sessions.column("entry_time"))
        door_time = _epochs(doors.column("time"))
        counts = _read_counts(counts_path, fmt) if counts_path is not None else None
    except FileNotFoundError as exc:
        raise DatasetError(f"{exc.filename}: not found") from None
    except (pa.ArrowException, KeyError) as exc:
        raise DatasetError(f"{path}: cannot read the {fmt} files ({' '.join(str(exc).split())})") from None
    return Dataset(
        fmt=fmt,
        entry=entry.astype(np.int64),
        minutes=sessions.column("trip_duration_minutes").to_numpy(zero_copy_only=False).astype(np.int64),
        store_id=sessions.column("store_id").to_numpy(zero_copy_only=False).astype(object),
        door_kind=doors.column("event_type").to_numpy(zero_copy_only=False).astype(object),
        door_time=door_time.astype(np.int64),
        door_store=doors.column("store_id").to_numpy(zero_copy_only=False).astype(object),
        counts=counts,
    )


def _read_counts(path: Path, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The interval counts file: each row's interval end, in and out."""
    table = _read(path, fmt, _COUNT_COLUMNS)
    return (_epochs(table.column("interval_end")).astype(np.int64),
            table.column("in").to_numpy(zero_copy_only=False).astype(np.int64),
            table.column("out").to_numpy(zero_copy_only=False).astype(np.int64))
