"""A door sensor with ``STREAM_PER_STORE=1`` on one Redis: five streams per store, each its store's offline lines.

Each store writes ``<REDIS_STREAM>:{<id>}`` (sessions), ``...:realistic``
(the sensor's records), ``...:realistic:true`` (the true door events),
``...:counts`` (its interval counts) and ``...:registers`` (its cumulative
registers); every one must hold exactly that
store's lines of the offline files of the same sensor run (``simulate
--stores``, same seed), with ids counted per stream, however the stores are
split into shards, after a shard is stopped mid-run and restarted (it
resumes from the streams' tops, replaying the sensor's three-day horizon),
and after Redis restarts empty (the heal regenerates every store's five
streams). The stores file mixes stores with a ``[sensor]`` and without.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import orjson
import redis

from producer.live.shards import shard_of
from tests.per_store import (
    ARGS,
    STORES,
    assert_each_store_equals_sensor,
    offline_sensor_by_store,
    write_sensor_stores,
)
from tests.producer_run import run_producer, start_producer, stream_len, wait_for, watch_producer
from tests.profiles import profile_text
from tests.redis_server import RedisServer
from tests.test_producer_sensor import SENSOR, _ms

START = "2025-11-03T20:00:00"


def _stores(tmp: Path, median: int = 20, base: int = 300) -> Path:
    sensor = profile_text(tables=SENSOR.format(mode="hold", median=median))
    return write_sensor_stores(tmp / "stores.toml", sensor, base=base)


def test_two_shards_with_a_sensor_write_each_store_exactly_the_offline_files(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    stores = _stores(tmp_path)
    for shard in ("0/2", "1/2"):
        done = run_producer(redis_server.url, "--sim-start", START, "--days", "1", *ARGS, stream_per_store="1",
                            shard=shard, stores=stores, speed="1e6", count_interval="10")
        assert done.returncode == 0, done.stderr
        assert "sensor record" in done.stderr and "interval count" in done.stderr
    client = redis.Redis.from_url(redis_server.url)
    expected = offline_sensor_by_store(tmp_path, stores, "--start", START, "--days", "1", "--count-interval", "10")
    assert_each_store_equals_sensor(client, "foot_traffic", expected)
    assert not client.exists("foot_traffic", "foot_traffic:realistic", "foot_traffic:counts", "foot_traffic:run")
    # A store without [sensor] gets the perfect sensor: each true crossing delivered once, at once.
    assert len(expected["s01"][1]) == sum(b'"event_type":"entry"' in line or b'"event_type":"exit"' in line
                                          for line in expected["s01"][2])


def test_a_shard_stopped_mid_run_and_restarted_continues_its_stores_four_streams(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    # Five days, stopped on the fifth: the restart feeds the sensor from a UTC midnight at least its
    # horizon (three days) before the streams' tops, while records of crossings before the stop
    # (delays of minutes, held outages) are still to come.
    stores = _stores(tmp_path, median=300, base=100)
    mine = [s for s in STORES if shard_of(s, 2) == 1]
    span = ("--days", "5", *ARGS)
    common = {"stream_per_store": "1", "shard": "1/2", "stores": stores, "speed": "50000"}
    client = redis.Redis.from_url(redis_server.url)
    start = dt.datetime(2025, 11, 3, tzinfo=dt.UTC).timestamp()
    first = watch_producer(redis_server.url, "--sim-start", "2025-11-03", *span, **common)
    wait_for(lambda: _top(client, f"foot_traffic:{{{mine[0]}}}") > (start + 4.6 * 86_400) * 1000, timeout=120)
    first.proc.send_signal(signal.SIGTERM)
    _, err = first.finish()
    assert first.proc.returncode == 0, err
    assert "stopped at" in err, "the run was stopped before its end"
    before = {s: _top(client, f"foot_traffic:{{{s}}}:realistic") for s in mine}
    stop = min(_top(client, f"foot_traffic:{{{s}}}:realistic:true") for s in mine)
    second = run_producer(redis_server.url, "--days", "5", timeout=120, **common)  # no seed: the stored run's
    assert second.returncode == 0, second.stderr
    assert "continued run: seed 5" in second.stderr
    assert "replaying the model from 2025-11-0" in second.stderr and "from 2025-11-03T00" not in second.stderr
    expected = offline_sensor_by_store(tmp_path, stores, "--start", "2025-11-03", "--days", "5")
    assert all(0 < before[s] < _top(client, f"foot_traffic:{{{s}}}:realistic") for s in mine), before
    records = [orjson.loads(line) for s in mine for line in expected[s][1]]
    assert any(_ms(r["time"]) <= stop < _ms(r["sent_at"]) for r in records), "records straddle the stop"
    assert_each_store_equals_sensor(client, "foot_traffic", {s: expected[s] for s in mine})
    assert not any(client.exists(f"foot_traffic:{{{s}}}:realistic") for s in STORES if s not in mine)


def test_redis_restarted_empty_mid_run_heals_every_stores_four_streams(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    server = RedisServer().start()  # no persistence: a restart comes back empty
    try:
        client = redis.Redis.from_url(server.url)
        proc = start_producer(server.url, "--sim-start", START, "--days", "1", *ARGS, stream_per_store="1",
                              stores=stores, speed="20000")
        wait_for(lambda: stream_len(client, "foot_traffic:{s00}:counts") > 20
                 and stream_len(client, "foot_traffic:{s11}:realistic") > 300, timeout=60)
        server.stop()
        time.sleep(0.3)
        server.start()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "lost entries regenerated" in err  # the heal ran, for every store's four streams
        expected = offline_sensor_by_store(tmp_path, stores, "--start", START, "--days", "1")
        assert_each_store_equals_sensor(redis.Redis.from_url(server.url), "foot_traffic", expected)
    finally:
        server.close()


def _top(client: redis.Redis, name: str) -> int:
    """The millisecond of a stream's last id (0: empty or Redis away)."""
    try:
        last = client.xrevrange(name, count=1)
    except redis.ConnectionError:
        return 0
    return int(last[0][0].split(b"-")[0]) if last else 0
