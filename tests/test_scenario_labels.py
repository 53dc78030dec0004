"""The labels' file: written in every format and layout, the same labels; none without scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from producer import formats
from producer.cli import main
from producer.formats.read import read_path
from producer.sinks.label_files import LABELS_NAME
from sim import Simulation, Store, to_epoch
from sim.labels import run_labels
from tests.partitioned import DATASETS, flat_lines, partitioned_lines, simulate
from tests.scenario_cases import TRAFFIC

#: Two stores with scenarios (one drawn at a rate, a slow checkout: a longer lookback for the partitions)
#: and one without; across the spring change in Europe.
STORES = """
[[stores]]
id = "roma"
timezone = "Europe/Rome"
baseline = 400
[[stores.scenarios]]
kind = "surge"
factor = 2.5
start = "2025-03-29T15:00"
end = "2025-03-29T17:30"
[[stores.scenarios]]
kind = "slow_checkout"
factor = 3
per_month = 25
minutes = 240
[[stores.scenarios]]
kind = "early_closure"
start = "2025-03-31T16:00"

[[stores]]
id = "plain"
baseline = 300

[[stores]]
id = "nyc"
timezone = "America/New_York"
baseline = 300
[[stores.scenarios]]
kind = "surge"
factor = 0.5
per_month = 30
minutes = 120
"""
WINDOW = ("--start", "2025-03-28T09:30:00", "--until", "2025-04-02T17:00:00")
COLUMNS = {"store_id": pa.string(), "kind": pa.string(), "parameters": pa.string(), "effect": pa.string(),
           "expected": pa.float64()}


def stores_file(folder: Path) -> Path:
    path = folder / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    return path


def run_cli(folder: Path, out: Path, fmt: str, *extra: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--quiet", *WINDOW, "--seed", "17", "--stores",
                                       str(stores_file(folder)), "--format", fmt, "--out", str(out), *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_every_format_writes_the_same_labels(tmp_path: Path) -> None:
    tables = {}
    for fmt in formats.NAMES:
        run_cli(tmp_path, tmp_path / fmt, fmt)
        tables[fmt] = read_path(formats.get(fmt), tmp_path / fmt / f"{LABELS_NAME}.{fmt}", COLUMNS).to_pylist()
    rows = tables["jsonl"]
    kinds = {(r["store_id"], r["kind"]) for r in rows}
    assert {("roma", "surge"), ("roma", "slow_checkout"), ("roma", "early_closure"), ("nyc", "surge")} <= kinds
    assert all(r["store_id"] != "plain" for r in rows)
    assert all(tables[fmt] == rows for fmt in formats.NAMES)
    surge = next(r for r in rows if r["kind"] == "surge" and r["store_id"] == "roma")
    assert json.loads(surge["parameters"]) == {"factor": 2.5} and surge["effect"] == "extra_visitors"
    assert surge["expected"] > 0


def test_labels_are_the_occurrences_with_their_windows() -> None:
    store = Store(store_id="x", baseline=1000, timezone="Europe/Rome", scenarios=TRAFFIC)
    labels = run_labels(3, [store], to_epoch("2025-03-29T00:00:00"), to_epoch("2025-04-01T00:00:00"))
    fixed = [(k, a) for k, a in zip(labels.kind.tolist(), labels.start.tolist(), strict=True)]
    assert ("surge", to_epoch("2025-03-29T14:00:00")) in fixed  # 15:00 in Rome, UTC+1 before the change
    assert ("early_closure", to_epoch("2025-03-31T14:00:00")) in fixed  # 16:00 in Rome, UTC+2 after it
    closure = list(labels.kind).index("early_closure")
    assert labels.end[closure] == to_epoch("2025-03-31T22:00:00")  # the local day's end
    assert list(labels.start) == sorted(labels.start)


def test_plain_partitioned_and_dask_runs_write_the_same_rows_and_labels(tmp_path: Path) -> None:
    run_cli(tmp_path, tmp_path / "plain", "jsonl")
    run_cli(tmp_path, tmp_path / "parts", "jsonl", "--partition")
    pytest.importorskip("distributed")
    result = simulate(*WINDOW, "--seed", "17", "--stores", str(stores_file(tmp_path)), "--format", "jsonl",
                      "--out", str(tmp_path / "dask"), "--workers", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    labels = (tmp_path / "plain" / f"{LABELS_NAME}.jsonl").read_bytes()
    assert labels.count(b"\n") >= 4
    for layout in ("parts", "dask"):
        assert (tmp_path / layout / f"{LABELS_NAME}.jsonl").read_bytes() == labels
        for dataset in DATASETS:
            want = flat_lines(tmp_path / "plain", dataset)
            assert len(want) > 1000
            assert sorted(partitioned_lines(tmp_path / layout, dataset)) == sorted(want), (layout, dataset)


def test_a_run_without_scenarios_writes_no_labels_and_removes_an_earlier_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli(tmp_path, out, "csv")
    assert (out / f"{LABELS_NAME}.csv").is_file()
    result = CliRunner().invoke(main, ["simulate", "--quiet", "--days", "1", "--seed", "1", "--format", "csv",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not (out / f"{LABELS_NAME}.csv").exists()
    assert (out / "foot_traffic.csv").is_file()


def test_a_store_without_scenarios_draws_what_it_drew_before(tmp_path: Path) -> None:
    start, end = to_epoch("2025-03-29T00:00:00"), to_epoch("2025-04-01T00:00:00")
    alone = Simulation(seed=9, stores=(Store(store_id="plain"),), start=start, end=end)
    beside = Simulation(seed=9, stores=(Store(store_id="busy", scenarios=TRAFFIC), Store(store_id="plain")),
                        start=start, end=end)
    lines = [line for b in alone.batches() for line in b.doors.json_lines()]
    both = [line for b in beside.batches() for line in b.doors.json_lines() if b'"plain"' in line]
    assert len(lines) > 1000 and both == lines


def test_the_sensor_scenarios_give_the_same_sensor_files_partitioned(tmp_path: Path) -> None:
    """examples/scenarios.toml: a blocked door and a counter offline; the sensor's files of a plain run and
    of a partitioned one hold the same rows."""
    example = Path(__file__).resolve().parents[1] / "examples"
    args = ["simulate", "--quiet", "--stores", str(example / "scenarios.toml"), "--start", "2025-11-24", "--days",
            "3", "--seed", "42"]
    for name, extra in (("plain", []), ("parts", ["--partition"])):
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / name), *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "parts" / f"{LABELS_NAME}.jsonl").read_bytes() == \
        (tmp_path / "plain" / f"{LABELS_NAME}.jsonl").read_bytes()
    for dataset in ("foot_traffic", "foot_traffic_realistic_true", "foot_traffic_realistic", "foot_traffic_counts"):
        want = flat_lines(tmp_path / "plain", dataset)
        assert len(want) >= 3 * 3 * 96  # the counts: 3 stores, 3 days of 15-minute intervals
        assert sorted(partitioned_lines(tmp_path / "parts", dataset)) == sorted(want), dataset
    blocked = [json.loads(line) for line in flat_lines(tmp_path / "plain", "foot_traffic_realistic")
               if b'"mall-entrance"' in line and b'"entry"' in line]
    inside = [r for r in blocked if "2025-11-25T09:00:00" <= r["time"] < "2025-11-25T11:00:00"]
    assert blocked and not inside
