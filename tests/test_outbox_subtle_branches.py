"""The outbox's subtle branches, each in one deterministic scenario against a real redis-server.

- A buffered entry Redis already holds (its write landed, the reply was lost)
  is dropped on reconnect (``Outbox._sync``), counted skipped, not written again.
- An entry Redis answers ``ID_TOO_SMALL`` to (a repeated write) is counted
  skipped, not written (``RedisSink.receive`` -> ``Outbox._receive``).
- An entry another program wrote at a buffered id is detected (``check_held``),
  on reconnect and in a repeated reply: the run stops rather than lose events.

The last three tests are bugs found here (by the state machine), now fixed:
each failed before its fix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from redis.typing import EncodableT, FieldT

from producer.live.environment import Waker
from producer.live.outbox import ForeignEntry, Outbox
from producer.live.redis_sink import Entry
from tests.outbox_faults import (
    STREAMS,
    Fault,
    FaultySink,
    as_stored,
    faulty_sink,
    per_stream,
    read_stream,
    run_entries,
)
from tests.producer_run import wait_for
from tests.redis_server import RedisServer


def fields(data: bytes, key: bytes) -> dict[FieldT, EncodableT]:
    """A stream entry's fields, as the producer writes them."""
    return {"data": data, "key": key}


#: What another program writes: not an event of this run.
FOREIGN = fields(b'{"event_type":"someone else"}', b"other")


@dataclass
class Rig:
    """An outbox on a FaultySink, and a plain client to look at (or write to) the streams."""

    outbox: Outbox
    sink: FaultySink
    admin: redis.Redis

    def put(self, entries: list[Entry]) -> None:
        for e in entries:
            self.outbox.put(e)

    def streams(self) -> list[list[tuple[bytes, bytes, bytes]]]:
        return [read_stream(self.admin, name) for name in STREAMS]

    def go_down(self) -> None:
        """Make the outbox lose Redis (two failed sends: the first and its immediate retry); nothing written."""
        self.sink.inject(Fault.FAIL_BEFORE_SEND)
        self.sink.inject(Fault.FAIL_BEFORE_SEND)
        assert not self.outbox.flush()
        assert self.outbox.down and self.streams() == [[], []]


@pytest.fixture
def rig(redis_server: RedisServer) -> Iterator[Rig]:
    """A connected outbox (buffer far larger than any test's entries) on a fresh server."""
    sink = faulty_sink(redis_server.url)
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=10_000)
    outbox.connect(timeout=30)
    admin = redis.Redis.from_url(redis_server.url)
    try:
        yield Rig(outbox, sink, admin)
    finally:
        admin.close()
        sink.close()
        waker.close()


def counts(entries: list[Entry]) -> list[int]:
    return [len(s) for s in per_stream(entries)]


