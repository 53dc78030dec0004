"""The counter's cumulative registers live: ``<REDIS_STREAM>:registers`` is the offline registers file, exactly once.

Two stores whose counters reset at 04:15 local time, New York (UTC-5) and
Kolkata (UTC+5:30), so the resets fall at neither a UTC midnight nor the
same instant. The registers stream read back is the offline
``foot_traffic_registers.jsonl`` of the same seed, line for line, each entry
dated by its interval's end: written by the model, by the backfill
(``SPEED=max``), with a stream set per store, and after a ``kill -9`` mid-run
and a restart (which continues each register from its last reset, replaying
from the sensor's horizon, not from the run's start). ``COUNTER_RESET`` is
part of the stored run: a restart with another is one line, exit 2; a run
stored before the live registers takes the reset of the producer that
continues it, and keeps it.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis

from producer.live.sensor_pump import sensor_start
from producer.stores_file import load_stores
from sim.counter_feed import last_reset
from sim.sensor_stream import DAY, HORIZON_MS
from sim.store import Store
from tests.per_store import ms_ids
from tests.producer_run import one_line, run_producer, start_producer, wait_for
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer
from tests.test_counter_feed import STORES  # New York and Kolkata, both with profile "sensor.toml"
from tests.test_producer_sensor import SENSOR, assert_streams_equal_files, offline_files, streams

REGISTERS = "foot_traffic:registers"
START = "2025-11-03T05:00:00"
RESET = "04:15"
ZONES = {"nyc": ZoneInfo("America/New_York"), "kolkata": ZoneInfo("Asia/Kolkata")}


def _stores(tmp: Path) -> Path:
    write_profile(tmp, profile_text(tables=SENSOR.format(mode="hold", median=300)), "sensor.toml")
    path = tmp / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    return path


def _span(tmp: Path, days: str, seed: str = "11") -> list[str]:
    return ["--seed", seed, "--days", days, "--stores", str(_stores(tmp)), "--counter-reset", RESET]


def _registers(client: redis.Redis, name: str = REGISTERS) -> list[tuple[bytes, bytes]]:
    return [(eid, fields[b"data"]) for eid, fields in client.xrange(name, "-", "+")]


def _assert_registers(got: list[tuple[bytes, bytes]], want: list[bytes]) -> None:
    """The stream is the file, line for line, ids ``<interval_end ms>-<seq>``; the resets at 04:15 local."""
    assert len(want) > 100
    assert [data for _, data in got] == want
    assert [eid for eid, _ in got] == ms_ids(want, "interval_end")
    start = dt.datetime.fromisoformat(START).replace(tzinfo=dt.UTC)
    for store, at in {(r["store_id"], r["reset_at"]) for r in map(json.loads, want)}:
        t = dt.datetime.fromisoformat(at)
        if t != start:  # the run's start is a reset too
            assert t.astimezone(ZONES[store]).strftime("%H:%M") == RESET, (store, at)


@pytest.mark.parametrize("speed", ["1e6", "max"])
def test_the_registers_stream_is_the_offline_registers_file(redis_server: RedisServer, tmp_path: Path, speed: str) -> None:
    span = _span(tmp_path, "3")
    done = run_producer(redis_server.url, "--sim-start", START, *span, speed=speed, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "register rows" in done.stderr
    if speed == "max":
        assert "backfilled" in done.stderr
    files = offline_files(tmp_path, "--start", START, *span)
    _assert_registers(_registers(redis.Redis.from_url(redis_server.url)), files["foot_traffic_registers"])
    assert_streams_equal_files(streams(redis_server.url), files)


def test_each_store_has_its_registers_stream(redis_server: RedisServer, tmp_path: Path) -> None:
    span = _span(tmp_path, "2")
    done = run_producer(redis_server.url, "--sim-start", START, *span, speed="1e6", stream_per_store="1")
    assert done.returncode == 0, done.stderr
    want = offline_files(tmp_path, "--start", START, *span)["foot_traffic_registers"]
    client = redis.Redis.from_url(redis_server.url)
    assert not client.exists(REGISTERS)
    for store in ("nyc", "kolkata"):
        mine = [line for line in want if json.loads(line)["store_id"] == store]
        got = _registers(client, f"foot_traffic:{{{store}}}:registers")
        assert [data for _, data in got] == mine, store
        assert [eid for eid, _ in got] == ms_ids(mine, "interval_end"), store


def test_registers_exactly_once_across_a_kill_and_a_restart(redis_server: RedisServer, tmp_path: Path) -> None:
    # Six days; killed (no flush, no goodbye) once the registers pass the fifth day's 04:15 resets: the
    # restart replays from a UTC midnight three days and more before the tops, not the run's start, and
    # continues every register from its store's last reset.
    span = _span(tmp_path, "6", seed="23")
    client = redis.Redis.from_url(redis_server.url)
    cut = dt.datetime(2025, 11, 8, 12, tzinfo=dt.UTC).timestamp() * 1000
    first = start_producer(redis_server.url, "--sim-start", START, *span, speed="100000")
    try:
        def past_cut() -> bool:
            last = client.xrevrange(REGISTERS, count=1)
            return bool(last) and int(last[0][0].split(b"-")[0]) > cut
        wait_for(past_cut, timeout=240)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    files = offline_files(tmp_path, "--start", START, *span)
    want = files["foot_traffic_registers"]
    before = client.xlen(REGISTERS)
    assert 0 < before < len(want), "killed mid-run"
    second = run_producer(redis_server.url, *span[2:], speed="1e6", timeout=300)  # no seed: the stored run's
    assert second.returncode == 0, second.stderr
    assert "run: seed 23, start 2025-11-03T05:00:00" in second.stderr, second.stderr
    assert "replaying the model from 2025-11-0" in second.stderr and "from 2025-11-03T0" not in second.stderr
    assert f"{len(want) - before:,} register rows" in second.stderr
    _assert_registers(_registers(client), want)
    assert_streams_equal_files(streams(redis_server.url), files)


def test_counter_reset_is_part_of_the_run(redis_server: RedisServer, tmp_path: Path) -> None:
    span = ["--sim-start", START, *_span(tmp_path, "0.5")]
    first = run_producer(redis_server.url, *span, speed="1e6")
    assert first.returncode == 0, first.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert json.loads(client.hget("foot_traffic:run", "traffic"))["counter_reset"] == "255"  # 04:15
    other = [*span]
    other[other.index("--counter-reset") + 1] = "06:00"
    done = run_producer(redis_server.url, *other, speed="1e6")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "COUNTER_RESET=06:00 differs from the stored run's COUNTER_RESET=04:15" in line and "--fresh" in line, line
    again = run_producer(redis_server.url, *span, speed="1e6")
    assert again.returncode == 0, again.stderr


def test_a_run_stored_before_the_live_registers_is_continued_and_keeps_its_reset(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    span = ["--sim-start", START, *_span(tmp_path, "1")]
    first = run_producer(redis_server.url, *span, speed="1e6")
    assert first.returncode == 0, first.stderr
    client = redis.Redis.from_url(redis_server.url)
    # As an older producer left it: no reset in the record, no registers stream.
    traffic = json.loads(client.hget("foot_traffic:run", "traffic"))
    del traffic["counter_reset"]
    client.hset("foot_traffic:run", "traffic", json.dumps(traffic, sort_keys=True))
    client.delete(REGISTERS)
    again = run_producer(redis_server.url, *span, speed="1e6")
    assert again.returncode == 0, again.stderr
    assert "now keeps COUNTER_RESET" in again.stderr
    assert json.loads(client.hget("foot_traffic:run", "traffic"))["counter_reset"] == "255"
    files = offline_files(tmp_path, "--start", START, *span[2:])
    _assert_registers(_registers(client), files["foot_traffic_registers"])  # made again from the run's start
    assert_streams_equal_files(streams(redis_server.url), files)  # nothing else written twice


def _stores_loaded(tmp: Path) -> tuple[Store, ...]:
    return tuple(load_stores(_stores(tmp), Store()))


@pytest.mark.parametrize("interval", [60, 420, 900, 3600, 43_200, 86_400])
@pytest.mark.parametrize("reset", [0, 255, 1439])
def test_a_restart_feeds_the_layer_from_before_each_registers_last_reset(
    tmp_path: Path, interval: int, reset: int,
) -> None:
    """Where a restart's layer starts covers each store's last reset before the first register it writes; with
    today's three-day horizon that is never earlier than the horizon's own midnight (no replay added)."""
    stores = _stores_loaded(tmp_path)
    sim_start = int(dt.datetime(2026, 2, 20, tzinfo=dt.UTC).timestamp())
    for top in range(sim_start + 4 * DAY, sim_start + 40 * DAY, 7 * 3600 + 11):  # over New York's DST change
        tops = [(top * 1000, 0), ((top + 5000) * 1000, 3)]
        _, feed_from = sensor_start(sim_start, tops, stores, interval, counter_reset=reset)
        assert feed_from % DAY == 0
        assert feed_from == (top - HORIZON_MS // 1000 - interval) // DAY * DAY
        assert all(feed_from <= last_reset(s, reset, interval, top - interval) for s in stores)


def test_a_shorter_horizon_would_feed_from_the_midnight_before_the_last_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import producer.live.sensor_pump as pump

    monkeypatch.setattr(pump, "HORIZON_MS", 0)  # records delivered at once: the registers decide alone
    stores = _stores_loaded(tmp_path)
    sim_start = int(dt.datetime.fromisoformat(START).replace(tzinfo=dt.UTC).timestamp())
    top = int(dt.datetime(2025, 11, 10, 3, tzinfo=dt.UTC).timestamp())  # before New York's 04:15 (09:15 UTC)
    _, feed_from = sensor_start(sim_start, [(top * 1000, 0)], stores, 900, counter_reset=255)
    # New York's last reset before then: 2025-11-09T09:15Z; Kolkata's: 2025-11-09T22:45Z. The earlier one's midnight.
    assert feed_from == int(dt.datetime(2025, 11, 9, tzinfo=dt.UTC).timestamp())
    assert feed_from < (top - 900) // DAY * DAY
