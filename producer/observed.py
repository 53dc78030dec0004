"""Reading observed traffic for ``foot-traffic profile fit``.

Accepted files (by extension): those of every format of the registry
(:mod:`producer.formats`): ``.jsonl``/``.ndjson``, ``.csv``,
``.parquet``/``.pq``, ``.avro``. Two shapes:

- **entries**: one row per customer entry, with a time column: a sessions
  file (``entry_time``), a door-events file (``time``; only rows whose
  ``event_type`` is ``entry`` count) or any table with a ``timestamp``
  column, or the column named by ``--time-column``;
- **hourly counts**: a ``count`` column (or the column named by
  ``--count-column``) and a time column (``hour``, ``time`` or ``timestamp``)
  holding each hour's start. A file without one that looks like counts (every
  time on a whole hour, one row per hour, a numeric column besides the time)
  is refused rather than read as one entry per row.

Times with a UTC offset (``...+00:00``, ``Z``, Parquet timestamps with a zone)
are converted to the store's time zone; times without one are taken as the
store's local wall time already. Durations come from a numeric column
(``trip_duration_minutes`` by default) in minutes; fractions are rounded up
to whole minutes, the simulator's own convention.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from producer import formats

ENTRY_COLUMNS = ("entry_time", "time", "timestamp")
HOUR_COLUMNS = ("hour", "time", "timestamp")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


class ObservedError(ValueError):
    """An observed-data file cannot be read; the message is one line."""


def read_table(path: str | Path, text_columns: tuple[str, ...] = ()) -> pa.Table:
    """A file in any format of the registry (by its suffix) as an Arrow table (``text_columns`` kept as strings)."""
    p = Path(path)
    if not p.is_file():
        raise ObservedError(f"{p}: no such file")
    fmt = formats.for_suffix(p)
    if fmt is None:
        accepted = formats.suffixes()
        raise ObservedError(f"{p}: unknown file type {p.suffix.lower()!r}; expected "
                            f"{', '.join(accepted[:-1])} or {accepted[-1]}")
    fmt.require(f"reading {p.suffix.lower()} files")
    try:
        return fmt.read(p, None, text_columns)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, orjson.JSONDecodeError, ValueError) as exc:
        raise ObservedError(f"{p}: cannot read it ({' '.join(str(exc).split())[:200]})") from None


def _pick(table: pa.Table, given: str | None, candidates: tuple[str, ...], what: str, source: str) -> str:
    if given is not None:
        if given not in table.column_names:
            raise ObservedError(f"--time-column {given!r}: no such column in {source}; it has {table.column_names}")
        return given
    for name in candidates:
        if name in table.column_names:
            return name
    raise ObservedError(
        f"{source}: no {what} column; expected one of {list(candidates)} or --time-column NAME "
        f"(its columns are {table.column_names})"
    )


def local_seconds(
    column: pa.ChunkedArray | pa.Array, timezone: str, name: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Local wall-clock seconds since 1970-01-01 (as if that wall time were UTC), and the
    epoch seconds themselves when the times carry a UTC offset (else None: wall times only)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        raise ObservedError(f"column {name!r}: {arr.null_count} empty times")
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = arr.cast(pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            try:
                arr = arr.cast(pa.timestamp("us"))
            except pa.ArrowInvalid as exc:
                raise ObservedError(
                    f"column {name!r}: not ISO times all with or all without a UTC offset "
                    f"({' '.join(str(exc).split())[:160]})"
                ) from None
    if not pa.types.is_timestamp(arr.type):
        raise ObservedError(f"column {name!r}: type {arr.type} is not a time; expected ISO times or timestamps")
    utc = None
    if arr.type.tz is not None:
        utc = _seconds(arr.cast(pa.timestamp(arr.type.unit, tz="UTC")))
        arr = pc.local_timestamp(arr.cast(pa.timestamp(arr.type.unit, tz=timezone)))
    return _seconds(arr), utc


def _seconds(arr: pa.Array) -> np.ndarray:
    micros = arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.floor_divide(micros, 1_000_000)


def days_and_minutes(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local date ordinals and minutes after local midnight."""
    return seconds // 86_400 + _EPOCH_ORDINAL, (seconds % 86_400) // 60


