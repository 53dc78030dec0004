"""The outbox: entries between the simulation and Redis, each written exactly once.

The simulation puts entries in time order; :meth:`Outbox.flush` writes what is
buffered in pipelined batches. Exactly-once rests on the entry ids being a
function of the event (``<epoch_ms>-<seq>``): whenever the connection was
lost, or at start, the outbox reads each stream's last id and drops what is
at or below it, so an entry whose write was in flight when Redis went away
is neither repeated nor lost.

While Redis is down the outbox keeps buffering, up to ``buffer_max``
entries; then :meth:`Outbox.put` blocks, and with it the simulation
(back-pressure), retrying with backoff until Redis is back. Nothing is
dropped. Lateness (time written minus time due) is measured here, per entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Protocol

import orjson

from producer.live.environment import Waker
from producer.live.faults import TRANSIENT, Backoff
from producer.live.metrics import Lateness
from producer.live.reach import Reach
from producer.live.sink import ZERO_ID, Entry, NotYet, RedisError, Refused, Sink, StreamId
from sim.events import iso
from sim.run import to_epoch

log = logging.getLogger("producer.live.outbox")

#: Most entries sent in one round trip.
CHUNK = 5000
#: While Redis is down, how long a retry waits for its answer to a PING (seconds) before giving up for now.
PROBE_WAIT = 0.05


class ForeignEntry(RedisError):
    """A stream holds an entry this run did not write: continuing would lose or mix events."""


class Replayer(Protocol):
    """What makes lost entries again: the run's model replayed (:class:`producer.live.replayer.RunReplayer`)."""

    def replay(self, since: Sequence[StreamId], lost: list[tuple[int, StreamId, StreamId]]) -> list[Entry]:
        """The entries with ids above ``since[s]`` up to what had been acknowledged, for each lost
        ``(stream, its top now, what had been acknowledged)``, in order."""
        ...


