"""Backfill: a producer far behind its clock writes the past at the speed of Redis.

A restart after an outage, or a run started in the past (``SIM_START``
before now), begins with a stretch of events that are all due already. The
SimPy model would write them one event at a time (about 12 us each); where
the vectorized engine is exact (no store has a capacity limit, the wall
clock paces the run) this module writes them instead:

- events from the vectorized engine (:func:`sim.fast.fast_batches`, the
  engine of ``foot-traffic simulate``, equal to the model event for event),
  from where a restart's model would start (:func:`~producer.live.resume.model_start`)
  up to the second now due;
- entry ids ``<ms>-<seq>`` computed column-wise exactly as the
  :class:`~producer.live.emitter.Emitter` numbers them, and the JSON lines
  of :meth:`~sim.batch.SessionColumns.json_lines` (the bytes the model's
  events give);
- pre-encoded ``XADD`` pipelines sent back to back on a connection of their
  own while a reader thread reads the replies, up to :data:`IN_FLIGHT` of
  them in flight.

Exactly once, as for the outbox: the streams' newest entries must be ones
this run produces (the same id and payload), or nothing is written and the
model's replay reports it; only ids above each stream's top are written. If
anything fails (the connection, a refusal), the backfill stops: what Redis
holds of the unconfirmed pipelines is checked as the outbox checks entries
whose reply was lost (present as sent, or trimmed), and the model then
continues from the streams' tops as after any restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from producer.live.outbox import Outbox
from producer.live.pace import Pace, WallClock
from producer.live.redis_sink import TRANSIENT, ZERO_ID, Entry, RedisSink, StreamId
from producer.live.resume import model_start
from sim.batch import Batch, texts
from sim.events import iso
from sim.fast import fast_batches
from sim.store import Store

log = logging.getLogger("producer.live.backfill")

#: Entries per pipeline.
CHUNK = 5000
#: Pipelines sent but not yet answered, at most.
IN_FLIGHT = 8
#: Backfill only when at least this far (wall seconds) behind: less is caught up by the model.
BEHIND = 1.0
#: Simulated seconds per batch of the vectorized engine.
WINDOW = 3600


@dataclass
class Column:
    """One stream's entries of a batch, column-wise: times, ids, payloads, keys."""

    t: np.ndarray
    seq: np.ndarray
    data: list[bytes]
    key: list[bytes]

    def entry(self, stream: int, i: int) -> Entry:
        t = int(self.t[i])
        return Entry(stream, t, t * 1000, int(self.seq[i]), self.data[i], self.key[i])


def sequence(t: np.ndarray) -> np.ndarray:
    """Each event's number within its second (0, 1, 2 ... for events at the same time), as the emitter counts."""
    n = len(t)
    idx = np.arange(n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = t[1:] != t[:-1]
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def _keys(values: np.ndarray) -> list[bytes]:
    return values.tolist() if values.dtype.kind == "S" else [v.encode() for v in texts(values)]


def columns(batch: Batch) -> tuple[Column, Column]:
    """A batch of the vectorized engine as the two streams' entries (sessions, door events)."""
    s, d = batch.sessions, batch.doors
    return (Column(s.entry, sequence(s.entry), s.json_lines(), _keys(s.customer_id)),
            Column(d.time, sequence(d.time), d.json_lines(), _keys(d.customer_id)))


def due_now(pace: Pace) -> int | None:
    """The simulated second now due on a wall clock (``None`` for a followed clock)."""
    if not isinstance(pace, WallClock):
        return None
    return int(pace.sim_start + (time.time() - pace.wall_start) * pace.speed)


class Foreign(Exception):
    """A stream's top is not an entry this run produces: leave it to the model's replay to report."""


class Pipe:
    """Pre-encoded XADD pipelines on a connection of their own; a thread reads the replies."""

    def __init__(self, sink: RedisSink) -> None:
        self.sink = sink
        self.conn: Any = sink.client.connection_pool.get_connection()
        self.slots = threading.Semaphore(IN_FLIGHT)
        self.sent: list[list[Entry]] = []  # the pipelines sent, in order
        self.confirmed = 0  # how many of them are answered, every entry written
        self.error: BaseException | None = None
        self._replies: list[int] = []
        self._more = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="backfill-replies", daemon=True)
        self._reader.start()

    def send(self, entries: list[Entry]) -> None:
        self.slots.acquire()
        if self.error is not None:
            self.slots.release()
            raise self.error
        packed = self.sink.pack(entries)
        with self._more:
            self.sent.append(entries)
            self._replies.append(len(entries))
            self._more.notify()
        self.conn.send_packed_command([packed], check_health=False)

    def finish(self) -> None:
        """Wait until every pipeline sent is answered (or the reading failed)."""
        with self._more:
            self._closed = True
            self._more.notify()
        self._reader.join()

    def close(self, failed: bool) -> None:
        if failed:
            self.conn.disconnect()
        self.sink.client.connection_pool.release(self.conn)

    def _read(self) -> None:
        k = 0
        while True:
            with self._more:
                while k >= len(self._replies) and not self._closed:
                    self._more.wait()
                if k >= len(self._replies):
                    return
                n = self._replies[k]
            try:
                problem: BaseException | None = None
                for _ in range(n):
                    try:
                        self.conn.read_response()
                    except TRANSIENT:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a refusal (ID_TOO_SMALL, OOM ...): stop after this pipeline
                        problem = problem or exc
                if problem is not None:
                    raise problem
            except BaseException as exc:  # noqa: BLE001 - handed to the sending thread, which stops
                self.error = exc
                self.slots.release()
                return
            k += 1
            self.confirmed = k
            self.slots.release()