@dataclass(frozen=True)
class Observed:
    """Observed entries (``weight`` None) or hourly counts, on the local calendar."""

    day: np.ndarray  #: local date ordinals
    minute: np.ndarray  #: minutes after local midnight
    weight: np.ndarray | None  #: hourly counts, or None for one row per entry
    column: str  #: the time column used
    utc: np.ndarray | None = None  #: epoch seconds when the times carried an offset, else None

    def utc_day_span(self) -> tuple[int, int] | None:
        """Whole UTC days from the first entry's to the last one's, in epoch seconds.

        Data exported with UTC times are taken to cover whole UTC days (an
        export "by date"); wall times without an offset give None (whole
        local days, nothing to trim).
        """
        if self.utc is None or self.utc.size == 0:
            return None
        return int(self.utc.min()) // 86_400 * 86_400, (int(self.utc.max()) // 86_400 + 1) * 86_400

    def rows_per_day(self, first: int, last: int) -> np.ndarray:
        """How many rows (hours, for hourly counts) fall on each local day ``first..last``."""
        inside = (self.day >= first) & (self.day <= last)
        return np.bincount(self.day[inside] - first, minlength=last - first + 1)

    @property
    def hourly(self) -> bool:
        return self.weight is not None

    @property
    def total(self) -> float:
        return float(self.day.size if self.weight is None else self.weight.sum())


def _numeric(table: pa.Table, besides: str) -> list[str]:
    return [f.name for f in table.schema if f.name != besides
            and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))]


def _refuse_uncounted(table: pa.Table, name: str, timezone: str, source: str) -> None:
    """Refuse a file that looks like hourly counts (one row per whole hour, a numeric column besides the
    time) but has no count column: read as one entry per row, it would fit 24 entries a day."""
    numeric = _numeric(table, name)
    if not numeric or table.num_rows < 2:
        return
    local, _ = local_seconds(table.column(name), timezone, name)
    if not (local % 3600).any() and np.unique(local).size == local.size:
        raise ObservedError(
            f"{source}: looks like hourly counts (one row per whole hour of {name!r}, numeric {numeric}) "
            "but has no 'count' column; name the counts with --count-column NAME"
        )


def read_observed(
    path: str | Path, timezone: str, time_column: str | None = None, count_column: str | None = None,
) -> Observed:
    """Entries or hourly counts from a file, converted to the store's local calendar."""
    text = tuple(dict.fromkeys((*ENTRY_COLUMNS, *HOUR_COLUMNS, *((time_column,) if time_column else ()))))
    table = read_table(path, text)
    source = str(path)
    if count_column is not None and count_column not in table.column_names:
        raise ObservedError(f"--count-column {count_column!r}: no such column in {source}; it has {table.column_names}")
    count = count_column or ("count" if "count" in table.column_names else None)
    if count is not None:
        return _hourly(table, count, time_column, timezone, source)
    if time_column is None and not any(c in table.column_names for c in ENTRY_COLUMNS) and "hour" in table.column_names:
        _refuse_uncounted(table, "hour", timezone, source)  # hourly times without counts
    name = _pick(table, time_column, ENTRY_COLUMNS, "entry time", source)
    if name == "time" and "event_type" in table.column_names:
        table = table.filter(pc.equal(table.column("event_type"), "entry"))
    if table.num_rows == 0:
        raise ObservedError(f"{source}: no entries")
    _refuse_uncounted(table, name, timezone, source)
    local, utc = local_seconds(table.column(name), timezone, name)
    day, minute = days_and_minutes(local)
    return Observed(day, minute, None, name, utc)


def _hourly(table: pa.Table, count: str, time_column: str | None, timezone: str, source: str) -> Observed:
    """Hourly counts: column ``count`` (whole numbers >= 0) by the hour's start."""
    name = _pick(table, time_column, HOUR_COLUMNS, "hour", source)
    counts = table.column(count).to_numpy(zero_copy_only=False)
    if not np.issubdtype(counts.dtype, np.number) or np.isnan(counts.astype(float)).any() or (counts < 0).any():
        raise ObservedError(f"{source}: column {count!r} must hold whole numbers >= 0")
    local, utc = local_seconds(table.column(name), timezone, name)
    day, minute = days_and_minutes(local)
    if (minute % 60).any():
        raise ObservedError(f"{source}: column {name!r} must hold the start of each hour (minute 00)")
    return Observed(day, minute, counts.astype(float), name, utc)


def read_durations(path: str | Path, column: str = "trip_duration_minutes", required: bool = True) -> np.ndarray | None:
    """Observed visit durations in whole minutes (fractions rounded up)."""
    table = read_table(path)
    if column not in table.column_names:
        if not required:
            return None
        raise ObservedError(f"{path}: no column {column!r} of visit durations in minutes; it has {table.column_names}")
    values = table.column(column).to_numpy(zero_copy_only=False)
    if not np.issubdtype(values.dtype, np.number):
        raise ObservedError(f"{path}: column {column!r} must hold minutes (numbers)")
    values = values.astype(float)
    if np.isnan(values).any() or (values <= 0).any():
        raise ObservedError(f"{path}: column {column!r} must hold durations > 0 minutes, without gaps")
    return np.ceil(values).astype(np.int64)
