"""A per-store backfill cut off mid-way, on one Redis and on a cluster: per stream a gap-free prefix, then the rest once.

As ``tests/test_backfill_faults.py`` for the one pair of streams, with
``STREAM_PER_STORE=1``'s streams (store ``k``'s sessions to stream ``2k``,
its door events to ``2k + 1``). While the backfill packs its third
pipeline or so (its 2,500th entry), Redis kills its connection (CLIENT KILL; on a cluster, on the
primary of the first store's streams only, so the other primaries' pipes
are cut off by the backfill itself), or, on a cluster, that primary's
replica takes over (CLUSTER FAILOVER: the old primary answers ``MOVED``).
Pipelines already sent may or may not have been processed. Afterwards each
stream must hold a gap-free prefix of its store's entries, the outbox must
know those tops, and a second backfill must write exactly the rest.

The expected entries are made here without the backfill's code: the
vectorized engine's events, split by store in a plain loop, numbered as
the StoreEmitter numbers them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from producer.live import backfill as bf
from producer.live.cluster_sink import ClusterSink
from producer.live.environment import Waker
from producer.live.layout import StreamLayout
from producer.live.outbox import Outbox
from producer.live.pace import WallClock
from producer.live.redis_sink import RedisSink
from sim.fast import fast_batches
from sim.run import to_epoch
from sim.store import Store
from tests.outbox_faults import MAXLEN, read_stream
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer

START = to_epoch("2025-11-03")
DAY = 86_400
STORES = tuple(Store(store_id=f"s{i}", daily_customers=4000 + 1000 * i, variation=0.0) for i in range(3))

#: Entries per pipeline in these tests, and the entry packed when the fault strikes (in the third pipeline or so).
CHUNK = 1000
KILL_AT = 2500

Want = list[list[tuple[bytes, bytes, bytes]]]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    """One cluster for this module (a failover leaves it whole; each test has streams of its own)."""
    servers = RedisClusterServers().start()
    yield servers
    servers.close()


def streams(base: str) -> list[str]:
    return [name for s in STORES for name in (f"{base}:{{{s.store_id}}}", f"{base}:{{{s.store_id}}}:realistic")]


def expected() -> Want:
    """Each stream's entries for the day, as stored: (id, data, key), ids counted per stream."""
    out: Want = [[] for _ in range(2 * len(STORES))]
    index = {s.store_id: k for k, s in enumerate(STORES)}
    last: dict[int, tuple[int, int]] = {}

    def add(stream: int, t: int, data: bytes, key: str) -> None:
        ms = t * 1000
        prev_ms, prev_seq = last.get(stream, (-1, 0))
        seq = prev_seq + 1 if ms == prev_ms else 0
        last[stream] = (ms, seq)
        out[stream].append((b"%d-%d" % (ms, seq), data, key.encode()))

    for batch in fast_batches(1, STORES, START, START + DAY, 3 * 3600):
        for session, line in zip(batch.sessions, batch.sessions.json_lines(), strict=True):
            add(2 * index[session.store_id], session.entry, line, session.customer_id)
        for door, line in zip(batch.doors, batch.doors.json_lines(), strict=True):
            add(2 * index[door.store_id] + 1, door.time, line, door.customer_id)
    return out


class KillingSink(RedisSink):
    """A real sink whose backfill connection Redis kills while entry ``kill_at`` is packed (in the third pipeline)."""

    kill_at = KILL_AT
    packed = 0

    def pack_columns(self, *args: Any) -> bytes:
        before, self.packed = self.packed, self.packed + len(args[1])
        if before < self.kill_at <= self.packed:
            self.client.client_kill_filter(_type="normal", skipme=True)
        return super().pack_columns(*args)


class BreakingClusterSink(ClusterSink):
    """A real cluster sink: at entry ``kill_at`` packed, the first store's primary kills its clients, or fails over."""

    kill_at = KILL_AT
    packed = 0
    failover = False
    #: The servers, to SIGKILL the primary (a crash: its replica is promoted), or ``None``.
    crash: RedisClusterServers | None = None

    def pack_columns(self, *args: Any) -> bytes:
        before, self.packed = self.packed, self.packed + len(args[1])
        if before < self.kill_at <= self.packed:
            node = self.client.get_node_from_key(self.streams[0])
            if self.crash is not None:
                self.crash.kill(node.port)
            elif self.failover:
                _fail_over(node.redis_connection)
            else:
                node.redis_connection.client_kill_filter(_type="normal", skipme=True)
        return super().pack_columns(*args)


def _fail_over(primary: redis.Redis) -> None:
    """CLUSTER FAILOVER on the primary's replica; back when the old primary knows it is a replica."""
    replica = redis.Redis(port=int(primary.info("replication")["slave0"]["port"]))
    replica.execute_command("CLUSTER", "FAILOVER")
    deadline = time.monotonic() + 30
    while primary.info("replication")["role"] != "slave" or replica.info("replication")["role"] != "master":
        assert time.monotonic() < deadline, "the failover did not finish"
        time.sleep(0.02)


