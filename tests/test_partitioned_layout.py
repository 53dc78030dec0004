"""``simulate --partition``: hive-partitioned data sets holding exactly the plain run's rows (no Dask here)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import unquote

import orjson
import pandas as pd
import pyarrow.dataset as pads
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.partition import plan_tasks, prepare, publish, run_task, splittable
from producer.settings import Settings
from sim.fast import DAY
from sim.run import to_epoch
from tests.partitioned import (
    DATASETS,
    WINDOW,
    files,
    flat_lines,
    parquet_rows_equal,
    partitioned_lines,
    stores_file,
)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain run of the four stores, in every format."""
    folder = tmp_path_factory.mktemp("flat")
    stores = stores_file(folder)
    for fmt in ("jsonl", "csv", "parquet"):
        _run(*WINDOW, "--seed", "7", "--stores", str(stores), "--format", fmt, "--out", str(folder / fmt))
    return folder


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_partitions_hold_the_plain_runs_lines(tmp_path: Path, flat: Path, fmt: str) -> None:
    out = _run(*WINDOW, "--seed", "7", "--stores", str(stores_file(tmp_path)), "--format", fmt,
               "--out", str(tmp_path / "out"), "--partition")
    assert "tasks in one process" in out
    for dataset in DATASETS:
        want = flat_lines(flat / fmt, dataset, fmt)
        assert len(want) > 1000
        assert sorted(partitioned_lines(tmp_path / "out", dataset, fmt)) == sorted(want)


def test_the_partitions_hold_the_plain_runs_parquet_rows(tmp_path: Path, flat: Path) -> None:
    _run(*WINDOW, "--seed", "7", "--stores", str(stores_file(tmp_path)), "--format", "parquet",
         "--out", str(tmp_path / "out"), "--partition")
    for dataset in DATASETS:
        assert parquet_rows_equal(flat / "parquet", tmp_path / "out", dataset) > 1000


def test_each_partition_is_one_store_and_one_utc_date_in_the_plain_runs_order(tmp_path: Path, flat: Path) -> None:
    _run(*WINDOW, "--seed", "7", "--stores", str(stores_file(tmp_path)), "--out", str(tmp_path / "out"), "--partition")
    for dataset, time_key in zip(DATASETS, ("entry_time", "time")):
        want = flat_lines(flat / "jsonl", dataset)
        paths = files(tmp_path / "out", dataset, "jsonl")
        assert {p.name for p in paths} == {"part-0000.jsonl"}
        for path in paths:
            store = unquote(path.parent.parent.name.removeprefix("store_id="))
            date = path.parent.name.removeprefix("date=")
            rows = path.read_bytes().splitlines()
            assert rows, f"{path}: an empty partition has no file"
            for row in map(orjson.loads, rows):
                assert row["store_id"] == store
                assert dt.datetime.fromisoformat(row[time_key]).date().isoformat() == date
            in_order = [line for line in want
                        if orjson.loads(line)["store_id"] == store and orjson.loads(line)[time_key][:10] == date]
            assert rows == in_order
    stores = {unquote(p.name.removeprefix("store_id=")) for p in (tmp_path / "out" / DATASETS[0]).iterdir()}
    assert stores == {"roma", "nyc", "long stay/1", "lognormal"}
    doc = json.loads((tmp_path / "out" / "run.json").read_text())
    assert doc["seed"] == 7 and doc["settings"]["layout"].startswith("hive")


@pytest.mark.parametrize("span", [1, 3])
def test_any_span_of_days_gives_the_same_rows(tmp_path: Path, flat: Path, span: int) -> None:
    """Tasks of 1 and 3 days: visits of up to two days straddle several task boundaries."""
    stores = Settings.load({}, {"stores_file": str(stores_file(tmp_path))}).stores()
    start, end = to_epoch(WINDOW[1]), to_epoch(WINDOW[3])
    tasks = plan_tasks(7, stores, start, end, engine="auto", rejected=False, fmt="jsonl", out=tmp_path, span=span)
    whole = [t for t in tasks if not splittable(t.store)]
    assert sorted(t.store.store_id for t in whole) == ["lognormal", "nyc"]  # capacity; unbounded dwell
    assert all((t.start, t.end) == (start, end) for t in whole)
    cut = [t for t in tasks if splittable(t.store)]
    assert len(cut) == 2 * len({(t.start, t.end) for t in cut})
    assert all(t.end == end or t.end % DAY == 0 for t in cut)
    assert max(t.days for t in cut) <= span
    prepare(tmp_path)
    for task in tasks:
        run_task(task)
    publish(tmp_path)
    for dataset in DATASETS:
        assert sorted(partitioned_lines(tmp_path, dataset)) == sorted(flat_lines(flat / "jsonl", dataset))


