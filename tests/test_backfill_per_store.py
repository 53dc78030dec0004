"""The backfill with ``STREAM_PER_STORE=1``, on one Redis and on a Redis Cluster: each store equals the offline run.

A restarted shard hours behind its clock, and ``SPEED=max`` with per-store
streams, are written by the backfill (the vectorized engine, pipelines per
stream, on a cluster per primary), not caught up by the SimPy model. Each
store's two streams must hold exactly that store's lines of
``foot-traffic simulate``'s JSONL files, in order, byte for byte, with the
ids the model's :class:`~producer.live.shards.StoreEmitter` gives:
``<event time in ms>-<number within that ms>``, counted per stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.per_store import ARGS, assert_each_store_equals, offline_by_store, write_stores
from tests.producer_run import run_producer
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer

SHARDS = ("0/2", "1/2")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    """One cluster for this module's tests (each writes streams of its own name)."""
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


def restarted_shards(url: str, tmp: Path, **settings: Any) -> list[str]:
    """Two shards produce two hours, stop, and continue hours behind their clock; their logs."""
    stores = write_stores(tmp / "stores.toml")
    common = {"stream_per_store": "1", "stores": stores, "speed": "20000", **settings}
    for shard in SHARDS:
        first = run_producer(url, "--sim-start", "2025-11-03T08:00:00", "--until", "2025-11-03T10:00:00", *ARGS,
                             shard=shard, **common)
        assert first.returncode == 0, first.stderr
        assert "backfilled" not in first.stderr  # a new run starts on its clock: the model writes it
    # The runs' clocks go on while no producer runs: 3 wall s are 60,000 simulated seconds at SPEED 20,000.
    time.sleep(3)
    logs = []
    for shard in SHARDS:
        second = run_producer(url, "--until", "2025-11-04T12:00:00", *ARGS, shard=shard, **common)
        assert second.returncode == 0, second.stderr
        assert "continued run" in second.stderr and "s behind: backfilling from" in second.stderr, second.stderr
        assert "backfilled" in second.stderr and "backfill stopped" not in second.stderr, second.stderr
        logs.append(second.stderr)
    return logs


def speed_max_shards(url: str, tmp: Path, **settings: Any) -> None:
    """Two shards at SPEED=max, each writing its stores' whole span at once."""
    stores = write_stores(tmp / "stores.toml")
    for shard in SHARDS:
        done = run_producer(url, "--sim-start", "2025-11-03T20:00:00", "--days", "1.5", "--speed", "max", *ARGS,
                            stream_per_store="1", shard=shard, stores=stores, **settings)
        assert done.returncode == 0, done.stderr
        assert "backfilled" in done.stderr and "backfill stopped" not in done.stderr, done.stderr


def test_a_restarted_shard_hours_behind_backfills_each_store(redis_server: RedisServer, tmp_path: Path) -> None:
    restarted_shards(redis_server.url, tmp_path)
    expected = offline_by_store(tmp_path, tmp_path / "stores.toml", "--start", "2025-11-03T08:00:00",
                        "--until", "2025-11-04T12:00:00")
    assert_each_store_equals(redis.Redis.from_url(redis_server.url), "foot_traffic", expected)


def test_speed_max_with_per_store_streams_backfills_each_store(redis_server: RedisServer, tmp_path: Path) -> None:
    speed_max_shards(redis_server.url, tmp_path)
    expected = offline_by_store(tmp_path, tmp_path / "stores.toml", "--start", "2025-11-03T20:00:00", "--days", "1.5")
    assert_each_store_equals(redis.Redis.from_url(redis_server.url), "foot_traffic", expected)


def test_a_restarted_shard_on_a_cluster_backfills_each_store(cluster: RedisClusterServers, tmp_path: Path) -> None:
    restarted_shards(cluster.url, tmp_path, redis_cluster="1", redis_stream="restarted")
    expected = offline_by_store(tmp_path, tmp_path / "stores.toml", "--start", "2025-11-03T08:00:00",
                        "--until", "2025-11-04T12:00:00")
    assert_each_store_equals(cluster.client(), "restarted", expected)


def test_speed_max_on_a_cluster_backfills_each_store(cluster: RedisClusterServers, tmp_path: Path) -> None:
    speed_max_shards(cluster.url, tmp_path, redis_cluster="1", redis_stream="max")
    expected = offline_by_store(tmp_path, tmp_path / "stores.toml", "--start", "2025-11-03T20:00:00", "--days", "1.5")
    assert_each_store_equals(cluster.client(), "max", expected)
