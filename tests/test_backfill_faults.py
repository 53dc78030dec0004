"""A backfill that loses its connection mid-way stops with no gap and no repeat, and says where the streams end.

The backfill's own connection is killed (CLIENT KILL, from Redis's side)
while its third pipeline is being packed: pipelines already sent may or may
not have been processed. Afterwards each stream must hold a gap-free prefix
of the run's entries (what the model then continues from), the outbox must
know those tops, and a second backfill must write exactly the rest.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from producer.live import backfill as bf
from producer.live.catchup import WINDOW
from producer.live.environment import Waker
from producer.live.outbox import Outbox
from producer.live.pace import WallClock
from producer.live.redis_sink import RedisSink
from sim.fast import fast_batches
from sim.run import to_epoch
from sim.store import Store
from tests.outbox_faults import MAXLEN, STREAMS, read_stream
from tests.producer_run import wait_for
from tests.redis_server import RedisServer

START = to_epoch("2025-11-03")
STORES = (Store(daily_customers=20_000, variation=0.0),)


class KillingSink(RedisSink):
    """A real sink whose backfill connection Redis kills while the ``kill_at``-th pipeline is packed."""

    kill_at = 3
    packed = 0

    def pack_columns(self, *args: Any) -> bytes:
        self.packed += 1
        if self.packed == self.kill_at:
            self.client.client_kill_filter(_type="normal", skipme=True)
        return super().pack_columns(*args)


def expected() -> list[list[tuple[bytes, bytes, bytes]]]:
    """The run's entries per stream for the day, as stored: (id, data, key)."""
    out: list[list[tuple[bytes, bytes, bytes]]] = [[], []]
    for batch in fast_batches(1, STORES, START, START + 86_400, WINDOW):
        for col in bf.columns(batch):
            out[col.stream] += [(b"%d-%d" % (m, q), d, k)
                                for m, q, d, k in zip(col.ms.tolist(), col.seq.tolist(), col.data, col.key)]
    return out


def test_a_backfill_cut_off_leaves_a_gap_free_prefix(redis_server: RedisServer, monkeypatch: Any) -> None:
    monkeypatch.setattr(bf, "CHUNK", 2000)
    sink = KillingSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN)
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    admin = redis.Redis.from_url(redis_server.url)
    pace = WallClock(START, 1.0, time.time() - 2 * 86_400)  # two days behind: the whole day is due
    try:
        outbox.connect(timeout=30)
        first = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        want = expected()
        got = [read_stream(admin, name) for name in STREAMS]
        total = sum(len(w) for w in want)
        assert 0 < first < total, f"the kill cut the backfill short ({first} of {total} written)"
        for g, w in zip(got, want, strict=True):
            assert g == w[:len(g)], "each stream holds a prefix of the run's entries: no gap, no repeat"
        assert sum(len(g) for g in got) == first + sum(outbox.skipped), "what was confirmed or found is there"
        tops = [tuple(int(x) for x in g[-1][0].split(b"-")) if g else (0, 0) for g in got]
        assert outbox.last_ids == tops
        # The rest, as the restarted model (or a second backfill) writes it.
        sink.kill_at = -1
        rest = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        held = sum(len(g) for g in got)
        got = [read_stream(admin, name) for name in STREAMS]
        assert got == want, "the whole day, each entry once"
        assert rest == total - held, "the second backfill wrote exactly what was missing"
    finally:
        admin.close()
        sink.close()
        waker.close()


class RecordedPipe(bf.Pipe):
    """The backfill's :class:`~producer.live.backfill.Pipe`, remembered so a test can wait on its reader."""

    made: list[bf.Pipe] = []

    def __init__(self, sink: Any, pool: Any) -> None:
        super().__init__(sink, pool)
        RecordedPipe.made.append(self)


class PausingKillingSink(RedisSink):
    """Redis holds the backfill's first pipelines unprocessed (CLIENT PAUSE WRITE), then kills its connection.

    The kill comes while a pipeline of a stream that earlier held-back pipelines
    also wrote to is packed, and the packing waits until the pipe's reader has
    seen the connection die: the pipeline then goes out after the failure, as
    on a busy machine where the reader is quicker than the sender.
    """

    packed_streams: list[int] = []
    admin: redis.Redis | None = None

    def pack_columns(self, *args: Any) -> bytes:
        stream, admin = args[0], self.admin
        if admin is not None:
            if not self.packed_streams:
                admin.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
            elif stream in self.packed_streams:
                self.admin = None
                admin.client_kill_filter(_type="normal", skipme=True)
                wait_for(lambda: RecordedPipe.made[-1].error is not None)
                admin.execute_command("CLIENT", "UNPAUSE")
            self.packed_streams.append(stream)
        return super().pack_columns(*args)


def test_a_pipeline_sent_after_its_connection_died_is_not_written_on_a_new_one(
    redis_server: RedisServer, monkeypatch: Any,
) -> None:
    """Pipelines lost with a killed connection: one sent after the loss must not land (on a fresh connection) above them.

    Before the fix the reader's failed read closed the connection, the next
    ``send_packed_command`` opened a new one, and Redis wrote that pipeline
    above the lost ones: a gap, reported as a ForeignEntry ("... it is above
    X-Y, which is missing") by the check of what the backfill wrote.
    """
    monkeypatch.setattr(bf, "CHUNK", 2000)
    monkeypatch.setattr(bf, "Pipe", RecordedPipe)
    admin = redis.Redis.from_url(redis_server.url)
    sink = PausingKillingSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN)
    sink.admin, sink.packed_streams = admin, []
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    pace = WallClock(START, 1.0, time.time() - 2 * 86_400)
    try:
        outbox.connect(timeout=30)
        first = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        assert sink.admin is None, "the fault struck"
        want = expected()
        got = [read_stream(admin, name) for name in STREAMS]
        for g, w in zip(got, want, strict=True):
            assert g == w[:len(g)], "each stream holds a prefix of the run's entries: no gap, no repeat"
        assert sum(len(g) for g in got) == first, "nothing confirmed before the pause: what is there was found"
        rest = bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox)
        got = [read_stream(admin, name) for name in STREAMS]
        assert got == want, "the whole day, each entry once"
        assert first + rest == sum(len(w) for w in want)
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
        sink.close()
        waker.close()
