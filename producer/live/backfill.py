"""Backfill: a producer far behind its clock writes the past at the speed of Redis.

A restart after an outage, a continued run whose clock went on, or a run
at ``SPEED=max`` (its whole span due at once) begins with a stretch of
events that are all due already. The
SimPy model would write them one event at a time (about 12 us each); where
the wall clock paces the run this module writes them instead:

- events from an engine equal to the model event for event
  (:func:`~producer.live.catchup.due_batches`): the vectorized engine
  (:func:`sim.fast.fast_batches`, the engine of ``foot-traffic simulate``)
  where no store has a capacity, the exact event engine
  (:func:`sim.exact.exact_batches`) where one has; from where a restart's
  model would start (:func:`~producer.live.resume.model_start`: the run's
  start, with a capacity) up to the second now due. With a capacity the
  instants at which every such store was empty are noted
  (:class:`~producer.live.catchup.QuietTimes`): the model continues from
  the latest of them, not from the run's start;
- entry ids ``<ms>-<seq>`` computed column-wise exactly as the
  :class:`~producer.live.emitter.Emitter` numbers them, and the JSON lines
  of :meth:`~sim.batch.SessionColumns.json_lines` (the bytes the model's
  events give);
- pre-encoded pipelines of appends (:mod:`~producer.live.append`: one
  atomic step per stream and chunk, each onto the top the one before left)
  sent back to back on a connection of their own (redis-py's
  ``send_packed_command``) while a reader thread reads the replies with
  redis-py's parser (``read_response``, hiredis), up to :data:`IN_FLIGHT` of
  them in flight.

With ``STREAM_PER_STORE=1`` each batch is split by store: store ``k``'s
sessions and door events go to its set of the run's stream layout, each stream
numbering its own ids, as the :class:`~producer.live.emitter.Emitter` does.
On a Redis Cluster each stream's pipelines go to the primary holding its
slot, one connection (and one reader thread) per primary, as
:class:`~producer.live.cluster_sink.ClusterSink` splits a batch; a ``MOVED``
or a connection lost in a failover is a failure like any other.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np

from producer.live.append import LOAD
from producer.live.catchup import Column, QuietTimes, due_batches, sequence, store_index
from producer.live.faults import retrying
from producer.live.labels import LabelSource, label_columns
from producer.live.layout import DOORS, SESSIONS, StreamLayout
from producer.live.lines import door_lines, session_lines
from producer.live.outbox import Outbox
from producer.live.pace import Pace, WallClock
from producer.live.resume import model_start
from producer.live.sensor_backfill import sensor_entries
from producer.live.sensor_pump import sensor_start
from producer.live.sink import ZERO_ID, Entry, Sink, StreamId, reply_text
from producer.settings import MAX_SPEED
from sim.batch import Batch, texts
from sim.events import iso
from sim.sampling import Days
from sim.store import Store

log = logging.getLogger("producer.live.backfill")

#: Entries per pipeline.
CHUNK = 5000
#: Pipelines sent but not yet answered, at most.
IN_FLIGHT = 8
#: Backfill only when at least this far (wall seconds) behind: less is caught up by the model.
BEHIND = 1.0

def _keys(values: np.ndarray) -> list[bytes]:
    return values.tolist() if values.dtype.kind == "S" else [v.encode() for v in texts(values)]


def columns(batch: Batch, layout: StreamLayout | None = None) -> tuple[Column, Column]:
    """A batch of the vectorized engine as the two streams' entries (sessions, door events)."""
    s, d = batch.sessions, batch.doors
    t0, t1 = s.entry.astype(np.int64), d.time.astype(np.int64)
    layout = layout or StreamLayout.one_pair()
    return (Column(layout.set_stream(0, SESSIONS), t0 * 1000, sequence(t0), session_lines(s), _keys(s.customer_id)),
            Column(layout.set_stream(0, DOORS), t1 * 1000, sequence(t1), door_lines(d), _keys(d.customer_id)))