def backfill(
    seed: int, stores: Sequence[Store], sim_start: int, end: int | None, pace: Pace, sink: RedisSink,
    outbox: Outbox,
) -> int:
    """Write what is due already with the vectorized engine, if far enough behind; returns the entries written.

    Afterwards the outbox has re-read the streams' tops (the model continues from them).
    """
    now = due_now(pace)
    if now is None or any(s.capacity is not None for s in stores):
        return 0
    last = outbox.last_ids
    resume = min(ms for ms, _ in last) // 1000 if last else sim_start
    until = now if end is None else min(now, end)
    assert isinstance(pace, WallClock)
    if (until - max(resume, sim_start)) / pace.speed < BEHIND:
        return 0
    begin = model_start(sim_start, last, stores)
    log.info("%.0f s behind: backfilling from %s to %s with the vectorized engine",
             (until - max(resume, sim_start)) / pace.speed, iso(begin), iso(until))
    began = time.monotonic()
    pipe = Pipe(sink)
    failed = False
    written = [0 for _ in sink.streams]
    try:
        _write_all(seed, stores, begin, until, last, outbox, pipe, written)
        pipe.finish()
        if pipe.error is not None:
            raise pipe.error
    except Foreign as exc:
        log.warning("backfill skipped: %s (the model's replay checks it)", exc)
        pipe.finish()
    except Exception as exc:  # noqa: BLE001 - any failure (the connection, a refusal): stop, check, continue
        failed = True
        pipe.finish()
        log.warning("backfill stopped (%s): the model continues from the streams' tops",
                    " ".join(str(exc).split())[:160])
    finally:
        pipe.close(failed)
    unconfirmed = [e for chunk in pipe.sent[pipe.confirmed:] for e in chunk]
    for chunk in pipe.sent[:pipe.confirmed]:
        for e in chunk:
            written[e.stream] += 1
    while True:
        try:
            outbox.reread()  # the tops, as at start (waiting for Redis): the model's replay checks them again
            held = [e for e in unconfirmed if e.id <= outbox.last_ids[e.stream]]
            if held:
                outbox.check_held(held)  # present as sent (or trimmed), or the run stops: nothing lost unseen
            break
        except TRANSIENT:
            continue  # lost Redis again while checking: reread waits for it
    for i, n in enumerate(written):
        outbox.written[i] += n
    total = sum(written)
    wall = time.monotonic() - began
    log.info("backfilled %d entries in %.1f s (%.0f entries/s)", total, wall, total / max(wall, 1e-9))
    return total


def _write_all(
    seed: int, stores: Sequence[Store], begin: int, until: int, last: list[StreamId], outbox: Outbox,
    pipe: Pipe, written: list[int],
) -> None:
    """Generate, check the tops, and send every entry above them, in pipelines of :data:`CHUNK`."""
    tops = outbox.tops
    seen = [top == ZERO_ID for top in last]
    pending: list[Entry] = []
    for batch in fast_batches(seed, stores, begin, until, WINDOW):
        for stream, col in enumerate(columns(batch)):
            if not len(col.t):
                continue
            ms = col.t.astype(np.int64) * 1000
            top_ms, top_seq = last[stream]
            above = (ms > top_ms) | ((ms == top_ms) & (col.seq > top_seq))
            first = int(np.argmax(above)) if above.any() else len(above)
            if not seen[stream]:
                at = np.flatnonzero((ms == top_ms) & (col.seq == top_seq))
                if len(at):
                    mine = col.entry(stream, int(at[0]))
                    top = tops[stream]  # the newest entry; its id is below the top id if that one was deleted
                    if top is not None and top.id == last[stream] and (top.data, top.key) != (mine.data, mine.key):
                        raise Foreign(f"stream {stream}'s newest entry is not this run's event")
                    seen[stream] = True
                elif first < len(above):
                    raise Foreign(f"this run never produces stream {stream}'s newest id")
            pending.extend(col.entry(stream, i) for i in range(first, len(above)))
        # Each stream's entries are in id order (batches are consecutive windows, each in time
        # order); a pipeline may mix the streams. Nothing is sent before both tops are checked.
        if all(seen):
            while len(pending) >= CHUNK:
                if waker_stopping(outbox):
                    return
                pipe.send(pending[:CHUNK])
                del pending[:CHUNK]
    if not all(seen):
        raise Foreign("the streams' newest entries are beyond what is due")
    for i in range(0, len(pending), CHUNK):
        pipe.send(pending[i:i + CHUNK])


def waker_stopping(outbox: Outbox) -> bool:
    """A stop was asked for: the backfill ends after the pipelines in flight (the model then stops)."""
    return outbox.waker.stopping
