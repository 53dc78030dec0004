"""Redis never holds an entry above a missing one: each stream's share of a write is one atomic append.

The defect (a CI run of ``test_a_refusal_for_now_is_waited_out[READONLY]``):
pipelined ``XADD`` commands are judged one by one, so a pipeline read while a
replica is promoted (or while memory is freed under ``maxmemory``, see
``scripts/oom_pipeline_gap.py``) had its beginning refused and its end
written: entries above missing ones, which the run then had to stop on
("... it is above X-Y, which is missing"). Now a batch's entries of one
stream are one append (:mod:`producer.live.append`, a Lua script: all or
none), and the backfill's pipelines in flight each name the top they write
onto, so one refused leaves its stream's later ones unwritten.

The backfill test injects the fault deterministically where the cause was:
Redis out of memory while it reads one pipeline, and memory back before the
next (the test holds the one and waits until the backfill has read its
refusal).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from producer.live import backfill as bf
from producer.live.append import GAP, LOAD, Packer
from producer.live.environment import Waker
from producer.live.outbox import Outbox
from producer.live.pace import WallClock
from producer.live.redis_sink import RedisSink
from producer.live.sink import Entry
from sim.run import to_epoch
from sim.store import Store
from tests.outbox_faults import MAXLEN, STREAMS, read_stream
from tests.producer_run import wait_for
from tests.redis_server import RedisServer
from tests.test_backfill_faults import RecordedPipe, expected

START = to_epoch("2025-11-03")
STORES = (Store(daily_customers=20_000, variation=0.0),)


class MemoryFlickerSink(RedisSink):
    """Redis out of memory while it reads the door stream's 1st pipeline; memory back before its 2nd goes out.

    The 1st is held unprocessed (``CLIENT PAUSE WRITE``) until the 2nd is
    packed, so the 2nd is sent whatever the machine's speed; then Redis
    refuses the 1st, the backfill reads that refusal, and the memory is back.
    """

    admin: redis.Redis | None = None
    door_pipelines = 0
    between = 0  # pipelines of the sessions packed between the doors' 1st and 2nd

    def pack_columns(self, *args: Any) -> bytes:
        admin = self.admin
        if admin is not None and args[0] == 1:
            self.door_pipelines += 1
            if self.door_pipelines == 1:
                admin.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
                admin.config_set("maxmemory", 1)  # every write refused (noeviction)
            else:
                admin.execute_command("CLIENT", "UNPAUSE")
                wait_for(lambda: RecordedPipe.made[-1].error is not None)  # the 1st's refusal is read
                admin.config_set("maxmemory", 0)  # writable again: this pipeline would land above it
                self.admin = None
        elif admin is not None and self.door_pipelines:
            self.between += 1
        return super().pack_columns(*args)


def test_a_pipeline_after_a_refused_one_is_not_written(redis_server: RedisServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(bf, "CHUNK", 500)  # an hour's door events (about 2,000) take several pipelines
    monkeypatch.setattr(bf, "Pipe", RecordedPipe)
    admin = redis.Redis.from_url(redis_server.url)
    sink = MemoryFlickerSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN)
    sink.admin = admin
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    pace = WallClock(START, 1.0, time.time() - 2 * 86_400)  # two days behind: the whole day is due
    try:
        outbox.connect(timeout=30)
        first = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        assert sink.admin is None and sink.between == 0, "the fault struck, between two pipelines of one stream"
        want = expected()
        got = [read_stream(admin, name) for name in STREAMS]
        for g, w in zip(got, want, strict=True):
            assert g == w[:len(g)], "each stream holds a prefix of the run's entries: no gap, no repeat"
        assert sum(len(g) for g in got) == first
        rest = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        assert read_stream(admin, STREAMS[0]) == want[0] and read_stream(admin, STREAMS[1]) == want[1]
        assert first + rest == sum(len(w) for w in want), "the whole day, each entry once"
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.config_set("maxmemory", 0)
        admin.close()
        sink.close()
        waker.close()


def _entries(stream: int, ids: range) -> list[Entry]:
    return [Entry(stream, 1_762_128_000.0 + i, 1_762_128_000_000 + i, 0, b'{"n":%d}' % i, b"c%d" % i) for i in ids]


def _send(client: redis.Redis, *commands: bytes) -> list[Any]:
    """Commands on one connection, in one pipeline; each reply (an error as its exception)."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_packed_command(list(commands), check_health=False)
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as exc:
                replies.append(exc)
        return replies
    finally:
        client.connection_pool.release(conn)


@pytest.fixture()
def client(redis_server: RedisServer) -> Any:
    c = redis.Redis.from_url(redis_server.url)
    c.delete(*STREAMS)
    yield c
    c.config_set("maxmemory", 0)
    c.close()


def test_an_append_refused_writes_nothing_and_one_accepted_writes_all(client: redis.Redis) -> None:
    packer = Packer(STREAMS, MAXLEN)
    client.config_set("maxmemory", 1)
    _, refused = _send(client, LOAD, packer.append(0, _entries(0, range(100))))
    assert isinstance(refused, redis.exceptions.OutOfMemoryError), refused
    assert client.xlen(STREAMS[0]) == 0, "out of memory: none of the append's entries"
    client.config_set("maxmemory", 0)
    _, accepted = _send(client, LOAD, packer.append(0, _entries(0, range(100))))
    assert accepted == 0 and client.xlen(STREAMS[0]) == 100


def test_an_append_skips_what_is_there_and_counts_it(client: redis.Redis) -> None:
    packer = Packer(STREAMS, MAXLEN)
    _send(client, LOAD, packer.append(0, _entries(0, range(30))))
    _, skipped = _send(client, LOAD, packer.append(0, _entries(0, range(20, 50))))
    assert skipped == 10, "ids 20-29 were there already: a prefix, counted"
    got = read_stream(client, STREAMS[0])
    assert [d for _, d, _ in got] == [e.data for e in _entries(0, range(50))], "each entry once, in order"


def test_an_append_onto_another_top_writes_nothing(client: redis.Redis) -> None:
    packer = Packer(STREAMS, MAXLEN)
    first, second = _entries(0, range(10)), _entries(0, range(10, 20))
    _, gap = _send(client, LOAD, packer.append(0, second, after=first[-1].id))
    assert isinstance(gap, redis.ResponseError) and str(gap).startswith(GAP), gap
    assert client.xlen(STREAMS[0]) == 0
    _send(client, LOAD, packer.append(0, first, after=(0, 0)), packer.append(0, second, after=first[-1].id))
    assert client.xlen(STREAMS[0]) == 20, "onto the top expected: written"


def test_a_batch_is_one_append_per_stream() -> None:
    """Interleaved entries of two streams: each stream's share is one command, so a batch never splits a stream."""
    packer = Packer(STREAMS, MAXLEN)
    entries = [e for pair in zip(_entries(0, range(5)), _entries(1, range(5)), strict=True) for e in pair]
    packed, groups = packer.batch(entries)
    assert len(packed) == 2 and groups == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    assert packed[0] == packer.append(0, entries[0::2]) and packed[1] == packer.append(1, entries[1::2])
