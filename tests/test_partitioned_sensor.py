"""Partitioned runs with a door sensor (``--partition`` and Dask): the plain run's four files, row for row.

Three stores over Rome's DST change (2025-10-26): one whose sensor holds
crossings through its outages and whose visits last up to two days (exits
straddle task boundaries), one whose sensor loses them (both with misses,
double counts, duplicate deliveries and delays of hours, so records are
delivered on a later UTC date than their crossing), and one without a
sensor and with a lognormal dwell (a perfect sensor; one task over the
whole run). The counts' interval, 7 minutes, does not divide a day: the
interval that straddles a midnight belongs to the task of its start.
Tasks are one UTC day each (a run of four days and a half over two
splittable stores, for one process as for two workers).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import orjson
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.dataset import read_dataset
from producer.partition_sensor import extended_end
from producer.sinks.files import SESSIONS_NAME
from producer.sinks.sensor_files import COUNTS_NAME, REGISTERS_NAME, SENSOR_NAME, TRUE_DOORS_NAME
from tests.partitioned import files, flat_lines, parquet_rows_equal, partitioned_lines, simulate

#: The data sets of a run with a sensor, and the field each is partitioned by.
DATASETS = {SESSIONS_NAME: "entry_time", TRUE_DOORS_NAME: "time", SENSOR_NAME: "time", COUNTS_NAME: "interval_start",
            REGISTERS_NAME: "interval_start"}

_SENSOR = """
[stores.profile.sensor]
miss_in = 0.05
miss_out = 0.08
double_in = 0.05
double_out = 0.04
delay_median = 60
delay_sigma = 2.5
duplicate = 0.08
outages_per_day = 4
outage_minutes = 240
outage_mode = "{mode}"
"""
_WEEK = "\n".join(f"{d} = {{w}}" for d in
                  ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
STORES = f"""
[[stores]]
id = "roma hold/1"
timezone = "Europe/Rome"
baseline = 150
[stores.profile]
slots = ["00:00", "08:00", "20:00"]
[stores.profile.weights]
{_WEEK.format(w="[1, 10, 2]")}
[stores.profile.dwell]
kind = "mixture"
bands = [[10, 29], [1500, 2900]]
shares = [0.8, 0.2]
{_SENSOR.format(mode="hold")}

[[stores]]
id = "lose"
timezone = "UTC"
baseline = 150
[stores.profile]
slots = ["00:00", "08:00"]
[stores.profile.weights]
{_WEEK.format(w="[2, 10]")}
{_SENSOR.format(mode="lose")}