def test_a_buffered_entry_redis_already_holds_is_dropped_on_reconnect(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch written whose reply was lost is not written again: the reconnect finds it in Redis."""
    caplog.set_level(logging.INFO, logger="producer.live.outbox")
    entries = list(run_entries()[:60])
    landed, later = entries[:30], entries[30:]
    rig.put(landed)
    rig.sink.inject(Fault.LOSE_REPLY)
    assert rig.outbox.flush(wait=False)  # sent; its replies are read by the next flush
    rig.put(later)
    assert rig.outbox.flush(wait=True)  # reply lost -> one immediate retry: reconnect, drop what Redis holds
    assert "Redis already held 30 of the 60 buffered events" in caplog.text
    assert rig.sink.lost == counts(landed), "the first batch was written, its reply lost"
    assert rig.outbox.skipped == counts(landed)
    assert rig.outbox.written == counts(later) == rig.sink.ok
    assert rig.outbox.pending() == 0
    assert rig.streams() == [as_stored(s) for s in per_stream(entries)]


def test_a_repeated_reply_is_counted_skipped_not_written(rig: Rig) -> None:
    """Entries Redis refuses as not above its top (ID_TOO_SMALL) were already there: skipped, checked, kept once."""
    entries = list(run_entries()[:40])
    rig.put(entries)
    rig.sink.inject(Fault.DUPLICATE, count=15)  # the batch's first 15 entries reach Redis before it
    assert rig.outbox.flush(wait=True)
    assert sum(rig.sink.repeated) == 15 and rig.sink.repeated == rig.sink.echoed == counts(entries[:15])
    assert rig.outbox.skipped == rig.sink.repeated, "a repeat is counted skipped"
    assert rig.outbox.written == counts(entries[15:]) == rig.sink.ok, "and not written"
    assert rig.outbox.pending() == 0
    assert rig.streams() == [as_stored(s) for s in per_stream(entries)]


@pytest.mark.parametrize("how", ["payload", "missing"])
def test_a_foreign_entry_at_a_buffered_id_is_detected_on_reconnect(rig: Rig, how: str) -> None:
    """While the outbox is down another program writes at (or above) a buffered id: the reconnect stops the run.

    ``payload``: a different event at a buffered entry's id. ``missing``: the
    stream holds our first entry and then one above buffered ids it lacks.
    """
    entries = list(run_entries()[:40])
    sessions = per_stream(entries)[0]
    rig.put(entries)
    rig.go_down()
    target = sessions[5]
    if how == "missing":
        first = sessions[0]
        rig.admin.xadd(STREAMS[0], fields(first.data, first.key), id=f"{first.ms}-{first.seq}")
    rig.admin.xadd(STREAMS[0], FOREIGN, id=f"{target.ms}-{target.seq}")
    # Our first sessions are not in the stream either, so the first thing found may be that they are missing.
    why = "not this run's"
    with pytest.raises(ForeignEntry, match=why):
        rig.outbox.drain(30)
    assert rig.outbox.written == [0, 0]


def test_a_foreign_entry_at_a_buffered_id_is_detected_in_a_repeated_reply(rig: Rig) -> None:
    """Another program wrote at a buffered id while the outbox was up: Redis refuses ours, the check stops the run."""
    entries = list(run_entries()[:40])
    sessions = per_stream(entries)[0]
    rig.put(entries)
    target = sessions[5]
    rig.admin.xadd(STREAMS[0], FOREIGN, id=f"{target.ms}-{target.seq}")
    with pytest.raises(ForeignEntry, match="not this run's"):
        rig.outbox.flush(wait=True)
    assert rig.sink.repeated[0] == 6, "Redis refused the six sessions at or below the foreign id"


# -- bugs this found, fixed in the outbox: each test failed before the fix -------------------------


@pytest.mark.parametrize("where", ["in a repeated reply", "on reconnect"])
def test_a_foreign_entry_above_every_buffered_id_is_detected(rig: Rig, where: str) -> None:
    """The old producer (``XADD *``, ids from Redis's clock) appends to a stream this run has not written yet."""
    entries = list(run_entries()[:20])
    rig.put(entries)
    if where == "on reconnect":
        rig.go_down()
    rig.admin.xadd(STREAMS[0], FOREIGN)  # id: the server's clock now, above every 2025 event
    try:
        rig.outbox.drain(30)
    except ForeignEntry:
        return
    raise AssertionError(
        f"no ForeignEntry: {rig.outbox.skipped[0]} sessions counted skipped, written {rig.outbox.written[0]}, "
        f"stream {STREAMS[0]} holds {len(rig.streams()[0])} entry (the foreign one)")


def test_a_connection_lost_while_checking_repeats_keeps_the_batch(rig: Rig) -> None:
    """Redis answers ID_TOO_SMALL to part of a batch, then dies before the outbox has checked those entries.

    The state machine found this with a real SIGKILL between the reply and the
    check; here the check's read fails on command, deterministically.
    """
    entries = list(run_entries()[:20])
    rig.put(entries)
    rig.sink.inject(Fault.DUPLICATE, count=3)
    rig.sink.fail_reads(1)
    assert rig.outbox.drain(30)
    assert rig.streams() == [as_stored(s) for s in per_stream(entries)], "Redis holds every entry once"
    assert sum(rig.outbox.written) + sum(rig.outbox.skipped) + rig.outbox.pending() == len(entries), (
        f"written {rig.outbox.written} + skipped {rig.outbox.skipped} + pending {rig.outbox.pending()} "
        f"!= {len(entries)} put")
    # The batch's confirmation died with the connection: on reconnect Redis holds all of it, so the
    # outbox counts those entries as already there (as for any reply lost after the write).
    assert [w + k for w, k in zip(rig.outbox.written, rig.outbox.skipped, strict=True)] == counts(entries)
    assert rig.outbox.pending() == 0


def test_connect_while_a_batch_is_in_flight_loses_nothing(rig: Rig) -> None:
    entries = list(run_entries()[:40])
    rig.put(entries[:20])
    assert rig.outbox.flush(wait=False)
    wait_for(lambda: sum(len(s) for s in rig.streams()) == 20)  # Redis has written the batch in flight
    rig.outbox.connect(timeout=30)
    rig.put(entries[20:])
    assert rig.outbox.drain(30)
    got = rig.streams()
    assert got == [as_stored(s) for s in per_stream(entries)], (
        f"streams hold {[len(s) for s in got]} entries, {counts(entries)} put; "
        f"written {rig.outbox.written}, skipped {rig.outbox.skipped}")