def store_columns(batch: Batch, stores: Sequence[Store], layout: StreamLayout) -> list[Column]:
    """A batch as each store's two streams' entries, on the streams of the store's set in the layout.

    Each store's events keep their order (a stable sort by store), and each
    stream counts its own sequence numbers, as the
    :class:`~producer.live.emitter.Emitter` numbers them.
    """
    s, d = batch.sessions, batch.doors
    out: list[Column] = []
    if len(s):
        out += _by_store(layout, SESSIONS, s.entry, s.store_id, session_lines(s), _keys(s.customer_id), stores)
    if len(d):
        out += _by_store(layout, DOORS, d.time, d.store_id, door_lines(d), _keys(d.customer_id), stores)
    return out


def _by_store(
    layout: StreamLayout, kind: int, times: np.ndarray, store_id: np.ndarray, data: list[bytes], key: list[bytes], stores: Sequence[Store],
) -> list[Column]:
    """One stream's rows of every store (``kind``: SESSIONS or DOORS) split into the stores' columns."""
    code = store_index(store_id, stores)
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(stores) + 1))
    t = times.astype(np.int64)[order]
    out = []
    for k in np.flatnonzero(np.diff(bounds)).tolist():
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        rows = order[lo:hi].tolist()
        tk = t[lo:hi]
        out.append(Column(layout.set_stream(k, kind), tk * 1000, sequence(tk), [data[i] for i in rows], [key[i] for i in rows]))
    return out


def due_now(pace: Pace) -> int | None:
    """The simulated second now due on a wall clock (``None`` for a followed clock)."""
    if not isinstance(pace, WallClock):
        return None
    return int(pace.reached())


class Foreign(Exception):
    """A stream's top is not an entry this run produces: leave it to the model's replay to report."""


class Pipe:
    """Pre-encoded pipelines of appends on a connection of their own (to one Redis, or one primary); a thread reads the replies.

    The connection is never reopened: what Redis holds of the pipelines sent
    on it is a prefix of them, the gap-free prefix :func:`_settle` checks. A
    pipeline sent on a new connection after the old one died would land
    above entries lost with the old one.
    """

    def __init__(self, sink: Sink, pool: Any) -> None:
        self.sink, self.pool = sink, pool
        self.conn: Any = pool.get_connection()
        self.slots = threading.Semaphore(IN_FLIGHT)
        self.sent: list[list[Column]] = []  # the pipelines sent, in order
        self.confirmed = 0  # how many of them are answered, every entry written
        self.error: BaseException | None = None
        self._replies: list[int] = []
        self._more = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="backfill-replies", daemon=True)
        self._reader.start()

    def send(self, cols: list[Column], after: list[StreamId]) -> None:
        """Send one pipeline: an append per column (of one stream, or of several on this Redis), in order.

        ``after``: each stream's top before this pipeline (the last id of its
        previous append, or the top read at the start), updated here. Each
        append writes only onto that top: one refused (out of memory, a
        replica) leaves its stream's later appends unwritten too (``GAP``),
        so what Redis holds of a stream is always a prefix of what was sent.
        """
        self.slots.acquire()
        if self.error is not None:
            self.slots.release()
            raise self.error
        packed = [] if self.sent else [LOAD]  # the script, in this connection's server's cache
        for c in cols:
            packed.append(self.sink.pack_columns(c.stream, c.ms, c.seq, c.data, c.key, after[c.stream]))
            after[c.stream] = (int(c.ms[-1]), int(c.seq[-1]))
        with self._more:
            self._replies.append(len(packed))
            self.sent.append(cols)
            self._more.notify()
        self.conn.send_packed_command(packed, check_health=False)

    def finish(self) -> None:
        """Wait until every pipeline sent is answered (or the reading failed)."""
        with self._more:
            self._closed = True
            self._more.notify()
        self._reader.join()

    def close(self) -> None:
        """Back to the pool once every reply was read; closed if the reading stopped (replies may be left)."""
        if self.error is not None or self.confirmed < len(self.sent):
            self.conn.disconnect()
        self.pool.release(self.conn)

    def _read(self) -> None:
        """Read each pipeline's replies with redis-py's parser (hiredis); stop at the first refusal or failure."""
        k = 0
        try:
            while True:
                with self._more:
                    while k >= len(self._replies) and not self._closed:
                        self._more.wait()
                    if k >= len(self._replies):
                        return
                    due = self._replies[k]
                for _ in range(due):
                    # Raises a refusal (a ResponseError) or a lost connection. The connection is left
                    # open on a failure: redis-py would close it, and the sender's next
                    # send_packed_command would open a new one, on which Redis writes that pipeline
                    # above the entries lost with the old one (a gap).
                    self.conn.read_response(disconnect_on_error=False)
                k += 1
                self.confirmed = k
                self.slots.release()
        except BaseException as exc:  # noqa: BLE001 - handed to the sending thread, which stops
            self.error = exc
            self.slots.release()