class Outbox:
    """Buffers entries and writes them to a :class:`~producer.live.sink.Sink` exactly once."""

    def __init__(
        self, sink: Sink, waker: Waker, buffer_max: int, publish_clock: bool = False,
        backoff: Backoff | None = None, *, due: Callable[[float], float | None] | None = None,
        replayer: Replayer | None = None, reach: Reach | None = None,
    ) -> None:
        self.sink, self.waker, self.buffer_max = sink, waker, buffer_max
        self.publish_clock = publish_clock
        #: When a simulated time fell due (monotonic), for lateness: the run's pace.
        self.due: Callable[[float], float | None] = due or (lambda t: None)
        #: Makes again the entries Redis lost (it restarted empty or from an older snapshot).
        self.replayer = replayer
        #: Waits for Redis (the run's connect phase used it first) and counts failures.
        self._reach = reach or Reach(sink, waker, backoff)
        self._buffer: deque[Entry] = deque()
        self._last: list[StreamId] = [ZERO_ID for _ in sink.streams]
        self._acked: list[StreamId] = [ZERO_ID for _ in sink.streams]  # the newest id known written
        self._skipping = [True for _ in sink.streams]
        self._every_stream = (1 << len(sink.streams)) - 1  # the bits of _note_acked when each stream is seen
        self._top: list[Entry | None] = [None for _ in sink.streams]  # each stream's newest entry at start
        self._top_seen = [False for _ in sink.streams]  # the replay produced the top's id
        self._synced = False
        self._down = True  # until the first successful sync
        self._retry_at = 0.0
        self._backoff = self._reach.backoff  # the retry policy (faults.py)
        sink.on_reply = waker.nudge  # a batch confirmed: the paced loop may send the next one
        self._clock: int | None = None
        self._since = 0.0
        self._inflight = 0  # entries at the front of the buffer sent but not yet confirmed
        self._clock_sent: int | None = None  # the clock value in flight
        self._clock_high = -(2**62)  # the latest clock value accepted
        # What happened, for the log and /metrics.
        self.written = [0 for _ in sink.streams]
        self.skipped = [0 for _ in sink.streams]
        self.lateness = Lateness()
        self.window = Lateness()  # since the last progress line

    # -- the simulation's side ---------------------------------------------------------------

    def written_already(self, stream: int, ms: int, seq: int) -> bool:
        """Whether Redis already holds this entry (a restarted run replaying its past).

        The stream's newest entry must be one the replay produces, with the
        same payload (checked in :meth:`put`, which gets the entry): if the
        replay passes it by, another program wrote it and :class:`ForeignEntry`
        is raised.
        """
        if not self._skipping[stream]:
            return False
        last = self._last[stream]
        if (ms, seq) < last:
            self.skipped[stream] += 1
            return True
        if (ms, seq) == last:
            self._top_seen[stream] = True
            top = self._top[stream]
            if top is not None and top.id == last:
                return False  # put() compares the payloads
            self.skipped[stream] += 1  # the top entry was deleted: its id is ours, nothing to compare
            return True
        if last != ZERO_ID and not self._top_seen[stream]:
            raise self._foreign(stream, last, "this run never produces that id")
        self._skipping[stream] = False
        return False

    def put(self, entry: Entry) -> None:
        """Buffer an entry; if the buffer is full, block until Redis takes some (back-pressure)."""
        if self._skipping[entry.stream] and entry.id == self._last[entry.stream]:
            top = self._top[entry.stream]
            if top is None or (top.data, top.key) != (entry.data, entry.key):
                raise self._foreign(entry.stream, entry.id, "its payload is not this run's event")
            self.skipped[entry.stream] += 1
            return
        if not self._buffer:
            self._since = time.monotonic()
        self._buffer.append(entry)
        if len(self._buffer) >= self.buffer_max:
            self._drain_until(lambda: len(self._buffer) < self.buffer_max, "the buffer is full")

    def _foreign(self, stream: int, eid: StreamId, why: str) -> ForeignEntry:
        name = self.sink.streams[stream]
        return ForeignEntry(
            f"stream {name} holds entry {eid[0]}-{eid[1]} that is not this run's ({why}): another program "
            f"writes to it (the old producer, XADD *?); stop it and start over with --fresh, or give this "
            f"run a stream of its own (REDIS_STREAM)")

    def pending(self) -> int:
        return len(self._buffer)

    def busy(self) -> bool:
        """Redis has not answered the batch in flight yet: a flush now would wait for it."""
        return self.sink.awaiting_reply()

    def buffered_since(self) -> float:
        """When (monotonic) the oldest buffered entry was put."""
        return self._since

    def retry_at(self) -> float | None:
        return self._retry_at if self._down else None

    @property
    def last_ids(self) -> list[StreamId]:
        """Each stream's last id as of the last (re)connection."""
        return list(self._last)

    @property
    def down(self) -> bool:
        return self._down

    # -- writing ------------------------------------------------------------------------------

    def connect(self, timeout: float | None, tops: list[tuple[StreamId, Entry | None]] | None = None) -> None:
        """Wait until Redis answers and the streams' last ids are known.

        Retries with the retry policy and a log line per attempt; ``timeout``
        (seconds, ``None`` = forever) bounds the wait, after which the last
        error is raised. ``tops``: the streams' tops (:meth:`Sink.tops`) as the
        caller has just read them, with nothing written since: the first
        attempt takes them instead of reading them again (a retry reads anew).
        """
        given = [] if tops is None else [tops]
        self._reach.wait(lambda: self._sync(given.pop() if given else None), timeout)
        self._down = False

    @property
    def errors(self) -> int:
        """Failed Redis operations (connecting and writing), for the log and /metrics."""
        return self._reach.errors

    def check_tops(self) -> None:
        """Before a run continues: each stream's newest entry must look like one of ours.

        An entry of this producer is dated by its id (``<event time ms>-<seq>``);
        one appended with a server-assigned id (``XADD *``) is not, and would
        make every later write of the run look "already written". The replay
        then checks the payload of the top entry (:meth:`written_already`).
        """
        for entry in self._top:
            if entry is not None and not _dated_by_its_id(entry):
                raise self._foreign(entry.stream, entry.id, "its id is not its event's time")

    def reread(self, timeout: float | None = None) -> None:
        """Read the streams anew, as at start, waiting for Redis (after a backfill wrote past the tops,
        or a start-up step failed): ``timeout`` as for :meth:`connect`."""
        self._unsynced()
        self.connect(timeout)

    def _unsynced(self) -> None:
        """Forget what the streams held: the next sync reads their tops as at start."""
        self._synced = False
        self._skipping = [True for _ in self.sink.streams]
        self._top_seen = [False for _ in self.sink.streams]

    @property
    def tops(self) -> list[Entry | None]:
        """Each stream's newest entry as of the start (``None``: empty, or deleted)."""
        return list(self._top)

    def flush(self, clock: int | None = None, wait: bool = True) -> bool:
        """Write everything buffered (and the clock keys); ``False`` if Redis is down.

        With ``wait=False`` the last batch may be left in flight (its replies
        are read by the next flush): the producer does that when it is
        behind, so Redis works while the simulation catches up. Never blocks
        on a Redis that is down: before the retry time it returns at once;
        after it, one attempt is made.
        """
        if clock is not None and self.publish_clock and clock > self._clock_high:
            self._clock = self._clock_high = clock  # never backwards
        if not self._buffer and self._clock is None:
            return True
        if self._down and time.monotonic() < self._retry_at:
            return False
        was_up = not self._down
        try:
            try:
                self._write(wait)
            except TRANSIENT:
                if self._down:
                    raise
                # A pooled connection may have died with a Redis that is back already
                # (a restart while idle): one immediate retry on a new connection.
                self._failed()
                self._down = True
                self._write(wait)
            if self._down:
                self._down = False
                self._backoff.reset()
                log.info("Redis at %s takes writes again", self.sink.where)
            return True
        except TRANSIENT as exc:
            self._failed()
            delay = self._backoff.take()
            self._retry_at = time.monotonic() + delay
            if was_up and isinstance(exc, Refused):
                log.warning("Redis at %s refuses writes for now (%s): buffering events (up to %d) and retrying",
                            self.sink.where, _short(exc), self.buffer_max)
            elif was_up:
                log.warning("lost Redis at %s (%s): buffering events (up to %d) and retrying",
                            self.sink.where, _short(exc), self.buffer_max)
            else:
                log.info("Redis at %s still unreachable (%s); %d events buffered; retrying in %.1f s",
                         self.sink.where, _short(exc), len(self._buffer), delay)
            self._down = True
            return False

    def _write(self, wait: bool) -> None:
        if self._down:
            # A PING through the writer thread first: a frozen server holds the simulation for
            # PROBE_WAIT, not for the socket timeout that _sync's reads would wait.
            self._probe()
            # After a failure the first batch is confirmed before Redis counts as up again:
            # a refusal (OOM, READONLY ...) only shows in the replies.
            self._sync()
            wait = True
        elif not wait and self.sink.awaiting_reply():
            return  # the batch in flight is answered first (one at a time); the writer thread waits for it
        if len(self._buffer) == self._inflight and not self._clock_due():
            self._receive()  # nothing new to send: just confirm the batch in flight
        while len(self._buffer) > self._inflight or self._clock_due():
            self._send()
        if wait:
            self._receive()

    def _probe(self) -> None:
        """Whether Redis answers at all, asked without blocking for long; raises if it does not (yet).

        The PING goes through the writer thread; it stays in flight across
        retries until answered (or timed out by the socket), so a frozen
        server costs each retry :data:`PROBE_WAIT`, not a blocked read.
        """
        sink = self.sink
        if not sink.in_flight:
            sink.send([], [("PING",)])
        if not sink.answered_within(PROBE_WAIT):
            raise NotYet(f"no answer to PING within {PROBE_WAIT * 1e3:g} ms")
        sink.receive()

    def _failed(self) -> None:
        """After a failed write: unconfirmed entries stay buffered (_sync sorts them out)."""
        self._inflight = 0
        if self._clock is None:
            self._clock = self._clock_sent  # send it again (unless a newer one is waiting)
        self._clock_sent = None
        self._reach.failed()

    def drain(self, timeout: float) -> bool:
        """Flush everything, retrying for up to ``timeout`` seconds (shutdown); ``True`` if done."""
        deadline = time.monotonic() + timeout
        while True:
            if self.flush():
                return True
            wait = self._retry_at - time.monotonic()
            if time.monotonic() + max(wait, 0) > deadline:
                return False
            time.sleep(max(0.0, wait))

    def wait_empty(self) -> None:
        """Block until everything buffered is written (the end of a run); honours a stop."""
        self._drain_until(lambda: not self._buffer, "the run is over")

    def _drain_until(self, done: Callable[[], bool], why: str) -> None:
        """Block (the simulation with it) until ``done()``; retries with backoff, honours a stop."""
        if self.flush() or done():
            return
        log.warning("%s with %d events buffered: waiting until Redis at %s is back",
                    why, len(self._buffer), self.sink.where)
        while not done():
            self.waker.wait(max(0.0, self._retry_at - time.monotonic()))
            self.flush()
        log.info("Redis at %s is back: resuming", self.sink.where)

    def _sync(self, tops: list[tuple[StreamId, Entry | None]] | None = None) -> None:
        """(Re)connect, read the streams' tops (unless given, just read), heal what Redis lost, drop what it
        already holds."""
        if self._inflight or self.sink.in_flight:
            # A batch still in flight is abandoned (its connection with it): what of it was
            # written shows in the tops read below; the rest stays buffered.
            self.sink.abandon()
            self._inflight = 0
        self.sink.ping()
        if tops is None:
            tops = self.sink.tops()
        last = [eid for eid, _ in tops]
        if not self._synced:
            self._top = [entry for _, entry in tops]
            self._acked = list(last)  # what the streams hold at start is the run's (checked by the replay)
            self._synced = True
        self._last = last
        lost = [(i, last[i], self._acked[i]) for i in range(len(last)) if last[i] < self._acked[i]]
        if lost:
            self._heal(lost)
        self._drop_held(last)

    def _drop_held(self, last: list[StreamId]) -> None:
        """Buffered entries at or below their stream's top are in Redis already (checked): they leave the buffer."""
        held = [e for e in self._buffer if e.id <= last[e.stream]]
        if held:
            self.check_held(held)
            self._buffer = deque(e for e in self._buffer if e.id > last[e.stream])
            for e in held:
                self.skipped[e.stream] += 1
                self._acked[e.stream] = max(self._acked[e.stream], e.id)
            log.info("Redis already held %d of the %d buffered events; not writing them again",
                     len(held), len(held) + len(self._buffer))

    def _heal(self, lost: list[tuple[int, StreamId, StreamId]]) -> None:
        """Redis went back (restarted empty or from an older snapshot): write the lost entries again first."""
        for i, now, acked in lost:
            log.error("Redis at %s lost entries of stream %s that it had acknowledged: its top went back from "
                      "%d-%d to %d-%d (restarted empty, from an older snapshot, or a failover to a replica that had not "
                      "received them?); writing them again",
                      self.sink.where, self.sink.streams[i], *acked, *now)
        if self.replayer is None:
            raise RedisError(f"Redis at {self.sink.where} lost acknowledged entries before the run began; "
                             "restart the producer to write them again")
        again = self.replayer.replay(list(self._last), lost)
        self._buffer.extendleft(reversed(again))
        self._since = time.monotonic()
        for i, now, _ in lost:
            self._acked[i] = now
        log.warning("%d lost entries regenerated; they are written before anything new", len(again))

    def check_held(self, held: list[Entry]) -> None:
        """Buffered entries at or below a stream's top must be in it, as they are (or trimmed away).

        An entry missing from the stream counts as trimmed only where trimming
        can have happened: below the oldest entry of a stream that is at its
        length cap. Otherwise it was never written, and what holds the
        stream's top is not this run's. Every stream's entries and extent are
        read in one batch (:meth:`~producer.live.sink.Sink.spans`): a chain's
        reconnect costs a few round trips, not two per store.
        """
        by_stream: dict[int, list[Entry]] = {}
        for e in held:
            by_stream.setdefault(e.stream, []).append(e)
        spans = self.sink.spans([(stream, mine[0].id, mine[-1].id) for stream, mine in by_stream.items()])
        for (stream, mine), span in zip(by_stream.items(), spans, strict=True):
            there, first = span.entries, span.first
            trimmed = first is not None and span.length >= self.sink.maxlen
            for e in mine:
                got = there.get(e.id)
                if got is None and not (trimmed and first is not None and e.id < first):
                    raise self._foreign(stream, self._last[stream], f"it is above {e.ms}-{e.seq}, which is missing")
                if got is not None and got != (e.data, e.key):
                    raise self._foreign(stream, e.id, "its payload is not this run's event")

    def _clock_due(self) -> bool:
        return self._clock is not None

    def _send(self) -> None:
        """Send the next chunk of unsent entries (and the clock after the last one).

        The batch already in flight, if any, is received first: one batch in
        flight at a time.
        """
        self._receive()
        buf = self._buffer
        chunk = list(islice(buf, min(CHUNK, len(buf))))
        extra: list[tuple[str, str, str]] = []
        clock = self._clock
        if clock is not None and len(chunk) == len(buf):
            now = iso(clock)
            extra = [("SET", "sim:now", now), ("SET", "sim:today", now[:10])]
            self._clock_sent, self._clock = clock, None
        self.sink.send(chunk, extra)
        self._inflight = len(chunk)

    def _receive(self) -> None:
        """Confirm the batch in flight: drop it from the buffer, count it, measure its lateness."""
        if not self.sink.in_flight:
            return
        repeated = self.sink.receive()
        written = self.sink.replied_at  # when Redis had answered, not when we looked
        buf, n = self._buffer, self._inflight
        if repeated:
            # Refused as "not above the top": ours already (a repeated write), or another writer's.
            # Checked before the batch leaves the buffer: a check that fails keeps it there.
            log.debug("%d entries were already in Redis", len(repeated))
            front = list(islice(buf, n))
            self.check_held([front[i] for i in repeated])
        chunk = [buf.popleft() for _ in range(n)]
        self._inflight = 0
        self._since = written
        self._clock_sent = None
        # The repeated entries are held (checked above): acknowledged too, so that a Redis that loses them is healed.
        self._note_acked(chunk)
        if repeated:
            for i in sorted(repeated, reverse=True):
                self.skipped[chunk[i].stream] += 1
                del chunk[i]
        self._account(chunk, written)

    def _note_acked(self, chunk: list[Entry]) -> None:
        """Remember each stream's newest confirmed id: its last entry in the chunk (found from the end)."""
        seen = 0
        for e in reversed(chunk):
            if not seen & (1 << e.stream):
                seen |= 1 << e.stream
                if e.id > self._acked[e.stream]:
                    self._acked[e.stream] = e.id
                if seen == self._every_stream:
                    return

    def _account(self, chunk: list[Entry], written: float) -> None:
        """Count the entries and measure their lateness, one histogram add per distinct time."""
        counts = self.written
        due = self.due
        t_prev: float = 0
        run = 0
        for e in chunk:
            counts[e.stream] += 1
            if e.t != t_prev:
                if run:
                    self._late(written, due(t_prev), run)
                t_prev, run = e.t, 0
            run += 1
        if run:
            self._late(written, due(t_prev), run)

    def _late(self, written: float, due: float | None, count: int) -> None:
        seconds = 0.0 if due is None else written - due
        self.lateness.add(seconds, count)
        self.window.add(seconds, count)


def _dated_by_its_id(entry: Entry) -> bool:
    """Whether an entry looks like this producer's: JSON whose event time is its id's millisecond."""
    try:
        event = orjson.loads(entry.data)
        if "sent_at" in event:  # a sensor record: dated by its delivery, in milliseconds
            return bool(round(dt.datetime.fromisoformat(event["sent_at"]).timestamp() * 1000) == entry.ms)
        when = (event["entry_time"] if event.get("event_type") == "foot_traffic"
                else event["interval_end"] if "interval_end" in event  # interval counts
                else event["at"] if "state" in event else event["time"])  # a label's opening or closing
        return bool(to_epoch(when) * 1000 == entry.ms)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return False


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