def test_a_rerun_replaces_the_data_sets(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    _run(*WINDOW, "--seed", "7", "--stores", str(stores_file(tmp_path)), "--out", out, "--partition")
    _run("--start", "2025-11-03", "--days", "1", "--seed", "8", "--out", out, "--partition")
    _run("--start", "2025-11-03", "--days", "1", "--seed", "8", "--out", str(tmp_path / "again"), "--partition")
    for dataset in DATASETS:
        got = [p.relative_to(tmp_path / "out") for p in files(tmp_path / "out", dataset, "jsonl")]
        assert got == [p.relative_to(tmp_path / "again") for p in files(tmp_path / "again", dataset, "jsonl")]
        assert [str(p) for p in got][:1] == [f"{dataset}/store_id=store-1/date=2025-11-03/part-0000.jsonl"]
        assert partitioned_lines(tmp_path / "out", dataset) == partitioned_lines(tmp_path / "again", dataset)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [*sorted(DATASETS), "run.json"]


def test_readers_see_one_table(tmp_path: Path, flat: Path) -> None:
    """pyarrow.dataset (every format), pandas and DuckDB (Parquet) read a data set as one table."""
    stores = str(stores_file(tmp_path))
    for fmt in ("parquet", "jsonl", "csv"):
        _run(*WINDOW, "--seed", "7", "--stores", stores, "--format", fmt, "--out", str(tmp_path / fmt), "--partition")
        for dataset in DATASETS:
            table = pads.dataset(tmp_path / fmt / dataset, format="json" if fmt == "jsonl" else fmt,
                                 partitioning="hive").to_table()
            assert table.num_rows == len(flat_lines(flat / "jsonl", dataset))
            assert {"store_id", "date"} <= set(table.column_names)
            assert set(table.column("store_id").to_pylist()) == {"roma", "nyc", "long stay/1", "lognormal"}
    sessions = pd.read_parquet(tmp_path / "parquet" / DATASETS[0])
    assert len(sessions) == len(flat_lines(flat / "jsonl", DATASETS[0]))
    assert (sessions["entry_time"].dt.strftime("%Y-%m-%d") == sessions["date"].astype(str)).all()
    assert (sessions["queue_seconds"] > 0).any()  # the capped store queued


def test_duckdb_reads_the_data_sets(tmp_path: Path, flat: Path) -> None:
    import duckdb  # the test extra brings it
    stores = str(stores_file(tmp_path))
    for fmt, reader in (("parquet", "read_parquet"), ("jsonl", "read_json_auto"), ("csv", "read_csv_auto")):
        _run(*WINDOW, "--seed", "7", "--stores", stores, "--format", fmt, "--out", str(tmp_path / fmt), "--partition")
        for dataset in DATASETS:
            pattern = str(tmp_path / fmt / dataset / "**" / f"*.{fmt}")
            count, stores_seen, days = duckdb.sql(
                f"select count(*), count(distinct store_id), count(distinct date) "
                f"from {reader}('{pattern}', hive_partitioning = true)").fetchall()[0]
            assert count == len(flat_lines(flat / "jsonl", dataset))
            assert stores_seen == 4 and days == 10


def test_the_longest_visit_bounds_how_far_back_a_task_starts() -> None:
    from sim.dwell import (
        DEFAULT_DWELL,
        DwellBySlot,
        HistogramDwell,
        LognormalDwell,
        MixtureDwell,
        UniformBand,
    )
    from sim.dwell import upper_minutes as dwell_upper_minutes

    assert dwell_upper_minutes(DEFAULT_DWELL) == 75
    # A band with no share is never drawn.
    assert dwell_upper_minutes(MixtureDwell((1.0, 0.0), (UniformBand(5, 9), UniformBand(10, 500)))) == 9
    assert dwell_upper_minutes(HistogramDwell(edges=(1, 10, 60), weights=(3, 1))) == 59
    row = (DEFAULT_DWELL,) * 2
    assert dwell_upper_minutes(DwellBySlot(DEFAULT_DWELL, (row,) * 7)) == 75
    with_lognormal = DwellBySlot(DEFAULT_DWELL, ((DEFAULT_DWELL, LognormalDwell(30, 0.5)),) + (row,) * 6)
    assert dwell_upper_minutes(with_lognormal) is None
    assert dwell_upper_minutes(LognormalDwell(30, 0.5)) is None


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_the_report_reads_a_partitioned_data_set(tmp_path: Path, flat: Path, fmt: str) -> None:
    from producer.dataset import read_dataset

    _run(*WINDOW, "--seed", "7", "--stores", str(stores_file(tmp_path)), "--format", fmt,
         "--out", str(tmp_path / "out"), "--partition")
    got, want = read_dataset(tmp_path / "out"), read_dataset(flat / fmt)
    assert got.fmt == fmt
    for names in (("entry", "minutes", "store_id"), ("door_time", "door_kind", "door_store")):
        assert _rows(got, names) == _rows(want, names)


def _rows(data: object, names: tuple[str, ...]) -> list[tuple[object, ...]]:
    return sorted(zip(*(getattr(data, name).tolist() for name in names)))