def cut_off_then_rest(sink: RedisSink, read: Any, replicated: bool = True) -> tuple[int, int]:
    """A backfill cut off by ``sink``, then a second one; asserts prefix, tops and the rest; (first, total).

    ``replicated=False``: a primary crashed, and its replica (now primary) may lack writes it acknowledged.
    """
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    pace = WallClock(START, 1.0, time.time() - 2 * DAY)  # two days behind: the whole day is due
    try:
        outbox.connect(timeout=30)
        first = bf.backfill(1, STORES, START, START + DAY, pace, sink, outbox, StreamLayout.per_store_sets("x", STORES))
        want = expected()
        got = [read(name) for name in sink.streams]
        total = sum(len(w) for w in want)
        assert 0 < first < total, f"the fault cut the backfill short ({first} of {total} written)"
        for name, g, w in zip(sink.streams, got, want, strict=True):
            assert g == w[:len(g)], f"{name} holds a prefix of its store's entries: no gap, no repeat"
        if replicated:
            assert sum(len(g) for g in got) == first + sum(outbox.skipped), "what was confirmed or found is there"
        tops = [tuple(int(x) for x in g[-1][0].split(b"-")) if g else (0, 0) for g in got]
        assert outbox.last_ids == tops
        # The rest, as the restarted model (or a second backfill) writes it.
        sink.kill_at = -1  # type: ignore[attr-defined]
        rest = bf.backfill(1, STORES, START, START + DAY, pace, sink, outbox, StreamLayout.per_store_sets("x", STORES))
        held = sum(len(g) for g in got)
        got = [read(name) for name in sink.streams]
        assert got == want, "the whole day, each entry once, in each store's streams"
        assert rest == total - held, "the second backfill wrote exactly what was missing"
        return first, total
    finally:
        sink.close()
        waker.close()


def test_a_per_store_backfill_cut_off_leaves_a_gap_free_prefix(redis_server: RedisServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(bf, "CHUNK", CHUNK)
    sink = KillingSink.connect(redis_server.url, "", 0, 0, streams("cut"), MAXLEN)
    admin = redis.Redis.from_url(redis_server.url)
    cut_off_then_rest(sink, lambda name: read_stream(admin, name))


def test_a_cluster_backfill_cut_off_on_one_primary_leaves_a_gap_free_prefix(
    cluster: RedisClusterServers, monkeypatch: Any,
) -> None:
    monkeypatch.setattr(bf, "CHUNK", CHUNK)
    sink = BreakingClusterSink.connect_cluster(cluster.url, "", 0, streams("killed"), MAXLEN)
    admin = cluster.client()
    primaries = {admin.get_node_from_key(name).name for name in sink.streams}
    assert len(primaries) > 1, "the stores' streams are on more than one primary"
    cut_off_then_rest(sink, lambda name: read_stream(admin, name))  # type: ignore[arg-type]


def test_a_cluster_backfill_meeting_moved_stops_and_the_rest_is_written_once(
    cluster: RedisClusterServers, monkeypatch: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(bf, "CHUNK", CHUNK)
    sink = BreakingClusterSink.connect_cluster(cluster.url, "", 0, streams("moved"), MAXLEN)
    sink.failover = True
    admin = cluster.client()
    with caplog.at_level(logging.INFO):
        cut_off_then_rest(sink, lambda name: read_stream(admin, name))  # type: ignore[arg-type]
    stopped = [r.getMessage() for r in caplog.records if "backfill stopped" in r.getMessage()]
    assert len(stopped) == 1 and "MOVED" in stopped[0], stopped  # the old primary refused: the slots moved
    assert any("re-reading the slot table" in r.getMessage() for r in caplog.records)
    cluster.wait_ok()


def test_a_cluster_backfill_whose_primary_crashes_continues_on_the_promoted_replica(
    monkeypatch: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGKILL of the first store's primary mid-backfill: the backfill stops, waits for the replica, the rest once."""
    monkeypatch.setattr(bf, "CHUNK", CHUNK)
    servers = RedisClusterServers().start()  # a cluster of its own: it loses a node
    try:
        sink = BreakingClusterSink.connect_cluster(servers.url, "", 0, streams("crashed"), MAXLEN)
        sink.crash = servers
        with caplog.at_level(logging.INFO):
            cut_off_then_rest(sink, lambda name: read_stream(servers.client(), name),  # type: ignore[arg-type]
                              replicated=False)
        assert len(servers.live()) == 5, "a primary was killed"
        assert any("backfill stopped" in r.getMessage() for r in caplog.records)
    finally:
        servers.close()
