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

import logging
import time
from collections import deque
from collections.abc import Callable
from itertools import islice

from producer.live.environment import Waker
from producer.live.metrics import Lateness
from producer.live.redis_sink import TRANSIENT, ZERO_ID, Entry, RedisSink, StreamId
from sim.events import iso

log = logging.getLogger("producer.live.outbox")

#: Most entries sent in one round trip.
CHUNK = 5000
#: Backoff between reconnection attempts (seconds): doubles from the first to the last.
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0


class Backoff:
    """Exponential backoff: 0.1 s, 0.2 s, ... up to 5 s; reset on success."""

    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX) -> None:
        self.first, self.most, self.next = first, most, first

    def take(self) -> float:
        delay, self.next = self.next, min(self.next * 2, self.most)
        return delay

    def reset(self) -> None:
        self.next = self.first


class Outbox:
    """Buffers entries and writes them to a :class:`RedisSink` exactly once."""

    def __init__(
        self, sink: RedisSink, waker: Waker, buffer_max: int, publish_clock: bool = False,
    ) -> None:
        self.sink, self.waker, self.buffer_max = sink, waker, buffer_max
        self.publish_clock = publish_clock
        #: When a simulated time fell due (monotonic), for lateness: the run's pace, set once it is known.
        self.due: Callable[[int], float | None] = lambda t: None
        self._buffer: deque[Entry] = deque()
        self._last: list[StreamId] = [ZERO_ID for _ in sink.streams]
        self._skipping = [True for _ in sink.streams]
        self._down = True  # until the first successful sync
        self._retry_at = 0.0
        self._backoff = Backoff()
        self._clock: int | None = None
        self._since = 0.0
        self._inflight = 0  # entries at the front of the buffer sent but not yet confirmed
        self._clock_sent: int | None = None  # the clock value in flight
        self._clock_high = -(2**62)  # the latest clock value accepted
        # What happened, for the log and /metrics.
        self.written = [0 for _ in sink.streams]
        self.skipped = [0 for _ in sink.streams]
        self.errors = 0
        self.lateness = Lateness()
        self.window = Lateness()  # since the last progress line

    # -- the simulation's side ---------------------------------------------------------------

    def written_already(self, stream: int, ms: int, seq: int) -> bool:
        """Whether Redis already holds this entry (a restarted run replaying its past)."""
        if not self._skipping[stream]:
            return False
        if (ms, seq) <= self._last[stream]:
            self.skipped[stream] += 1
            return True
        self._skipping[stream] = False
        return False

    def put(self, entry: Entry) -> None:
        """Buffer an entry; if the buffer is full, block until Redis takes some (back-pressure)."""
        if not self._buffer:
            self._since = time.monotonic()
        self._buffer.append(entry)
        if len(self._buffer) >= self.buffer_max:
            self._drain_until(lambda: len(self._buffer) < self.buffer_max, "the buffer is full")

    def pending(self) -> int:
        return len(self._buffer)

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

    def connect(self, timeout: float | None) -> None:
        """Wait until Redis answers and the streams' last ids are known.

        Retries with backoff and a log line per attempt; ``timeout`` (seconds,
        ``None`` = forever) bounds the wait, after which the last error is
        raised.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                self._sync()
                return
            except TRANSIENT as exc:
                self.errors += 1
                delay = self._backoff.take()
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise
                    delay = min(delay, left)
                log.warning("Redis at %s is unreachable (%s); retrying in %.1f s",
                            self.sink.where, _short(exc), delay)
                self.waker.wait(delay)

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
            return True
        except TRANSIENT as exc:
            self._failed()
            delay = self._backoff.take()
            self._retry_at = time.monotonic() + delay
            if was_up:
                log.warning("lost Redis at %s (%s): buffering events (up to %d) and retrying",
                            self.sink.where, _short(exc), self.buffer_max)
            else:
                log.info("Redis at %s still unreachable (%s); %d events buffered; retrying in %.1f s",
                         self.sink.where, _short(exc), len(self._buffer), delay)
            self._down = True
            return False

    def _write(self, wait: bool) -> None:
        if self._down:
            self._sync()
        if len(self._buffer) == self._inflight and not self._clock_due():
            self._receive()  # nothing new to send: just confirm the batch in flight
        while len(self._buffer) > self._inflight or self._clock_due():
            self._send()
        if wait:
            self._receive()

    def _failed(self) -> None:
        """After a failed write: unconfirmed entries stay buffered (_sync sorts them out)."""
        self._inflight = 0
        if self._clock is None:
            self._clock = self._clock_sent  # send it again (unless a newer one is waiting)
        self._clock_sent = None
        self.errors += 1

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

    def _sync(self) -> None:
        """(Re)connect, read the streams' last ids and drop what they already hold."""
        self.sink.ping()
        last = self.sink.last_ids()
        self._last = last
        if self._buffer:
            before = len(self._buffer)
            kept = deque(e for e in self._buffer if e.id > last[e.stream])
            for e in self._buffer:
                if e.id <= last[e.stream]:
                    self.skipped[e.stream] += 1
            self._buffer = kept
            if before != len(kept):
                log.info("Redis already held %d of the %d buffered events; not writing them again",
                         before - len(kept), before)
        if self._down and self.errors:
            log.info("connected to Redis at %s again", self.sink.where)
        self._down = False
        self._backoff.reset()

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
        written = time.monotonic()
        buf, n = self._buffer, self._inflight
        chunk = [buf.popleft() for _ in range(n)]
        self._inflight = 0
        self._since = written
        self._clock_sent = None
        if repeated:
            # Already in the stream (written before a lost reply): not written now.
            log.debug("%d entries were already in Redis", len(repeated))
            for i in sorted(repeated, reverse=True):
                self.skipped[chunk[i].stream] += 1
                del chunk[i]
        self._account(chunk, written)

    def _account(self, chunk: list[Entry], written: float) -> None:
        """Count the entries and measure their lateness, one histogram add per distinct time."""
        counts = self.written
        due = self.due
        t_prev, run = 0, 0
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


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
