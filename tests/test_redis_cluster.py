"""Live streams on a Redis Cluster: shards of stores, per-store streams, a primary's failover.

A real cluster of 3 primaries and 3 replicas started by the test
(tests/redis_cluster.py). Two producers, ``SHARD=0/2`` and ``SHARD=1/2``,
each write their stores to per-store streams; every store's streams must
equal the offline run's lines of that store, byte for byte and in order.
With a primary killed mid-run (SIGKILL) and its replica promoted, still
nothing is lost or doubled: the producers buffer through the failover,
re-read the streams' tops on the new primary, skip what it holds and write
again what it never got (asynchronous replication may lose acknowledged
writes; the outbox's heal regenerates them). With a ``[sensor]``, each
store's five streams (sessions, the sensor's records, the true door events,
the interval counts, the registers) share its hash tag and equal its lines of the offline
files.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from producer.live.shards import shard_of
from tests.per_store import (
    ARGS,
    STORES,
    assert_each_store_equals,
    assert_each_store_equals_sensor,
    offline_by_store,
    offline_sensor_by_store,
    write_sensor_stores,
    write_stores,
)
from tests.producer_run import one_line, run_producer, watch_producer
from tests.profiles import profile_text
from tests.redis_cluster import RedisClusterServers
from tests.test_producer_sensor import SENSOR

START, DAYS = "2025-11-03T20:00:00", "1"
SPAN = ("--start", START, "--days", DAYS)
BUSY = 6000  #: customers a day of the first store in the failover test (about 250,000 events in all)


@pytest.fixture
def cluster() -> Iterator[RedisClusterServers]:
    """A cluster of its own, for a test that breaks it."""
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def shared_cluster() -> Iterator[RedisClusterServers]:
    """One cluster for the tests that leave it whole (each uses keys of its own)."""
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


def test_the_two_shards_split_the_twelve_stores() -> None:
    split = [sum(1 for s in STORES if shard_of(s, 2) == i) for i in (0, 1)]
    assert sum(split) == 12 and min(split) >= 3  # both shards have work (else the test shows little)


def test_two_shards_on_a_cluster_write_each_store_exactly_the_offline_events(
    shared_cluster: RedisClusterServers, tmp_path: Path,
) -> None:
    cluster = shared_cluster
    stores = write_stores(tmp_path / "stores.toml")
    settings = {"redis_cluster": "1", "stream_per_store": "1", "stores": stores, "speed": "1e6"}
    shards = [watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, *ARGS, shard=s, **settings)
              for s in ("0/2", "1/2")]
    for shard in shards:
        _, err = shard.finish(timeout=60)
        assert shard.proc.returncode == 0, err
    client = cluster.client()
    assert_each_store_equals(client, "foot_traffic", offline_by_store(tmp_path, stores, *SPAN))
    runs = {client.hget(f"foot_traffic:{{{s}}}:run", "seed") for s in STORES}
    assert runs == {b"5"}  # each store keeps its own run record, on its streams' slot


def test_two_shards_with_a_sensor_on_a_cluster_write_each_store_exactly_the_offline_files(
    shared_cluster: RedisClusterServers, tmp_path: Path,
) -> None:
    """With a [sensor], each store's four streams (one hash tag, one slot) equal its lines of the offline files."""
    cluster = shared_cluster
    sensor = profile_text(tables=SENSOR.format(mode="hold", median=20))
    stores = write_sensor_stores(tmp_path / "stores.toml", sensor)
    settings = {"redis_cluster": "1", "stream_per_store": "1", "stores": stores, "speed": "1e6",
                "redis_stream": "sensed"}
    shards = [watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, *ARGS, shard=s, **settings)
              for s in ("0/2", "1/2")]
    for shard in shards:
        _, err = shard.finish(timeout=60)
        assert shard.proc.returncode == 0, err
    client = cluster.client()
    assert_each_store_equals_sensor(client, "sensed", offline_sensor_by_store(tmp_path, stores, *SPAN))
    for store in STORES:
        suffixes = ("", ":realistic", ":realistic:true", ":counts", ":registers", ":run")
        names = [f"sensed:{{{store}}}{suffix}" for suffix in suffixes]
        assert len({key_slot(name.encode()) for name in names}) == 1, store
    homes = {cluster.primary_of(f"sensed:{{{s}}}") for s in STORES}
    assert len(homes) > 1  # the stores spread over the primaries


