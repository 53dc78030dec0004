"""``simulate`` with a door sensor (issue 12, part 3): the three door files and their agreement."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from producer.cli import main
from tests.profiles import profile_text, write_profile

SENSOR = """[sensor]
miss_in = 0.05
miss_out = 0.08
double_in = 0.03
double_out = 0.02
delay_median = 20
delay_sigma = 1.5
duplicate = 0.05
outages_per_day = 2
outage_minutes = 45
outage_mode = "{mode}"
"""
ARGS = ["simulate", "--start", "2025-11-03T05:00:00", "--days", "2", "--seed", "7"]


def _profile(folder: Path, mode: str = "hold", groups: bool = True) -> Path:
    tables = SENSOR.format(mode=mode) + ("[groups]\nsizes = {1 = 0.7, 2 = 0.3}\n" if groups else "")
    return write_profile(folder, profile_text(tables=tables), "sensor.toml")


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _records(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            return [{k: (int(float(v)) if k in ("reading", "in", "out") else v) for k, v in row.items()}
                    for row in csv.DictReader(f, quoting=csv.QUOTE_NONNUMERIC)]
    rows = pq.read_table(path).to_pylist()
    return [{k: (v.isoformat(timespec="milliseconds" if k == "sent_at" else "seconds")
                 if isinstance(v, dt.datetime) else v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_interval_counts_equal_the_counted_door_events_of_each_interval(tmp_path: Path, fmt: str) -> None:
    _run(*ARGS, "--profile-file", str(_profile(tmp_path, "lose")), "--out", str(tmp_path / "o"),
         "--format", fmt, "--count-interval", "10")
    records = _records(tmp_path / "o" / f"foot_traffic_realistic.{fmt}")
    counts = _records(tmp_path / "o" / f"foot_traffic_counts.{fmt}")
    assert [r["sent_at"] for r in records] == sorted(r["sent_at"] for r in records)
    # Duplicate deliveries repeat a reading: counted once (a crossing counted twice has readings 0 and 1).
    readings = {(r["customer_id"], r["event_type"], r["time"], r["reading"]): r for r in records}
    assert len(readings) < len(records) and any(k[3] == 1 for k in readings)
    tally: dict[tuple[str, str], list[int]] = {}
    for (_, kind, time, _), r in readings.items():
        t = dt.datetime.fromisoformat(time)
        start = t.replace(minute=t.minute - t.minute % 10, second=0).isoformat()
        tally.setdefault((r["store_id"], start), [0, 0])[kind == "exit"] += 1
    assert len(counts) == 2 * 24 * 6
    for row in counts:
        assert [row["in"], row["out"]] == tally.pop((row["store_id"], row["interval_start"]), [0, 0]), row
    assert not tally


def test_the_true_door_events_are_the_events_without_a_sensor(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    _run(*ARGS, "--profile-file", str(profile), "--out", str(tmp_path / "on"))
    _run(*ARGS, "--profile-file", str(profile), "--out", str(tmp_path / "off"), "--sensor", "off")
    on, off = tmp_path / "on", tmp_path / "off"
    assert (on / "foot_traffic.jsonl").read_bytes() == (off / "foot_traffic.jsonl").read_bytes()
    assert (on / "foot_traffic_realistic_true.jsonl").read_bytes() == (off / "foot_traffic_realistic.jsonl").read_bytes()
    assert not (off / "foot_traffic_counts.jsonl").exists()
    # The sensor's file differs from the truth, and every one of its records is a true crossing.
    truth = {(d["customer_id"], d["event_type"], d["time"]) for d in _records(off / "foot_traffic_realistic.jsonl")}
    sensed = _records(on / "foot_traffic_realistic.jsonl")
    assert {(r["customer_id"], r["event_type"], r["time"]) for r in sensed} < truth
    assert all(r["sent_at"] >= r["time"].replace("+00:00", ".000+00:00") for r in sensed)


def test_a_run_without_a_sensor_removes_an_earlier_runs_sensor_files(tmp_path: Path) -> None:
    _run(*ARGS, "--profile-file", str(_profile(tmp_path)), "--out", str(tmp_path / "o"))
    assert (tmp_path / "o" / "foot_traffic_counts.jsonl").exists()
    _run(*ARGS, "--out", str(tmp_path / "o"))
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "foot_traffic.jsonl", "foot_traffic_realistic.jsonl", "run.json"]


def test_the_same_records_in_every_format(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    got = {}
    for fmt in ("jsonl", "csv", "parquet"):
        _run(*ARGS, "--profile-file", str(profile), "--out", str(tmp_path / fmt), "--format", fmt)
        got[fmt] = (_records(tmp_path / fmt / f"foot_traffic_realistic.{fmt}"),
                    _records(tmp_path / fmt / f"foot_traffic_counts.{fmt}"))
    for fmt in ("csv", "parquet"):
        assert got[fmt][0] == got["jsonl"][0], fmt
        assert got[fmt][1] == got["jsonl"][1], fmt


@pytest.mark.parametrize("value", ["0", "1441", "2.5", "x"])
def test_a_bad_count_interval_is_a_one_line_error(tmp_path: Path, value: str) -> None:
    out = _run(*ARGS, "--count-interval", value, "--out", str(tmp_path), code=2)
    assert "--count-interval" in out and "1 to 1,440" in out and len(out.strip().splitlines()) == 1


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_column_wise_sensor_lines_are_the_payloads_byte_for_byte(engine: str) -> None:
    import dataclasses

    from producer.sinks.jsonl import text_bytes
    from producer.sinks.sensor_jsonl import sensor_lines
    from sim import DEFAULT_PROFILE, Simulation, Store
    from sim.sensor import Sensor
    from sim.sensor_stream import SensorColumns, SensorLayer

    profile = dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor(double_in=0.2, duplicate=0.2, delay_median=3))
    run = Simulation.of("2025-11-03T22:00:00", days=1, seed=1,
                        stores=(Store(profile=profile, store_id='a "quoted" \\ store\u2013'), Store(store_id="b")))
    layer = SensorLayer(run.seed, run.stores, run.start, run.end)
    records = SensorColumns.concat([layer.process(b.doors)[0] for b in run.batches(engine)] + [layer.close()[0]])
    assert len(records) > 500 and (records.reading == 1).any()
    assert bytes(text_bytes(sensor_lines(records))) == b"".join(line + b"\n" for line in records.json_lines())