class Pipes:
    """A :class:`Pipe` per Redis the streams live on: one on a single Redis, one per primary on a cluster.

    With ``gather`` (a pair of streams per store), columns bound for one
    Redis are gathered into pipelines of up to :data:`CHUNK` entries,
    whatever their stream: a store's hour is a few hundred entries, and a
    pipeline each would cost a round trip per few hundred. Otherwise each
    column (a whole batch's stream, up to CHUNK entries) is a pipeline.
    """

    def __init__(self, sink: Sink, tops: Sequence[StreamId], gather: bool = False) -> None:
        self.gather = gather
        #: Each stream's top once what was sent so far is written: where its next append goes.
        self.after = list(tops)
        targets = sink.stream_pools()
        self.by_node: dict[str, Pipe] = {}
        try:
            for name, pool in targets:
                if name not in self.by_node:
                    self.by_node[name] = Pipe(sink, pool)
        except BaseException:
            self.finish()
            self.close()
            raise
        self.of_stream = [self.by_node[name] for name, _ in targets]
        self._gathered: dict[int, tuple[list[Column], int]] = {}  # per pipe (by id): its columns, their entries

    @property
    def error(self) -> BaseException | None:
        """The first failure of any pipe (the backfill then stops everywhere)."""
        return next((p.error for p in self.by_node.values() if p.error is not None), None)

    def send(self, col: Column) -> None:
        """Add a column (at most CHUNK entries) to its Redis's next pipeline; send that when it is full."""
        error = self.error
        if error is not None:
            raise error
        pipe = self.of_stream[col.stream]
        if not self.gather:
            pipe.send([col], self.after)
            return
        cols, n = self._gathered.get(id(pipe), ([], 0))
        if cols and n + len(col) > CHUNK:
            pipe.send(cols, self.after)
            cols, n = [], 0
        self._gathered[id(pipe)] = (cols + [col], n + len(col))

    def flush(self) -> None:
        """Send what is gathered."""
        for pipe in self.by_node.values():
            cols, _ = self._gathered.pop(id(pipe), ([], 0))
            if cols:
                error = self.error
                if error is not None:
                    raise error
                pipe.send(cols, self.after)

    def finish(self) -> None:
        for pipe in self.by_node.values():
            pipe.finish()

    def close(self) -> None:
        for pipe in self.by_node.values():
            pipe.close()

    def confirmed(self) -> list[Column]:
        """The pipelines answered, every entry written."""
        return [col for p in self.by_node.values() for cols in p.sent[:p.confirmed] for col in cols]

    def unconfirmed(self) -> list[Column]:
        """The pipelines sent and not answered: Redis may hold some of their entries, or none."""
        return [col for p in self.by_node.values() for cols in p.sent[p.confirmed:] for col in cols]


