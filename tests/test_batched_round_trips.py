"""A chain's per-store work at start and stop goes to Redis in batches, not a round trip per store.

The leases (taken, renewed and released by one script call per store) and
the run records (created, read, written and deleted per store) of 900 stores
on per-store streams, on one Redis and on a Redis Cluster of 3 primaries and
3 replicas. Round trips are counted on the server: ``total_reads_processed``
of ``INFO stats`` (each read event of the server, whatever the client; a
pipeline of hundreds of commands is a few reads, a command at a time one
read each). Each primary must see far fewer reads than the stores it holds
(before, a cluster's scripts went one at a time: at least one read each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from producer.live.cluster_sink import ClusterSink
from producer.live.lease import Lease, LeaseGroup, lease_key
from producer.live.records import RunRecords
from producer.live.redis_sink import RedisSink
from producer.live.sink import Sink
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer

STORES = 900


def _bases() -> list[str]:
    return [f"rt:{{s{i:05d}}}" for i in range(STORES)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


def _reads(port: int) -> int:
    with redis.Redis(port=port) as r:
        return int(r.info("stats")["total_reads_processed"])


def _per_store_work(sink: Sink, bases: list[str]) -> None:
    """What a run does per store at start and stop: leases taken and released, run records kept."""
    leases = LeaseGroup([Lease(sink.client, lease_key(b), 60.0, lambda why: None) for b in bases], sink.eval_each)
    leases.take(standby=False, wait=lambda s: None)
    records = RunRecords(sink, bases)
    assert sink.create_hashes(records.keys, {"seed": "1"}) == [True] * len(bases)
    assert sink.read_hashes(records.keys) == [{"seed": "1"}] * len(bases)
    sink.write_hashes(records.keys, {"seed": "2"})
    records.delete()
    leases.release()


def _check(ports: list[int], holds: Callable[[int], int], work: Callable[[], None]) -> None:
    before = {p: _reads(p) for p in ports}
    work()
    for port in ports:
        reads, stores = _reads(port) - before[port] - 1, holds(port)  # -1: this INFO's own read
        assert stores > 0
        # Six batched steps per store (take, create, read, write, delete, release): a few reads per
        # pipeline; one command at a time would be at least 6 reads per store.
        assert reads < stores / 4, f"node {port}: {reads} reads for the per-store work of {stores} stores"


def test_one_redis_batches_the_per_store_work(redis_server: RedisServer) -> None:
    bases = _bases()
    sink = RedisSink.connect(redis_server.url, "", 0, 0, tuple(f"{b}:x" for b in bases[:1]), 1000)
    try:
        _check([redis_server.port], lambda port: STORES, lambda: _per_store_work(sink, bases))
        with redis.Redis(port=redis_server.port) as r:
            assert r.dbsize() == 0, "every lease released and every record deleted"
    finally:
        sink.close()


def test_a_cluster_batches_the_per_store_work_per_primary(cluster: RedisClusterServers) -> None:
    bases = _bases()
    sink = ClusterSink.connect_cluster(cluster.url, "", 0, tuple(f"{b}:x" for b in bases), 1000)
    held: dict[int, int] = {}
    for base in bases:
        port = cluster.primary_of(lease_key(base))
        held[port] = held.get(port, 0) + 1
    try:
        _check(cluster.primaries(), lambda port: held.get(port, 0), lambda: _per_store_work(sink, bases))
        for port in cluster.primaries():
            with redis.Redis(port=port) as r:
                assert r.dbsize() == 0, f"node {port}: every lease released and every record deleted"
    finally:
        sink.close()
