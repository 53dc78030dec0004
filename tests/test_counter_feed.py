"""The counter's vendor-shaped feeds offline: interval counts and cumulative registers with an occupancy.

Every check is exact, on one seed: the counts are the sensor's readings
(duplicate deliveries dropped) aggregated per interval; the registers are the
counts summed since the last reset, so differencing them (a row whose
``reset_at`` differs from the previous row's starts again) gives the counts;
the reset falls at the configured local time; every format holds the same
rows. Partitioned and Dask runs: ``tests/test_partitioned_sensor.py`` (the
registers are one of its data sets) and ``tests/test_avro.py``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.sinks.sensor_files import COUNTS_NAME, REGISTERS_NAME, SENSOR_NAME
from sim.counter_feed import Registers, last_reset
from sim.sensor_stream import CountColumns
from sim.store import Store
from tests.profiles import profile_text, write_profile
from tests.test_sensor_files import SENSOR, _records

#: Two stores a day and a half, the reset at 04:15 local: New York (UTC-5 in November) and Kolkata (UTC+5:30).
STORES = """
[[stores]]
id = "nyc"
timezone = "America/New_York"
baseline = 900
profile = "sensor.toml"

[[stores]]
id = "kolkata"
timezone = "Asia/Kolkata"
baseline = 600
profile = "sensor.toml"
"""
ARGS = ("simulate", "--start", "2025-11-03T05:00:00", "--days", "3", "--seed", "11", "--count-interval", "15",
        "--counter-reset", "04:15")


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _simulate(folder: Path, fmt: str) -> Path:
    write_profile(folder, profile_text(tables=SENSOR.format(mode="hold")), "sensor.toml")
    stores = folder / "stores.toml"
    stores.write_text(STORES, encoding="utf-8")
    out = folder / fmt
    _run(*ARGS, "--stores", str(stores), "--format", fmt, "--out", str(out), "--quiet")
    return out


def _ints(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV reads numbers as floats; the registers' numbers are whole."""
    return [{k: int(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


@pytest.fixture(scope="module")
def jsonl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _simulate(tmp_path_factory.mktemp("feed"), "jsonl")


def test_counts_are_the_readings_aggregated_per_interval(jsonl_run: Path) -> None:
    records = _records(jsonl_run / f"{SENSOR_NAME}.jsonl")
    counts = _records(jsonl_run / f"{COUNTS_NAME}.jsonl")
    readings = {(r["store_id"], r["customer_id"], r["event_type"], r["time"], r["reading"]) for r in records}
    assert len(readings) < len(records)  # duplicate deliveries were dropped
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for store, _, kind, time, _ in readings:
        t = dt.datetime.fromisoformat(time)
        tally[(store, t.replace(minute=t.minute - t.minute % 15, second=0).isoformat())][kind == "exit"] += 1
    assert len(counts) == 2 * 3 * 24 * 4
    for row in counts:
        assert [row["in"], row["out"]] == tally.pop((row["store_id"], row["interval_start"]), [0, 0]), row
    assert not tally


def test_differencing_the_registers_gives_the_counts(jsonl_run: Path) -> None:
    counts = _records(jsonl_run / f"{COUNTS_NAME}.jsonl")
    registers = _records(jsonl_run / f"{REGISTERS_NAME}.jsonl")
    key = ("store_id", "interval_start", "interval_end")
    assert [tuple(r[k] for k in key) for r in registers] == [tuple(c[k] for k in key) for c in counts]
    last: dict[str, dict[str, Any]] = {}
    resets: dict[str, set[str]] = defaultdict(set)
    for reg, count in zip(registers, counts, strict=True):
        before = last.get(reg["store_id"])
        if before is None or before["reset_at"] != reg["reset_at"]:
            got = (reg["in_total"], reg["out_total"])  # the first row since a reset holds its own counts
        else:
            got = (reg["in_total"] - before["in_total"], reg["out_total"] - before["out_total"])
        assert got == (count["in"], count["out"]), reg
        assert reg["occupancy"] == max(0, reg["in_total"] - reg["out_total"])
        resets[reg["store_id"]].add(reg["reset_at"])
        last[reg["store_id"]] = reg
    # The run's start, then 04:15 local each day: 09:15 UTC in New York, 22:45 UTC (the day before) in Kolkata.
    start = "2025-11-03T05:00:00+00:00"
    assert resets["nyc"] == {start, *(f"2025-11-0{d}T09:15:00+00:00" for d in (3, 4, 5))}
    assert resets["kolkata"] == {start, *(f"2025-11-0{d}T22:45:00+00:00" for d in (3, 4, 5))}
    # The registers really are cumulative: the largest far above any interval's count.
    assert max(r["in_total"] for r in registers) > 20 * max(c["in"] for c in counts)
    # The sensor's misses and double counts make the estimate drift from the truth: it is clipped at 0 somewhere.
    assert any(r["occupancy"] == 0 and r["out_total"] > r["in_total"] for r in registers)


def test_every_format_holds_the_same_registers(jsonl_run: Path, tmp_path: Path) -> None:
    want = _records(jsonl_run / f"{REGISTERS_NAME}.jsonl")
    assert len(want) > 500
    for fmt in ("csv", "parquet"):
        got = _ints(_records(_simulate(tmp_path, fmt) / f"{REGISTERS_NAME}.{fmt}"))
        assert got == want, fmt


@pytest.mark.parametrize("value", ["4", "24:00", "04:60", "4:5", "ab:cd", "04:15:00", "-1:00"])
def test_a_bad_counter_reset_is_a_one_line_error(tmp_path: Path, value: str) -> None:
    output = _run("simulate", "--days", "1", "--out", str(tmp_path), "--counter-reset", value, code=2)
    assert "--counter-reset" in output and "HH:MM" in output and value in output
    assert len(output.strip().splitlines()) == 1


def test_a_reset_at_a_time_a_daylight_saving_change_skips_or_repeats() -> None:
    rome = Store(timezone="Europe/Rome")
    utc = dt.datetime.fromisoformat
    # 2025-03-30: 02:30 does not exist in Rome (02:00 -> 03:00); read with the offset before, +01:00: 01:30 UTC.
    spring = int(utc("2025-03-30T12:00:00+00:00").timestamp())
    assert last_reset(rome, 150, 900, spring) == int(utc("2025-03-30T01:30:00+00:00").timestamp())
    # 2025-10-26: 02:30 happens twice; the first (+02:00): 00:30 UTC.
    autumn = int(utc("2025-10-26T12:00:00+00:00").timestamp())
    assert last_reset(rome, 150, 900, autumn) == int(utc("2025-10-26T00:30:00+00:00").timestamp())
    # An interval that does not divide the offset: the next boundary of the UTC-aligned 7-minute grid.
    at = int(utc("2025-11-03T12:00:00+00:00").timestamp())
    want = -(-int(utc("2025-11-03T03:30:00+00:00").timestamp()) // 420) * 420  # 04:30 in Rome
    assert last_reset(rome, 270, 420, at) == want
    # Exactly at a reset boundary: that reset.
    assert last_reset(rome, 270, 900, int(utc("2025-11-03T03:30:00+00:00").timestamp())) == \
        int(utc("2025-11-03T03:30:00+00:00").timestamp())


def _registers_by_definition(stores: tuple[Store, ...], start: int, interval: int, minute: int,
                             rows: list[tuple[str, int, int, int]]) -> list[tuple[int, int, int]]:
    """Each row's (reset_at, in_total, out_total) straight from the definition: the latest of the run's start
    and the store's last reset at or before the interval's start, and the counts of its rows since."""
    by_id = {s.store_id: s for s in stores}
    out = []
    for k, (store, begin, _, _) in enumerate(rows):
        since = max(start, last_reset(by_id[store], minute, interval, begin))
        mine = [(i, o) for s, b, i, o in rows[:k + 1] if s == store and b >= since]
        out.append((since, sum(i for i, _ in mine), sum(o for _, o in mine)))
    return out


@pytest.mark.parametrize("trial", range(12))
def test_the_registers_are_their_definition_however_they_are_fed(trial: int) -> None:
    # Zones with daylight-saving changes of an hour and of half an hour, one that skipped a date
    # (Apia, 2011-12-30), offsets of quarter hours; intervals from a minute to a day; the counts fed in
    # chunks as the live pump and the backfill feed them.
    rng = np.random.default_rng(trial)
    zones = ["America/New_York", "Asia/Kolkata", "Europe/Rome", "Australia/Lord_Howe", "Pacific/Apia",
             "Asia/Kathmandu", "UTC"]
    interval = int(rng.choice([60, 420, 900, 3600, 25_200, 43_200, 86_400]))
    minute = int(rng.integers(1440))
    stores = tuple(Store(store_id=f"s{i}", timezone=str(rng.choice(zones))) for i in range(3))
    start = int(rng.choice([1_325_000_000, 1_743_300_000, 1_762_128_000])) + int(rng.integers(86_400))
    span = 12 * 86_400
    begins = [start] + list(range(start // interval * interval + interval, start + span, interval))
    begins = begins[:600]
    rows = [(s.store_id, b, int(rng.integers(6)), int(rng.integers(6))) for b in begins for s in stores]
    want = _registers_by_definition(stores, start, interval, minute, rows)
    registers = Registers(stores, start, interval, minute)
    got: list[tuple[int, int, int]] = []
    cuts = sorted(rng.choice(np.arange(1, len(rows)), size=4, replace=False).tolist())
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        part = rows[lo:hi]
        ids = np.empty(len(part), dtype=object)
        ids[:] = [r[0] for r in part]
        begin = np.array([r[1] for r in part], dtype=np.int64)
        counts = CountColumns(store_id=ids, interval_start=begin, interval_end=(begin // interval + 1) * interval,
                              entries=np.array([r[2] for r in part], dtype=np.int64),
                              exits=np.array([r[3] for r in part], dtype=np.int64))
        regs = registers.add(counts)
        assert np.array_equal(regs.occupancy, np.maximum(regs.in_total - regs.out_total, 0))
        got += list(zip(regs.reset_at.tolist(), regs.in_total.tolist(), regs.out_total.tolist(), strict=True))
    assert got == want