def backfill(
    seed: int, stores: Sequence[Store], sim_start: int, end: int | None, pace: Pace, sink: Sink,
    outbox: Outbox, layout: StreamLayout | None = None, rejected: bool = False, quiet: QuietTimes | None = None,
    interval: int | None = None, timeout: float | None = None, counter_reset: int = 0,
    keep: Days | None = None,
) -> int:
    """Write what is due already (vectorized or exact engine), if far enough behind; returns the entries written.

    ``layout``: the run's streams (one pair by default, or a pair per store: ``STREAM_PER_STORE=1``; with
    a sensor, five: :mod:`~producer.live.sensor_backfill`, whose counts are per ``interval`` seconds and
    registers reset daily at ``counter_reset``, minutes past local midnight).
    ``rejected``: the door events include the customers who never got in (``WRITE_REJECTED``).
    ``quiet`` notes the instants the model may start at afterwards (stores with a capacity: :mod:`~producer.live.catchup`).

    ``keep``: where the vectorized engine leaves each store's last day drawn (the model's first days: drawn once).
    Afterwards the outbox has re-read the streams' tops (the model continues from them). ``timeout``
    (``REDIS_CONNECT_TIMEOUT``, ``None`` = for ever) bounds that re-read's wait for a Redis lost meanwhile:
    after it, the last connection error is raised (the run stops with one line, as at start).
    """
    now = due_now(pace)
    if now is None:
        return 0
    layout = layout or StreamLayout.one_pair()
    last = outbox.last_ids
    model = layout.model_ids(last)  # where the engine resumes: the labels streams are made apart
    resume = min(ms for ms, _ in model) // 1000 if model else sim_start
    until = now if end is None else min(now, end)
    assert isinstance(pace, WallClock)
    if until <= max(resume, sim_start):
        return 0
    if (until - max(resume, sim_start)) / pace.speed < BEHIND and pace.speed < MAX_SPEED:
        return 0
    begin, made = _made(seed, stores, layout, sim_start, end, until, rejected, model, quiet, interval,
                        counter_reset, keep)
    if layout.labels:  # the labels due, from the run's start (a few): their streams' tops are checked first
        made = chain([label_columns(LabelSource(seed, stores, layout, sim_start, end).between(sim_start, until))],
                     made)
    if pace.speed >= MAX_SPEED:  # nothing is late: the whole span is due at once, by request
        log.info("--speed max: writing %s to %s at once with the %s", iso(begin), iso(until), _engine(stores))
    else:
        log.info("%.0f s behind: backfilling from %s to %s with the %s",
                 (until - max(resume, sim_start)) / pace.speed, iso(begin), iso(until), _engine(stores))
    began = time.monotonic()
    per_store = layout.per_store
    written = _write(sink, outbox, per_store, last, lambda pipes: _write_all(made, last, outbox, pipes),
                     then=(lambda: None) if layout.sensor else (lambda: _note_the_end(quiet, end, until, outbox)),
                     timeout=timeout)
    for i, n in enumerate(written):
        outbox.written[i] += n
    total = sum(written)
    wall = time.monotonic() - began
    log.info("backfilled %d entries in %.1f s (%.0f entries/s)", total, wall, total / max(wall, 1e-9))
    return total


def _note_the_end(quiet: QuietTimes | None, end: int | None, until: int, outbox: Outbox) -> None:
    """Everything up to the run's end is written (not cut short by a stop): the model has nothing left to make."""
    if quiet is not None and end is not None and until >= end and not outbox.waker.stopping:
        quiet.written_to_end(end)


def _engine(stores: Sequence[Store]) -> str:
    """The engine the backfill's events come from, as the log names it."""
    return "exact event engine" if any(s.capacity is not None for s in stores) else "vectorized engine"


def _made(
    seed: int, stores: Sequence[Store], layout: StreamLayout, sim_start: int, end: int | None, until: int,
    rejected: bool, last: list[StreamId], quiet: QuietTimes | None, interval: int | None, counter_reset: int = 0,
    keep: Days | None = None,
) -> tuple[int, Iterator[Sequence[Column]]]:
    """Where the engine starts (a restart's model start) and the columns of every stream due before ``until``."""
    if layout.sensor:
        if interval is None:
            raise ValueError("a backfill with a sensor needs the counts' interval")
        begin, feed_from = sensor_start(sim_start, last, stores, interval, counter_reset=counter_reset)
        return begin, sensor_entries(seed, stores, layout, sim_start, end, interval, begin, feed_from, until,
                                     rejected, last, quiet, counter_reset)
    begin = model_start(sim_start, last, stores)
    batches = due_batches(seed, stores, begin, until, rejected, last, quiet, keep)
    if layout.per_store:
        return begin, (store_columns(batch, stores, layout) for batch in batches)
    return begin, (columns(batch, layout) for batch in batches)