[[stores]]
id = "perfect"
timezone = "Asia/Kolkata"
baseline = 40
[stores.profile]
slots = ["00:00", "08:00"]
[stores.profile.weights]
{_WEEK.format(w="[1, 10]")}
[stores.profile.dwell]
kind = "lognormal"
median = 30
spread = 0.8
"""
#: The registers reset at 02:30 local: in Rome on 2025-10-26 a time that happens twice (the first is taken).
WINDOW = ("--start", "2025-10-24T09:30:00", "--until", "2025-10-28T17:00:00", "--count-interval", "7",
          "--counter-reset", "02:30")
FORMATS = ("jsonl", "csv", "parquet")


def _stores(folder: Path) -> Path:
    path = folder / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    return path


def _plain(folder: Path, fmt: str, seed: str = "5") -> Path:
    out = folder / f"plain-{fmt}"
    result = CliRunner().invoke(main, ["simulate", *WINDOW, "--seed", seed, "--stores", str(_stores(folder)),
                                       "--format", fmt, "--out", str(out), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _fields(line: bytes, fmt: str, header: list[str]) -> dict[str, str]:
    if fmt == "jsonl":
        return {k: str(v) for k, v in orjson.loads(line).items()}
    return dict(zip(header, next(csv.reader([line.decode()]))))


def assert_partitions_hold_the_plain_rows(plain: Path, out: Path, fmt: str) -> dict[str, list[dict[str, str]]]:
    """Every data set: the union of its partitions is the plain file; each partition is one store and
    one UTC date, in the plain file's order. The plain file's rows, parsed (JSONL, CSV)."""
    rows = {}
    for dataset, key in DATASETS.items():
        if fmt == "parquet":
            assert parquet_rows_equal(plain, out, dataset) > 100, dataset
            continue
        want = flat_lines(plain, dataset, fmt)
        header = (plain / f"{dataset}.{fmt}").read_text(encoding="utf-8").splitlines()[0].replace('"', "").split(",")
        assert len(want) > 100 and sorted(partitioned_lines(out, dataset, fmt)) == sorted(want), dataset
        parsed = [_fields(line, fmt, header) for line in want]
        rows[dataset] = parsed
        for path in files(out, dataset, fmt):
            store = unquote(path.parent.parent.name.removeprefix("store_id="))
            date = path.parent.name.removeprefix("date=")
            got = path.read_bytes().splitlines()[1 if fmt == "csv" else 0:]
            assert got == [line for line, row in zip(want, parsed)
                           if row["store_id"] == store and row[key][:10] == date], path
    return rows


def assert_the_sensor_was_busy(rows: dict[str, list[dict[str, str]]]) -> None:
    """What the test is about happened: doubles, duplicates, deliveries on a later date, lost and held crossings."""
    records = rows[SENSOR_NAME]
    assert any(r["reading"] == "1" for r in records)
    keys = [(r["store_id"], r["customer_id"], r["event_type"], r["time"], r["reading"]) for r in records]
    assert len(set(keys)) < len(keys)  # duplicate deliveries
    assert any(r["sent_at"][:10] != r["time"][:10] for r in records)  # delivered on a later UTC date
    assert {r["store_id"] for r in records} == {"roma hold/1", "lose", "perfect"}
    assert all(r["sent_at"][:19] == r["time"][:19] for r in records if r["store_id"] == "perfect")
    true = rows[TRUE_DOORS_NAME]
    for store in ("roma hold/1", "lose"):
        crossings = sum(r["store_id"] == store and r["event_type"] in ("entry", "exit") for r in true)
        counted = sum(int(float(r["in"])) + int(float(r["out"])) for r in rows[COUNTS_NAME] if r["store_id"] == store)
        assert counted != crossings, store


def test_one_process_writes_the_plain_runs_rows_in_every_format(tmp_path: Path) -> None:
    for fmt in FORMATS:
        out = tmp_path / f"part-{fmt}"
        result = CliRunner().invoke(main, ["simulate", *WINDOW, "--seed", "5", "--stores", str(_stores(tmp_path)),
                                           "--format", fmt, "--out", str(out), "--partition"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "sensor:" in result.output and "tasks in one process" in result.output
        rows = assert_partitions_hold_the_plain_rows(_plain(tmp_path, fmt), out, fmt)
        if fmt == "jsonl":
            assert_the_sensor_was_busy(rows)
        doc = json.loads((out / "run.json").read_text())
        assert doc["settings"]["sensor"] is True and doc["settings"]["count_interval"] == 7
        assert doc["settings"]["tasks"] > 8  # tasks of a day: many task boundaries
        assert sorted(p.name for p in out.iterdir()) == sorted([*DATASETS, "run.json"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_report_reads_the_true_door_events_and_the_counts_of_a_partitioned_run(tmp_path: Path, fmt: str) -> None:
    """Not the sensor's records (doubles, duplicates): the same figures as from the plain run's files."""
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", *WINDOW, "--seed", "5", "--stores", str(_stores(tmp_path)),
                                       "--format", fmt, "--out", str(out), "--partition"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got, want = read_dataset(out), read_dataset(_plain(tmp_path, fmt))
    assert got.counts is not None and want.counts is not None
    for a, b in [(got.door_time, want.door_time), (got.door_kind, want.door_kind), *zip(got.counts, want.counts)]:
        assert len(a) == len(b) > 100 and sorted(a.tolist()) == sorted(b.tolist())


def test_a_run_without_the_sensor_removes_the_sensor_data_sets(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["simulate", *WINDOW, "--seed", "5", "--stores", str(_stores(tmp_path)), "--out", str(out), "--partition"]
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--sensor", "off"], catch_exceptions=False).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([SESSIONS_NAME, SENSOR_NAME, "run.json"])
    assert "reading" not in partitioned_lines(out, SENSOR_NAME)[0].decode()  # the true door events again


def test_a_task_simulates_to_the_end_of_its_last_interval() -> None:
    day = 86_400
    assert extended_end(day, 10 * day, 420) == day + 420 - day % 420  # 7 minutes do not divide a day
    assert extended_end(day, 10 * day, 900) == day  # 15 minutes do
    assert extended_end(day, day + 60, 420) == day + 60  # never past the run's end
    assert extended_end(10 * day, 10 * day, 420) == 10 * day


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of two worker processes on 127.0.0.1; its scheduler's address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=50) as local:
        with distributed.Client(local) as client:
            client.wait_for_workers(2, timeout=60)
        yield local.scheduler_address


def test_two_dask_workers_write_the_plain_runs_rows_in_every_format(tmp_path: Path, cluster: str) -> None:
    stores = _stores(tmp_path)
    for fmt in FORMATS:
        out = tmp_path / f"dask-{fmt}"
        result = simulate(*WINDOW, "--seed", "5", "--stores", str(stores), "--format", fmt, "--out", str(out),
                          "--scheduler", cluster)
        assert result.returncode == 0, result.stderr
        assert f"tasks on {cluster}" in result.stdout and "sensor:" in result.stdout
        assert_partitions_hold_the_plain_rows(_plain(tmp_path, fmt), out, fmt)
