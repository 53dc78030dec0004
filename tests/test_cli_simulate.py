"""``foot-traffic simulate``: files, formats, reproducibility."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from producer.cli import main
from sim import Simulation
from tests.helpers import json_lines

ARGS = ["simulate", "--start", "2025-11-03", "--days", "2", "--seed", "42"]


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_equal_seeds_give_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    _run(*ARGS, "--out", str(tmp_path / "a"), "--format", fmt)
    _run(*ARGS, "--out", str(tmp_path / "b"), "--format", fmt)
    _run(*ARGS[:-1], "43", "--out", str(tmp_path / "c"), "--format", fmt)
    for name in (f"foot_traffic.{fmt}", f"foot_traffic_realistic.{fmt}"):
        a, b, c = ((tmp_path / x / name).read_bytes() for x in "abc")
        assert a == b
        assert a != c


def test_jsonl_lines_are_the_redis_payloads_and_sorted(tmp_path: Path) -> None:
    out = _run(*ARGS, "--out", str(tmp_path))
    assert "visits" in out and "events/s" in out
    run = Simulation.of("2025-11-03", days=2, seed=42)
    sessions, doors = json_lines(run)
    assert (tmp_path / "foot_traffic.jsonl").read_bytes() == b"".join(line + b"\n" for line in sessions)
    assert (tmp_path / "foot_traffic_realistic.jsonl").read_bytes() == b"".join(line + b"\n" for line in doors)
    first = json.loads(sessions[0])
    assert list(first) == ["event_type", "customer_id", "entry_time", "exit_time",
                           "trip_duration_minutes", "weekday", "time_slot", "store_id", "queue_seconds"]
    assert first["entry_time"].endswith("+00:00") and "\u2013" in first["time_slot"]
    door = json.loads(doors[0])
    assert list(door)[:4] == ["event_type", "time", "weekday", "time_slot"]
    times = [orjson.loads(line)["time"] for line in doors]
    assert times == sorted(times)


def test_parquet_and_csv_carry_the_same_rows_with_types(tmp_path: Path) -> None:
    _run(*ARGS, "--out", str(tmp_path / "p"), "--format", "parquet")
    _run(*ARGS, "--out", str(tmp_path / "c"), "--format", "csv")
    _run(*ARGS, "--out", str(tmp_path / "j"), "--format", "jsonl")
    table = pq.read_table(tmp_path / "p" / "foot_traffic.parquet")
    assert table.schema.field("entry_time").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("trip_duration_minutes").type == pa.int32()
    rows = [orjson.loads(x) for x in (tmp_path / "j" / "foot_traffic.jsonl").read_bytes().splitlines()]
    assert table.num_rows == len(rows)
    as_json = [{k: v.isoformat() if k.endswith("_time") else v for k, v in r.items()} for r in table.to_pylist()]
    assert as_json == rows
    door_rows = pq.read_table(tmp_path / "p" / "foot_traffic_realistic.parquet").to_pylist()
    door_json = [orjson.loads(x) for x in (tmp_path / "j" / "foot_traffic_realistic.jsonl").read_bytes().splitlines()]
    assert [{**r, "time": r["time"].isoformat()} for r in door_rows] == door_json
    csv = pacsv.read_csv(tmp_path / "c" / "foot_traffic_realistic.csv",
                         convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                                                              column_types={"time": pa.string()}))
    doors = [orjson.loads(x) for x in (tmp_path / "j" / "foot_traffic_realistic.jsonl").read_bytes().splitlines()]
    assert csv.column("time").to_pylist() == [r["time"] for r in doors]
    assert csv.column_names == list(doors[0])


def test_without_a_seed_one_is_drawn_printed_and_repeats_the_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--start", "2025-11-03", "--days", "1",
                                       "--out", str(tmp_path / "a")])
    assert result.exit_code == 0
    seed = result.stderr.split()[1]
    assert seed.isdigit()
    _run("simulate", "--start", "2025-11-03", "--days", "1", "--seed", seed, "--out", str(tmp_path / "b"))
    assert (tmp_path / "a" / "foot_traffic.jsonl").read_bytes() == (tmp_path / "b" / "foot_traffic.jsonl").read_bytes()


def test_environment_settings_apply_and_options_win(tmp_path: Path) -> None:
    env = {"DAILY_CUSTOMERS": "100", "SEED": "5"}
    runner = CliRunner()
    r = runner.invoke(main, ["simulate", "--start", "2025-11-03", "--days", "1", "--out", str(tmp_path / "e")], env=env)
    assert r.exit_code == 0 and "100 visits" in r.stdout
    r = runner.invoke(main, ["simulate", "--start", "2025-11-03", "--days", "1", "--daily-customers", "50",
                             "--out", str(tmp_path / "o")], env=env)
    assert r.exit_code == 0 and "50 visits" in r.stdout


def test_the_console_script_runs_the_embedded_default(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "producer.cli", *ARGS, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "foot_traffic.jsonl").stat().st_size > 0
    assert not list(tmp_path.glob("*.partial"))