def _write(sink: Sink, outbox: Outbox, gather: bool, tops: Sequence[StreamId], write: Callable[[Pipes], None],
           then: Callable[[], None], timeout: float | None = None) -> list[int]:
    """``write`` on the sink's pipes (onto the streams' ``tops``), ``then`` once all is answered; whatever fails,
    check what Redis holds after it (waiting up to ``timeout`` seconds for Redis). The entries written, per stream.

    A failure (the connection, a refusal, ``MOVED``) stops the backfill: the
    model continues from the streams' tops, as after a restart.
    """
    pipes: Pipes | None = None
    try:
        pipes = Pipes(sink, tops, gather=gather)
        write(pipes)
        pipes.finish()
        if pipes.error is not None:
            raise pipes.error
        then()
    except Foreign as exc:
        log.warning("backfill skipped: %s (the model's replay checks it)", exc)
    except Exception as exc:  # noqa: BLE001 - any failure: stop, check, continue
        why = reply_text(exc)[:160] or type(exc).__name__  # with the reply's code (MOVED ...)
        sink.slots_may_have_moved(why)
        log.warning("backfill stopped (%s): the model continues from the streams' tops", why)
    finally:
        if pipes is not None:
            pipes.finish()
            pipes.close()
    return _settle(outbox, pipes, len(sink.streams), timeout)


def _settle(outbox: Outbox, pipes: Pipes | None, streams: int, timeout: float | None = None) -> list[int]:
    """Re-read the tops (waiting up to ``timeout`` seconds for Redis, ``None`` = for ever); what of the
    unanswered pipelines Redis holds must be as sent.

    The entries written, per stream: those answered, and those Redis holds
    although their replies were lost (checked present as sent, or trimmed).
    """
    written = [0 for _ in range(streams)]
    for col in pipes.confirmed() if pipes else []:
        written[col.stream] += len(col)
    unconfirmed = [e for col in (pipes.unconfirmed() if pipes else []) for e in col.entries()]
    held: list[Entry] = []

    def check() -> None:
        outbox.reread(timeout)  # the tops, as at start (waiting for Redis): the model's replay checks them again
        held[:] = [e for e in unconfirmed if e.id <= outbox.last_ids[e.stream]]
        if held:
            outbox.check_held(held)  # present as sent (or trimmed), or the run stops: nothing lost unseen

    retrying(check, "checking what the backfill wrote", outbox.waker.wait, timeout)  # Redis lost again meanwhile
    for e in held:
        written[e.stream] += 1
    return written


def _first_above(col: Column, last: list[StreamId], tops: list[Entry | None], seen: list[bool]) -> int:
    """Where the column's entries above its stream's top begin; the top checked as this run's (``seen``)."""
    stream = col.stream
    top_ms, top_seq = last[stream]
    above = (col.ms > top_ms) | ((col.ms == top_ms) & (col.seq > top_seq))
    first = int(np.argmax(above)) if above.any() else len(col)
    if not seen[stream]:
        at = np.flatnonzero((col.ms == top_ms) & (col.seq == top_seq))
        if len(at):
            mine = col.entry(int(at[0]))
            top = tops[stream]  # the newest entry; its id is below the top id if that one was deleted
            if top is not None and top.id == last[stream] and (top.data, top.key) != (mine.data, mine.key):
                raise Foreign(f"stream {stream}'s newest entry is not this run's event")
            seen[stream] = True
        elif first < len(col):
            raise Foreign(f"this run never produces stream {stream}'s newest id")
    return first


def _write_all(made: Iterable[Sequence[Column]], last: list[StreamId], outbox: Outbox, pipes: Pipes) -> None:
    """Generate, check the tops, and send every entry above them, in pipelines of at most :data:`CHUNK`."""
    tops = outbox.tops
    seen = [top == ZERO_ID for top in last]
    held: list[Column] = []  # what waits until both tops are checked
    for cols in made:
        for col in cols:
            if not len(col):
                continue
            first = _first_above(col, last, tops, seen)
            for lo in range(first, len(col), CHUNK):
                held.append(col.part(lo, min(lo + CHUNK, len(col))))
        if all(seen):
            # Each stream's pipelines go in id order (batches are consecutive windows).
            for part in held:
                if outbox.waker.stopping:
                    return  # a stop: the model then stops at once, writing nothing more
                pipes.send(part)
            held.clear()
    if not all(seen):
        raise Foreign("the streams' newest entries are beyond what is due")
    pipes.flush()
