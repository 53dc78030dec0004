"""The report's counts, aggregated where the data are (DuckDB over the files), never event by event in Python.

A chain's run has tens or hundreds of millions of events; the report needs
only counts per store and short stretch of time. DuckDB scans the files that
:func:`producer.dataset.data_files` locates (one file or a partitioned data
set, in any format) and returns, per store:

- entries (sessions), door entries and exits, turned away and gave up, per
  **bin** of ``bin_seconds`` on a UTC grid anchored at the run's start
  (15 minutes, or less when a profile's slots start off the quarter hour):
  every local hour, day and slot of every store is a whole number of bins
  (time zones are whole quarter hours away from UTC), so the local views are
  sums of bins, exact;
- visits per whole minute of dwell;
- with a sensor, its interval counts' ins and outs per interval end.

Memory grows with stores x bins, not with events: DuckDB streams the files
and keeps one counter per group. What each query reads is asked of the format
(:mod:`producer.report_scan`): its own DuckDB scan, or, for a format DuckDB
does not read (Avro), the table the format registry reads, held in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from producer import formats
from producer.dataset import DataFiles, DatasetError
from producer.report_scan import Scans

#: The widest bin: a quarter hour.
MAX_BIN = 900


@dataclass
class Counts:
    """Per store (rows, in ``stores`` order) and bin (columns): the events that fell in each bin."""

    stores: tuple[str, ...]
    anchor: int  #: epoch seconds of bin 0's start
    bin_seconds: int
    n_bins: int
    entries: np.ndarray  #: sessions by entry time, int64 [store, bin]
    door_in: np.ndarray  #: door events "entry"
    door_out: np.ndarray  #: door events "exit" (an exit after the span's end is not counted)
    turned_away: np.ndarray
    gave_up: np.ndarray
    dwell: np.ndarray  #: visits per whole minute of dwell, int64 [store, minute]
    #: With a sensor: per store, (interval end epoch seconds, ins, outs), ordered by interval end.
    sensor: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def bin_starts(self) -> np.ndarray:
        return self.anchor + self.bin_seconds * np.arange(self.n_bins, dtype=np.int64)


def bin_width(slot_starts_minutes: list[int]) -> int:
    """The widest bin (at most 15 minutes) that every slot start is a multiple of."""
    width = MAX_BIN
    for minute in slot_starts_minutes:
        width = math.gcd(width, minute * 60)
    return width


def _epoch(column: str) -> str:
    """Epoch seconds of a TIMESTAMPTZ column (Parquet's own timestamps are never turned into text)."""
    return f"(epoch_ms({column}) // 1000)"


class _Grid:
    """Store ids to rows, and times to bins."""

    def __init__(self, stores: tuple[str, ...], anchor: int, width: int, n_bins: int) -> None:
        self.stores, self.anchor, self.width, self.n_bins = stores, anchor, width, n_bins
        self.row = {s: i for i, s in enumerate(stores)}

    def rows(self, store_ids: np.ndarray) -> np.ndarray:
        """Each id's row (-1 for a store the run does not have), looked up once per distinct id."""
        if store_ids.size == 0:
            return np.zeros(0, np.int64)
        names, inverse = np.unique(store_ids.astype(str), return_inverse=True)
        return np.array([self.row.get(str(n), -1) for n in names], np.int64)[inverse.ravel()]

    def rows_of(self, result: dict[str, np.ndarray]) -> np.ndarray:
        """The rows of a query's groups: its ``r`` column, or its store ids looked up."""
        return _ints(result["r"]) if "r" in result else self.rows(result["store_id"])

    def bin_of(self, epoch: str) -> str:
        return f"(({epoch} - {self.anchor}) // {self.width})"

    def dense(self, rows: np.ndarray, bins: np.ndarray, n: np.ndarray, width: int | None = None) -> np.ndarray:
        """Counts per (row, bin) as a dense array; unknown rows and bins outside ``[0, width)`` are dropped."""
        width = self.n_bins if width is None else width
        keep = (rows >= 0) & (bins >= 0) & (bins < width)
        flat = np.bincount(rows[keep] * width + bins[keep], weights=n[keep], minlength=len(self.stores) * width)
        return flat.astype(np.int64).reshape(len(self.stores), width)


def _fetch(con, sql: str) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {k: np.asarray(v) for k, v in con.execute(sql).fetchnumpy().items()}


def aggregate(files: DataFiles, stores: tuple[str, ...] | None, start: int | None, end: int | None,
              width: int = MAX_BIN) -> Counts:
    """Count the data set's events per store and bin of ``[start, end)`` (span and stores from the data when None)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    scans = Scans(con, formats.get(files.fmt))
    try:
        if start is None or end is None or stores is None:
            sessions = scans.source(files.sessions, {"entry_time": "TIMESTAMPTZ", "store_id": "VARCHAR"})
            doors = scans.source(files.doors, {"time": "TIMESTAMPTZ", "store_id": "VARCHAR"})
            stores, start, end = _from_data(con, sessions, doors, stores, start, end)
        anchor = start // width * width
        grid = _Grid(stores, anchor, width, -(-(end - anchor) // width))
        counts = _count(con, scans, grid, files)
        if files.counts is not None:
            counts.sensor = _sensor(con, scans, files.counts)
    except (duckdb.Error, pa.ArrowException, KeyError) as exc:  # DuckDB's scans, or the registry's reads
        raise DatasetError(f"{files.sessions.parent}: cannot read the {files.fmt} files "
                           f"({' '.join(str(exc).split())[:300]})") from None
    finally:
        con.close()
    return counts


def _from_data(con, sessions: str | None, doors: str | None, stores: tuple[str, ...] | None,  # type: ignore[no-untyped-def]
               start: int | None, end: int | None) -> tuple[tuple[str, ...], int, int]:
    """Stores and whole hours around the data, for a data set without run.json."""
    parts = [f"SELECT store_id, {_epoch('entry_time')} AS t FROM {sessions}" if sessions else None,
             f"SELECT store_id, {_epoch('time')} AS t FROM {doors}" if doors else None]
    union = " UNION ALL ".join(p for p in parts if p)
    if not union:
        raise DatasetError("the data set has no events and no run.json: nothing to report")
    found = _fetch(con, f"SELECT store_id, min(t) AS lo, max(t) AS hi FROM ({union}) GROUP BY store_id "
                        "ORDER BY store_id")
    if found["store_id"].size == 0:
        raise DatasetError("the data set has no events and no run.json: nothing to report")
    lo, hi = int(found["lo"].min()), int(found["hi"].max())
    return (stores or tuple(str(s) for s in found["store_id"]),
            lo // 3600 * 3600 if start is None else start,
            (hi // 3600 + 1) * 3600 if end is None else end)


#: A partitioned data set is counted this many stores at a time: DuckDB's hash tables stay small.
STORES_PER_QUERY = 100
KINDS = ("entry", "exit", "turned_away", "gave_up")


def _count(con, scans: Scans, grid: _Grid, files: DataFiles) -> Counts:  # type: ignore[no-untyped-def]
    """Every store's counts, in batches of stores when the data set is partitioned (one query otherwise)."""
    shape = (len(grid.stores), grid.n_bins)
    entries = np.zeros(shape, np.int64)
    doors = [np.zeros(shape, np.int64) for _ in KINDS]
    dwell_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    partitioned = files.sessions.is_dir()
    step = STORES_PER_QUERY if partitioned else max(1, len(grid.stores))
    key = "r" if partitioned else "store_id"
    for lo in range(0, len(grid.stores), step):
        batch = {s: lo + i for i, s in enumerate(grid.stores[lo: lo + step])} if partitioned else None
        sessions = scans.source(files.sessions, {"entry_time": "TIMESTAMPTZ", "trip_duration_minutes": "BIGINT",
                                                 "store_id": "VARCHAR"}, batch)
        if sessions:
            entries += _sessions(con, grid, sessions, key, dwell_parts)
        door_source = scans.source(files.doors, {"event_type": "VARCHAR", "time": "TIMESTAMPTZ",
                                                 "store_id": "VARCHAR"}, batch)
        if door_source:
            for target, counted in zip(doors, _doors(con, grid, door_source, key), strict=True):
                target += counted
    r = m = n = np.zeros(0, np.int64)
    if dwell_parts:
        r, m, n = (np.concatenate([part[i] for part in dwell_parts]) for i in range(3))
    dwell = grid.dense(r, m, n, int(m.max(initial=1)) + 1)
    door_in, door_out, away, gave_up = doors
    return Counts(grid.stores, grid.anchor, grid.width, grid.n_bins, entries, door_in, door_out, away, gave_up,
                  dwell)


def _sessions(con, grid: _Grid, source: str, key: str, dwell_parts: list) -> np.ndarray:  # type: ignore[no-untyped-def,type-arg]
    """Sessions per (store, bin); appends the visits per (store, minute of dwell) to ``dwell_parts``.

    ``key`` is the column naming the store: ``r`` (its row) or ``store_id``.
    """
    rows = _fetch(con, f"""
        SELECT {key}, b, m, count(*) AS n, GROUPING(m) AS by_bin FROM (
            SELECT {key}, {grid.bin_of(_epoch('entry_time'))} AS b, trip_duration_minutes AS m FROM {source})
        GROUP BY GROUPING SETS (({key}, b), ({key}, m))""")
    by_bin = _ints(rows["by_bin"]) == 1
    r, n = grid.rows_of(rows), _ints(rows["n"])
    dwell_parts.append((r[~by_bin], _ints(rows["m"])[~by_bin], n[~by_bin]))
    return grid.dense(r[by_bin], _ints(rows["b"])[by_bin], n[by_bin])


def _doors(con, grid: _Grid, source: str, key: str) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Door events per (store, bin), one array per kind of :data:`KINDS`."""
    rows = _fetch(con, f"""
        SELECT {key}, event_type, {grid.bin_of(_epoch('time'))} AS b, count(*) AS n
        FROM {source} GROUP BY ALL""")
    r, b, n, kind = grid.rows_of(rows), _ints(rows["b"]), _ints(rows["n"]), rows["event_type"].astype(str)
    return [grid.dense(r[kind == k], b[kind == k], n[kind == k]) for k in KINDS]


def _ints(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.ma.filled(values, 0) if np.ma.isMaskedArray(values) else values).astype(np.int64)


def _sensor(con, scans: Scans, path: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:  # type: ignore[no-untyped-def]
    source = scans.source(path, {"store_id": "VARCHAR", "interval_end": "TIMESTAMPTZ", "in": "BIGINT", "out": "BIGINT"})
    if source is None:
        return {}
    rows = _fetch(con, f"""SELECT store_id, {_epoch('interval_end')} AS t, sum("in") AS i, sum("out") AS o
                           FROM {source} GROUP BY ALL ORDER BY store_id, t""")
    out = {}
    for store in np.unique(rows["store_id"]):
        pick = rows["store_id"] == store
        out[str(store)] = (_ints(rows["t"][pick]), _ints(rows["i"][pick]), _ints(rows["o"][pick]))
    return out
