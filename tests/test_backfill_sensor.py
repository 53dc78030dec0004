"""A run with a sensor is backfilled too: its five streams catch up exactly as the door streams do.

A producer with a ``[sensor]`` profile is stopped and continued after a
pause of a few wall seconds at a high SPEED: the continued run starts a
day and more behind its clock and writes the sessions, the sensor's
records, the true door events and the interval counts due by then with the
backfill (``producer.live.sensor_backfill``), then hands over to the
model, which writes the rest (and the sensor's tail after the run's end).
The five streams must equal ``simulate``'s five files for the same seed,
entry for entry, with the pump's ids: for stores without a capacity (the
vectorized engine), with one (the exact engine), and with a stream set
per store (``STREAM_PER_STORE=1``).
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import time
from pathlib import Path

import pytest
import redis

from sim.profile import DEFAULT_WEIGHTS
from tests.per_store import assert_each_store_equals_sensor, offline_sensor_by_store, write_sensor_stores
from tests.producer_run import SESSIONS, run_producer, wait_for, watch_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer
from tests.test_producer_sensor import SENSOR, _tops_past, assert_streams_equal_files, offline_files, streams

START, END = "2025-11-03T08:00:00", "2025-11-05T12:00:00"
NIGHTS_CLOSED = {day: [0.0, *weights[1:]] for day, weights in DEFAULT_WEIGHTS.items()}
CASES = {
    "no capacity": [],
    "queue with patience, rejected written": ["--store-capacity", "25", "--patience-minutes", "4",
                                              "--write-rejected"],
}


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def _backfilled(stderr: str) -> int:
    found = re.findall(r"backfilled (\d+) entries", stderr)
    assert found, stderr
    return int(found[-1])


@pytest.mark.parametrize("case", list(CASES))
def test_a_sensor_run_restarted_behind_is_backfilled_on_all_four_streams(
    redis_server: RedisServer, tmp_path: Path, case: str,
) -> None:
    profile = write_profile(tmp_path, profile_text(tables=SENSOR.format(mode="hold", median=300),
                                                   weights=NIGHTS_CLOSED))
    args = ["--seed", "9", "--profile-file", str(profile), "--daily-customers", "1500", *CASES[case]]
    span = ["--sim-start", START, "--until", END, *args]
    client = redis.Redis.from_url(redis_server.url)
    first = watch_producer(redis_server.url, *span, speed="20000", count_interval="7")
    wait_for(lambda: _tops_past(client, SESSIONS, _epoch(START) + 2 * 3600), timeout=60)
    first.proc.send_signal(signal.SIGTERM)  # stopped mid-run: a finished sensor run cannot be continued
    _, err = first.finish()
    assert first.proc.returncode == 0 and "stopped at" in err, err
    assert "backfilled" not in err
    # 5 wall s are 100,000 simulated seconds at SPEED 20,000: the restart is more than a day behind
    # (4 s backfilled fewer than 5,000 entries on a quiet machine, where the first run stops sooner).
    time.sleep(5)
    second = run_producer(redis_server.url, *span, speed="20000", count_interval="7", timeout=120)
    assert second.returncode == 0, second.stderr
    assert "continued run" in second.stderr and "s behind: backfilling from" in second.stderr, second.stderr
    assert _backfilled(second.stderr) > 5000, second.stderr
    assert "the sensor's last records and counts follow until" in second.stderr
    files = offline_files(tmp_path, "--start", START, "--until", END, *args, "--count-interval", "7")
    assert len(files["foot_traffic_realistic"]) > 2000 and len(files["foot_traffic_counts"]) > 400
    assert_streams_equal_files(streams(redis_server.url), files)


def test_speed_max_per_store_with_a_sensor_is_backfilled(redis_server: RedisServer, tmp_path: Path) -> None:
    stores = write_sensor_stores(tmp_path / "stores.toml", profile_text(tables=SENSOR.format(mode="lose", median=30)))
    span = ["--sim-start", "2025-11-03T06:00:00", "--days", "4"]
    done = run_producer(redis_server.url, *span, "--stores", str(stores), "--seed", "5", speed="max",
                        stream_per_store="1", timeout=180)
    assert done.returncode == 0, done.stderr
    assert "--speed max: writing" in done.stderr and _backfilled(done.stderr) > 50_000, done.stderr
    expected = offline_sensor_by_store(tmp_path, stores, "--start", *span[1:2], *span[2:])
    assert_each_store_equals_sensor(redis.Redis.from_url(redis_server.url), "foot_traffic", expected)
