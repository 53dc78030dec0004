"""What the cluster tests left out: ``--fresh`` on a cluster, a standby per shard, ``ASK`` in a resharding.

A real cluster of 3 primaries and 3 replicas (tests/redis_cluster.py), twelve
stores on per-store streams (tests/per_store.py); each test ends with every
store's streams equal to the offline run's lines of that store, byte for
byte, ids included.

- ``--fresh``: the streams hold an older run (another seed); a new run with
  ``--fresh`` replaces each store's streams, on the primary of its slot.
- ``STANDBY=1`` with shards: shard 0 has a standby; its active producer is
  killed (SIGKILL) mid-run; the standby takes its lease over and continues
  its run exactly, while shard 1 runs on undisturbed.
- A resharding while producing: ``redis-cli --cluster reshard`` moves the
  slot of a store's streams (and every slot before it on that primary) to
  another primary while two shards write; in the migration the old primary
  answers ``ASK`` for what has moved, then ``MOVED``. The shards follow a
  clock the test moves (``CLOCK=redis``): on during the migration, short of
  the run's end until it is over, so however long the resharding takes on a
  busy machine the run is still going when it ends.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.per_store import ARGS, STORES, assert_each_store_equals, offline_by_store, write_stores
from tests.producer_run import watch_producer
from tests.redis_cluster import RedisClusterServers

START, DAYS = "2025-11-03T20:00:00", "1"
T0 = dt.datetime.fromisoformat(START).replace(tzinfo=dt.UTC)
SPAN = ("--start", START, "--days", DAYS)


@pytest.fixture
def cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


def _settings(stores: Path, stream: str, **more: str) -> dict[str, object]:
    return {"redis_cluster": "1", "stream_per_store": "1", "stores": stores, "redis_stream": stream, **more}


def _wait_until(check: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_fresh_on_a_cluster_replaces_every_stores_streams(cluster: RedisClusterServers, tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml")
    older = watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, "--seed", "11",
                           **_settings(stores, "fresh", speed="1e6"))
    _, err = older.finish(timeout=90)
    assert older.proc.returncode == 0, err
    client = cluster.client()
    assert all(client.hget(f"fresh:{{{s}}}:run", "seed") == b"11" for s in STORES)
    newer = watch_producer(cluster.url, "--sim-start", START, "--days", DAYS, *ARGS, "--fresh",
                           **_settings(stores, "fresh", speed="1e6"))
    _, err = newer.finish(timeout=90)
    assert newer.proc.returncode == 0, err
    assert_each_store_equals(client, "fresh", offline_by_store(tmp_path, stores, *SPAN))
    assert {client.hget(f"fresh:{{{s}}}:run", "seed") for s in STORES} == {b"5"}


def test_the_standby_of_one_shard_takes_over_exactly(cluster: RedisClusterServers, tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml", base=3000)
    span = ("--sim-start", START, "--days", DAYS, *ARGS)
    slow = _settings(stores, "standby", speed="8000", lease_seconds="1")
    active = watch_producer(cluster.url, *span, shard="0/2", **slow)
    other = watch_producer(cluster.url, *span, shard="1/2", **slow)
    active.wait_for_log("on the clock")
    standby = watch_producer(cluster.url, *span, shard="0/2", standby="1", **slow)
    standby.wait_for_log("standby, waiting to take over")
    client = cluster.client()
    _wait_until(lambda: sum(client.xlen(f"standby:{{{s}}}:realistic") or 0 for s in STORES) > 5_000,
                "the active producers to be mid-run")
    active.proc.send_signal(signal.SIGKILL)
    active.finish(timeout=10)
    _, err = standby.finish(timeout=180)
    assert standby.proc.returncode == 0, err
    assert "took over lease" in err and "continued run" in err
    _, err_other = other.finish(timeout=180)
    assert other.proc.returncode == 0, err_other
    assert_each_store_equals(client, "standby", offline_by_store(tmp_path, stores, *SPAN))


def test_a_resharding_while_producing_loses_and_doubles_nothing(
    cluster: RedisClusterServers, tmp_path: Path,
) -> None:
    stores = write_stores(tmp_path / "stores.toml", base=3000)
    span = ("--sim-start", START, "--days", DAYS, *ARGS)
    settings = _settings(stores, "moving", clock="redis")
    client = cluster.client()

    def clock(hours: float) -> None:
        client.set("sim:now", (T0 + dt.timedelta(hours=hours)).isoformat())

    clock(0)
    shards = [watch_producer(cluster.url, *span, shard=s, **settings) for s in ("0/2", "1/2")]
    try:
        key = "moving:{s00}"
        source = cluster.primary_of(key)
        target = next(p for p in cluster.primaries() if p != source)
        node_id = {p: redis.Redis(port=p).execute_command("CLUSTER", "MYID").decode() for p in (source, target)}
        slot = int(redis.Redis(port=source).execute_command("CLUSTER", "KEYSLOT", key))
        first = min(int(lo) for lo, hi, primary, *_ in redis.Redis(port=source).execute_command("CLUSTER", "SLOTS")
                    if int(primary[1]) == source and int(lo) <= slot)
        for shard in shards:
            shard.wait_for_log("on the clock")
        hours = 15.0  # the next day's 11:00
        clock(hours)
        _wait_until(lambda: (client.xlen(f"{key}:realistic") or 0) > 500, "s00 to be mid-run")
        said = tmp_path / "reshard.log"  # a file, not a pipe: it says a line a slot, more than a pipe holds
        with said.open("w") as log:
            resharding = subprocess.Popen(
                ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{source}", "--cluster-from", node_id[source],
                 "--cluster-to", node_id[target], "--cluster-slots", str(slot - first + 1), "--cluster-yes"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while resharding.poll() is None:  # the clock goes on in the migration (writes meet ASK), to 14:00 at most
            assert time.monotonic() < deadline, "the resharding took over 300 s"
            hours = min(hours + 1 / 60, 18.0)
            _try(lambda h=hours: clock(h))
            time.sleep(0.05)
        assert resharding.returncode == 0, said.read_text()[-3000:]
        cluster.wait_ok()
        assert cluster.primary_of(key) == target, "the store's slot moved"
        running = [s for s in shards if s.proc.poll() is None]
        assert running, "the resharding ended after the run: the test shows nothing (slow it down)"
        clock(24)  # the run's end: the rest is written to the moved slots (MOVED)
        for shard in shards:
            _, err = shard.finish(timeout=180)
            assert shard.proc.returncode == 0, err
        logs = "".join(s.stderr for s in shards)
        assert "re-reading the slot table" in logs, logs[-3000:]  # the producers met the moved slots mid-run
    finally:  # a failure leaves no producer waiting for a clock that will not move
        for shard in shards:
            if shard.proc.poll() is None:
                shard.proc.kill()
    assert_each_store_equals(client, "moving", offline_by_store(tmp_path, stores, *SPAN))


def _try(step: object) -> None:
    """``step()``, a moment's cluster error in a migration ignored (the next step sets the clock again)."""
    try:
        step()  # type: ignore[operator]
    except redis.RedisError:
        pass
