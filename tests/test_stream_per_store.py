"""``STREAM_PER_STORE`` and ``SHARD`` on one plain Redis: per-store streams, restarts, Redis lost, bad values.

Each store's two streams must hold exactly that store's lines of the
offline run, in order, however the stores are split over producers, after a
producer is restarted (it continues its stores' runs) and after Redis
restarts empty mid-run (the outbox's heal writes every store's lost entries
again, with the per-store stream mapping).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from producer.cli import main
from tests.per_store import ARGS, assert_each_store_equals, offline_by_store, write_stores
from tests.producer_run import (
    one_line,
    produce_env,
    run_producer,
    start_producer,
    wait_for,
    watch_producer,
)
from tests.redis_server import RedisServer

START = "2025-11-03T20:00:00"
DAY = ("--start", START, "--days", "1")


def test_three_shards_on_one_redis_write_each_store_exactly_the_offline_events(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    stores = write_stores(tmp_path / "stores.toml")
    for shard in ("0/3", "1/3", "2/3"):
        done = run_producer(redis_server.url, "--sim-start", START, "--days", "1", *ARGS,
                            stream_per_store="1", shard=shard, stores=stores, speed="1e6")
        assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert_each_store_equals(client, "foot_traffic", offline_by_store(tmp_path, stores, *DAY))
    assert not client.exists("foot_traffic", "foot_traffic:realistic", "foot_traffic:run")


def test_a_restarted_shard_continues_its_stores(redis_server: RedisServer, tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml")
    common = {"stream_per_store": "1", "stores": stores, "speed": "1e6"}
    for shard in ("0/2", "1/2"):
        done = run_producer(redis_server.url, "--sim-start", START, "--days", "0.5", *ARGS, shard=shard, **common)
        assert done.returncode == 0, done.stderr
    # Each shard again, to a later end: it continues the run its stores' records hold.
    for shard in ("1/2", "0/2"):
        done = run_producer(redis_server.url, "--days", "1", *ARGS, shard=shard, **common)
        assert done.returncode == 0, done.stderr
        assert "continued run" in done.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert_each_store_equals(client, "foot_traffic", offline_by_store(tmp_path, stores, *DAY))


def test_redis_restarted_empty_mid_run_gets_every_stores_events_again(tmp_path: Path) -> None:
    stores = write_stores(tmp_path / "stores.toml", base=3000)
    server = RedisServer().start()  # no persistence: a restart forgets everything
    try:
        client = redis.Redis.from_url(server.url)
        proc = start_producer(server.url, "--sim-start", START, "--days", "1", *ARGS, stream_per_store="1",
                              stores=stores, speed="40000")
        wait_for(lambda: _len(client, "foot_traffic:{s11}:realistic") > 2000)
        server.stop()
        time.sleep(0.3)
        server.start()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "lost entries regenerated" in err  # the heal ran, for the per-store streams
        assert_each_store_equals(redis.Redis.from_url(server.url), "foot_traffic", offline_by_store(tmp_path, stores, *DAY))
    finally:
        server.close()


def test_two_producers_never_write_the_same_store(redis_server: RedisServer, tmp_path: Path) -> None:
    """Each store has its own lease: a producer of all stores meets the leases of a running shard."""
    stores = write_stores(tmp_path / "stores.toml")
    common = {"stream_per_store": "1", "stores": stores, "speed": "1"}
    shard = watch_producer(redis_server.url, "--sim-start", START, *ARGS, shard="1/2", **common)
    try:
        shard.wait_for_log("on the clock from")
        everything = run_producer(redis_server.url, "--sim-start", START, "--days", "1", *ARGS, **common)
        assert everything.returncode == 1
        line = one_line(everything.stderr)
        assert "is writing to these streams (lease foot_traffic:{s" in line and "}:lease)" in line
    finally:
        shard.proc.send_signal(signal.SIGTERM)
        shard.finish(timeout=30)
    assert shard.proc.returncode == 0, shard.stderr


def _len(client: redis.Redis, name: str) -> int:
    try:
        return int(client.xlen(name))
    except redis.ConnectionError:
        return -1


@pytest.mark.parametrize(("settings", "names"), [
    ({"shard": "2/2", "stream_per_store": "1"}, "SHARD='2/2'"),
    ({"shard": "1", "stream_per_store": "1"}, "SHARD='1'"),
    ({"shard": "a/b", "stream_per_store": "1"}, "SHARD='a/b'"),
    ({"shard": "0/0", "stream_per_store": "1"}, "SHARD='0/0'"),
    ({"shard": "-1/2", "stream_per_store": "1"}, "SHARD='-1/2'"),
    ({"shard": "0/2"}, "SHARD=0/2 needs STREAM_PER_STORE=1"),
    ({"shard": "0/2", "stream_per_store": "1", "publish_clock": "1"}, "PUBLISH_CLOCK=1 with SHARD=0/2"),
    ({"stream_per_store": "perhaps"}, "STREAM_PER_STORE='perhaps'"),
    ({"redis_cluster": "redis://127.0.0.1:1/3"}, "REDIS_CLUSTER='redis://127.0.0.1:1/3'"),
    ({"redis_cluster": "maybe"}, "REDIS_CLUSTER='maybe'"),
    ({"redis_cluster": "1", "redis_url": "redis://127.0.0.1:1/2"}, "a Redis Cluster has database 0 only"),
])
def test_bad_scale_out_settings_are_one_line_and_exit_2(settings: dict[str, str], names: str) -> None:
    env = produce_env("redis://127.0.0.1:1/0", **settings)
    done = CliRunner().invoke(main, ["produce", "--days", "1"], env=env)
    assert done.exit_code == 2
    assert names in one_line(done.stderr)


def test_redis_cluster_against_a_plain_redis_is_one_line(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--days", "0.1", redis_cluster="1", speed="1e6")
    assert done.returncode == 1
    assert "is not a cluster node (cluster mode is not enabled): unset REDIS_CLUSTER" in one_line(done.stderr)


def test_a_shard_with_no_stores_is_one_line(tmp_path: Path) -> None:
    stores = tmp_path / "one.toml"
    stores.write_text('[[stores]]\nid = "only"\n', encoding="utf-8")
    index = 1 - __import__("zlib").crc32(b"only") % 2  # the shard that does not take it
    env = produce_env("redis://127.0.0.1:1/0", shard=f"{index}/2", stream_per_store="1", stores=str(stores))
    done = CliRunner().invoke(main, ["produce", "--days", "1"], env=env)
    assert done.exit_code == 2
    assert f"SHARD={index}/2 takes none of the 1 stores" in one_line(done.stderr)
