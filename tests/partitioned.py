"""Helpers for tests of partitioned runs: a stores file that exercises every kind of task, and readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from producer.sinks.files import DOORS_NAME, SESSIONS_NAME

DATASETS = (SESSIONS_NAME, DOORS_NAME)

_WEEK = "\n".join(f"{d} = {{w}}" for d in
                  ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))

#: Four stores: uncapped in Rome (DST ends 2025-10-26), capped in New York (DST ends 2025-11-02),
#: visits of up to two days (exits cross several task boundaries; an id that needs escaping),
#: and a lognormal dwell (no upper bound: one task).
STORES = f"""
[[stores]]
id = "roma"
timezone = "Europe/Rome"
baseline = 300

[[stores]]
id = "nyc"
timezone = "America/New_York"
baseline = 300
capacity = 4

[[stores]]
id = "long stay/1"
timezone = "UTC"
baseline = 60
[stores.profile]
slots = ["00:00", "08:00", "20:00"]
[stores.profile.weights]
{_WEEK.format(w="[1, 10, 2]")}
[stores.profile.dwell]
kind = "mixture"
bands = [[10, 29], [1500, 2900]]
shares = [0.7, 0.3]

[[stores]]
id = "lognormal"
timezone = "Asia/Kolkata"
baseline = 60
[stores.profile]
slots = ["00:00", "08:00"]
[stores.profile.weights]
{_WEEK.format(w="[1, 10]")}
[stores.profile.dwell]
kind = "lognormal"
median = 30
spread = 0.8
"""

#: Across both changeovers; starts and ends off midnight.
WINDOW = ("--start", "2025-10-25T09:30:00", "--until", "2025-11-03T17:00:00")


def stores_file(folder: Path) -> Path:
    path = folder / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    return path


def simulate(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``foot-traffic simulate`` in a fresh process (as a user runs it: Dask spawns workers from it)."""
    return subprocess.run(
        [sys.executable, "-m", "producer.cli", "simulate", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def files(folder: Path, dataset: str, fmt: str) -> list[Path]:
    return sorted((folder / dataset).rglob(f"*.{fmt}"))


def partitioned_lines(folder: Path, dataset: str, fmt: str = "jsonl") -> list[bytes]:
    """Every row line of a partitioned JSONL or CSV data set (CSV: without each file's header)."""
    lines: list[bytes] = []
    for path in files(folder, dataset, fmt):
        text = path.read_bytes().splitlines()
        lines.extend(text[1:] if fmt == "csv" else text)
    return lines


def flat_lines(folder: Path, dataset: str, fmt: str = "jsonl") -> list[bytes]:
    text = (folder / f"{dataset}.{fmt}").read_bytes().splitlines()
    return text[1:] if fmt == "csv" else text


def sorted_table(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


def parquet_rows_equal(flat: Path, partitioned: Path, dataset: str) -> int:
    """Assert the partitioned Parquet data set holds the flat file's rows exactly; the row count."""
    want = pq.read_table(flat / f"{dataset}.parquet")
    got = pads.dataset(partitioned / dataset, format="parquet", partitioning="hive").to_table()
    assert "store_id" not in pq.read_schema(files(partitioned, dataset, "parquet")[0]).names  # in the path only
    got = got.select(want.column_names).cast(want.schema)
    assert got.num_rows == want.num_rows
    assert sorted_table(got).equals(sorted_table(want))
    return want.num_rows