def test_a_cluster_without_redis_cluster_is_one_line(shared_cluster: RedisClusterServers, tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml")
    done = run_producer(shared_cluster.url, "--days", "0.1", *ARGS, redis_stream="plain", stream_per_store="1",
                        stores=stores, speed="1e6")
    assert done.returncode == 1
    assert "is a Redis Cluster node (it answered MOVED" in one_line(done.stderr)
    assert "set REDIS_CLUSTER=1" in one_line(done.stderr)


def _kill_a_primary_mid_run(cluster: RedisClusterServers, stores: Path) -> str:
    """Two shards write; a primary dies holding acknowledged writes its replica never got; their logs."""
    # The model writes as fast as it can when the primary dies: a new run at SPEED 1e6 is not behind when it
    # starts (so no backfill: tests/test_backfill_per_store_faults.py has its failover), then always behind.
    settings = {"redis_cluster": "1", "stream_per_store": "1", "stores": stores, "speed": "1e6"}
    shards = [watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, *ARGS, shard=s, **settings)
              for s in ("0/2", "1/2")]
    client = cluster.client()
    victim = cluster.primary_of("foot_traffic:{s00}")
    primary = redis.Redis(port=victim)
    replica_port = int(primary.info("replication")["slave0"]["port"])
    assert _wait_until(lambda: (client.xlen("foot_traffic:{s00}:realistic") or 0) > 2000)
    # Freeze the replica: what the primary acknowledges from now on piles up in its output buffer
    # to the replica, and is lost with it (asynchronous replication) when the primary dies.
    replica = cluster.procs[replica_port]
    replica.send_signal(signal.SIGSTOP)
    try:
        assert _wait_until(lambda: _replica_backlog(primary) > 1_000_000, timeout=20), \
            "acknowledged writes not yet replicated when the primary dies"
        cluster.kill(victim)
    finally:
        replica.send_signal(signal.SIGCONT)
    cluster.wait_ok()
    for shard in shards:
        _, err = shard.finish(timeout=90)
        assert shard.proc.returncode == 0, err
    logs = "".join(s.stderr for s in shards)
    assert "backfilled" not in logs  # the model met the failover
    assert "buffering events" in logs  # the failover was met mid-run, not after
    assert "lost entries regenerated" in logs  # the promoted replica lacked acknowledged entries: healed
    return logs


def test_a_primary_killed_mid_run_loses_and_doubles_nothing(cluster: RedisClusterServers, tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml", base=BUSY)
    _kill_a_primary_mid_run(cluster, stores)
    assert_each_store_equals(cluster.client(), "foot_traffic", offline_by_store(tmp_path, stores, *SPAN))


def test_a_primary_killed_mid_run_with_a_sensor_loses_and_doubles_nothing(
    cluster: RedisClusterServers, tmp_path: Path,
) -> None:
    """As above, with a [sensor]: the heal makes every lost entry of the four streams of each store again."""
    sensor = profile_text(tables=SENSOR.format(mode="hold", median=20))
    stores = write_sensor_stores(tmp_path / "stores.toml", sensor, base=BUSY)
    _kill_a_primary_mid_run(cluster, stores)
    assert_each_store_equals_sensor(cluster.client(), "foot_traffic", offline_sensor_by_store(tmp_path, stores, *SPAN))


def test_a_manual_failover_mid_run_moves_the_writes_to_the_new_primary(
    cluster: RedisClusterServers, tmp_path: Path,
) -> None:
    """``CLUSTER FAILOVER`` on a replica: the old primary answers MOVED, the producers follow the slots."""
    stores = write_stores(tmp_path / "stores.toml", base=BUSY)
    settings = {"redis_cluster": "1", "stream_per_store": "1", "stores": stores, "speed": "1e6"}  # the model, as above
    shards = [watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, *ARGS, shard=s, **settings)
              for s in ("0/2", "1/2")]
    client = cluster.client()
    victim = cluster.primary_of("foot_traffic:{s00}")
    replica = redis.Redis(port=int(redis.Redis(port=victim).info("replication")["slave0"]["port"]))
    assert _wait_until(lambda: (client.xlen("foot_traffic:{s00}:realistic") or 0) > 2000)
    replica.execute_command("CLUSTER", "FAILOVER")
    assert _wait_until(lambda: replica.info("replication")["role"] == "master")
    cluster.wait_ok()
    for shard in shards:
        _, err = shard.finish(timeout=60)
        assert shard.proc.returncode == 0, err
    logs = "".join(s.stderr for s in shards)
    assert "backfilled" not in logs  # the model met the failover
    assert "re-reading the slot table" in logs and "MOVED" in logs  # the old primary refused a batch mid-run
    assert_each_store_equals(cluster.client(), "foot_traffic", offline_by_store(tmp_path, stores, *SPAN))


def _replica_backlog(primary: redis.Redis) -> int:
    """Bytes the primary holds for its replica and has not sent (its output buffer to the replica)."""
    replicas = primary.client_list(_type="replica")
    return max((int(c["omem"]) for c in replicas), default=0)


def _wait_until(check: object, timeout: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return True
        except redis.RedisError:
            pass
        time.sleep(0.02)
    return False
