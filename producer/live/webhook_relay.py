"""The counter records, relayed from their Redis streams to a webhook: at least once, nothing lost, bounded.

The relay reads the run's ``:counts`` stream(s), or its ``:registers``
stream(s), or both (``WEBHOOK_RECORDS``: what the producer wrote, exactly
once, :mod:`producer.live.sensor_pump`), each from the last position the
endpoint acknowledged, cuts the entries into batches and POSTs them
(:class:`~producer.live.webhook.Poster`) from a few threads at once, so they
may arrive in any order. Why read the stream rather than take the records
from the model: what is in the stream survives the producer (a kill -9),
so the only state the relay needs is how far the endpoint has acknowledged.

**Batches** hold one stream's entries, so one kind of record (the
``X-Foot-Traffic-Kind`` header says which), and are a function of the
entries' ids alone, so a restarted relay sends the very batches (and
idempotency keys) the old one did: the entries of one interval end (id
``<interval_end ms>-<seq>``, ``seq`` the store's place) in chunks of
``batch`` by ``seq``; a chunk is complete when it holds its share of the
stream's stores.

**Progress.** Per stream, the id of the last entry below which every batch
is acknowledged, kept in the hash ``<base>:webhook`` next to the run record
(``<base>:run``); a new run (``--fresh``, or none stored) deletes it and
starts from the stream's first entry. It is advanced after the answer, so a
kill between the two sends that batch again, under the same key: at least
once.

**Bound.** Entries written to the relayed streams but not acknowledged are
counted (those there at start, plus what the producer puts since, minus what was
acknowledged); at ``buffer_max`` the producer waits (:class:`WebhookGate`, a
:class:`~producer.live.emitter.Taker` in front of the outbox), as it waits
for a Redis that is down: the endpoint's outage slows the producer, never
loses a record, and never lets the stream run further ahead of the
endpoint than the bound (keep ``STREAM_MAXLEN`` above it).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from producer.live.environment import Stopped
from producer.live.faults import TRANSIENT, Backoff, short
from producer.live.layout import COUNTS, REGISTERS, StreamLayout
from producer.live.redis_sink import Entry, StreamId
from producer.live.webhook import Poster, RelayStopped, body_of
from producer.settings import SettingsError, WebhookSettings

log = logging.getLogger("producer.live.webhook")

#: POSTs in flight at once (so batches may overtake one another, as a counter fleet's do).
CONCURRENCY = 4
#: Entries read from a stream per call.
READ_COUNT = 1000
#: How long the reader waits when a stream has nothing new (seconds).
POLL = 0.05
#: The streams each ``WEBHOOK_RECORDS`` relays: the kind (the ``X-Foot-Traffic-Kind`` header) and its stream.
KINDS: dict[str, tuple[tuple[str, int], ...]] = {
    "counts": (("counts", COUNTS),), "registers": (("registers", REGISTERS),),
    "both": (("counts", COUNTS), ("registers", REGISTERS)),
}


def progress_key(base: str) -> str:
    """Where a set of streams keeps the webhook's acknowledged positions: beside its run record."""
    return f"{base}:webhook"


@dataclass
class _Batch:
    """Entries of one interval end of one stream, one chunk of them; ``done`` once acknowledged."""

    stream: int
    ms: int
    chunk: int
    lines: list[bytes] = field(default_factory=list)
    last: StreamId = (0, 0)
    done: bool = False


class WebhookRelay:
    """Reads the relayed streams and posts them in batches (see the module's doc); a thread of its own.

    ``streams``: the streams' names; ``stores``: how many stores write to
    each (its entries per interval end); ``progress``: each stream's progress
    hash (:func:`progress_key`); ``kinds``: each stream's kind of record
    (``counts`` for all if not given).
    """

    def __init__(self, client: Any, streams: Sequence[str], stores: Sequence[int], progress: Sequence[str],
                 poster: Poster, batch: int, buffer_max: int, concurrency: int = CONCURRENCY,
                 kinds: Sequence[str] | None = None) -> None:
        self.client, self.streams, self.stores = client, tuple(streams), tuple(stores)
        self.kinds = tuple(kinds) if kinds is not None else ("counts",) * len(self.streams)
        self.progress, self.poster = tuple(progress), poster
        self.batch, self.buffer_max = batch, buffer_max
        self.stop = poster.stop
        self._lock = threading.Condition()
        self._read: list[StreamId | None] = [None] * len(self.streams)  # the last id read
        self._acked: list[StreamId | None] = [None] * len(self.streams)  # the last id acknowledged
        self._saved: list[StreamId | None] = [None] * len(self.streams)
        self._open: list[_Batch | None] = [None] * len(self.streams)
        self._sent: list[deque[_Batch]] = [deque() for _ in self.streams]
        self._unacked = 0  # entries in (or on their way to) the streams, not acknowledged
        self.delivered = 0  #: records acknowledged by this relay
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhook-relay", daemon=True)
        self._failure: BaseException | None = None

    # -- the producer's side ---------------------------------------------------------------

    def start(self, new: bool) -> None:
        """Read the acknowledged positions (a ``new`` run: forget them) and the backlog behind them; relay."""
        for i, key in enumerate(self.progress):
            if new:
                self.client.delete(key)
            acked = self.client.hget(key, f"acked:{self.streams[i]}")
            if acked is not None:
                self._acked[i] = self._saved[i] = self._read[i] = _id(acked)
            self._unacked += self._backlog(i)
        if any(a is not None for a in self._acked):
            log.info("webhook %s: %d records written but not yet acknowledged: sending them first",
                     self.poster.where, self._unacked)
        self._thread.start()

    def offered(self, n: int = 1) -> None:
        """The producer put ``n`` more entries on a relayed stream."""
        with self._lock:
            self._unacked += n

    def room(self) -> bool:
        """Whether the producer may put another relayed entry (fewer than ``buffer_max`` unacknowledged)."""
        self._raise_failure()
        with self._lock:
            return self._unacked < self.buffer_max

    def pending(self) -> int:
        """Entries written (or being written) and not yet acknowledged."""
        with self._lock:
            return self._unacked

    def close(self, wait: Callable[[float], None], deliver: bool = True) -> bool:
        """Stop; first (``deliver``) wait until everything written is acknowledged. ``True`` if it is.

        ``wait(seconds)``: the producer's interruptible wait (a stop raises
        out of it, and the rest is left for the next start).
        """
        try:
            while deliver and self.pending() > 0:
                self._raise_failure()
                wait(POLL)
        except Stopped:  # a stop while delivering: what is left waits for the next start
            pass
        finally:
            self.stop.set()
            self._thread.join(timeout=30)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._save()
        left = self.pending()
        if left:
            (log.error if deliver else log.info)(
                "webhook %s: %d records not acknowledged; the next start sends them", self.poster.where, left)
        return left == 0

    # -- the relay's thread ----------------------------------------------------------------

    def _loop(self) -> None:
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                got = sum(self._read_stream(i) for i in range(len(self.streams)))
                self._save()
                backoff.reset()
            except TRANSIENT as exc:  # Redis away: read again later (nothing is acknowledged meanwhile)
                delay = backoff.take()
                log.warning("webhook relay: cannot read its streams (%s); again in %.1f s", short(exc), delay)
                self.stop.wait(delay)
                continue
            if not got:
                self.stop.wait(POLL)

    def _backlog(self, i: int) -> int:
        """Entries after the acknowledged position of stream ``i``."""
        n, after = 0, self._acked[i]
        while True:
            page = self.client.xrange(self.streams[i], _after(after), "+", count=10 * READ_COUNT)
            if not page:
                return n
            n += len(page)
            after = _id(page[-1][0])

    def _read_stream(self, i: int) -> int:
        page = self.client.xrange(self.streams[i], _after(self._read[i]), "+", count=READ_COUNT)
        for raw_id, fields in page:
            eid = _id(raw_id)
            self._add(i, eid, fields[b"data"])
            self._read[i] = eid
        return len(page)

    def _add(self, i: int, eid: StreamId, data: bytes) -> None:
        ms, seq = eid
        chunk = seq // self.batch
        current = self._open[i]
        if current is not None and (current.ms, current.chunk) != (ms, chunk):
            log.warning("webhook relay: %s: the batch of %d-%d* ended with %d of its records (a trimmed stream?)",
                        self.streams[i], current.ms, current.chunk, len(current.lines))
            self._submit(current)
            current = None
        if current is None:
            current = self._open[i] = _Batch(i, ms, chunk)
        current.lines.append(data)
        current.last = eid
        if len(current.lines) >= min(self.batch, self.stores[i] - chunk * self.batch):
            self._submit(current)

    def _submit(self, batch: _Batch) -> None:
        self._open[batch.stream] = None
        with self._lock:
            self._sent[batch.stream].append(batch)
        future = self._pool.submit(self.poster.deliver, body_of(batch.lines), len(batch.lines),
                                   self.kinds[batch.stream])
        future.add_done_callback(partial(self._answered, batch))

    def _answered(self, batch: _Batch, future: Future[None]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, RelayStopped):
            return
        if exc is not None:
            self._failure = exc
            return
        with self._lock:
            batch.done = True
            sent = self._sent[batch.stream]
            while sent and sent[0].done:
                head = sent.popleft()
                self._acked[batch.stream] = head.last
                self._unacked -= len(head.lines)
                self.delivered += len(head.lines)
            self._lock.notify_all()

    def _save(self) -> None:
        """Store the acknowledged positions that moved (after the answers: at least once)."""
        with self._lock:
            moved = [(i, a) for i, a in enumerate(self._acked) if a is not None and a != self._saved[i]]
        for i, acked in moved:
            self.client.hset(self.progress[i], f"acked:{self.streams[i]}", f"{acked[0]}-{acked[1]}")
            self._saved[i] = acked

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


class Outlet(Protocol):
    """What the gate needs of the outbox: a :class:`~producer.live.emitter.Taker` that can flush."""

    skipped: list[int]

    def written_already(self, stream: int, ms: int, seq: int) -> bool: ...

    def put(self, entry: Entry) -> None: ...

    def flush(self, clock: int | None = None, wait: bool = True) -> bool: ...


class WebhookGate:
    """The outbox, as the sensor pump sees it, holding the relayed entries back while the relay is full.

    ``relayed``: the indexes of the streams the relay reads (:func:`relayed_streams`).
    """

    def __init__(self, outbox: Outlet, relay: WebhookRelay, relayed: Sequence[int],
                 wait: Callable[[float], None]) -> None:
        self.outbox, self.relay, self.relayed, self.wait = outbox, relay, frozenset(relayed), wait

    def written_already(self, stream: int, ms: int, seq: int) -> bool:
        return self.outbox.written_already(stream, ms, seq)

    def put(self, entry: Entry) -> None:
        if entry.stream not in self.relayed:
            self.outbox.put(entry)
            return
        if not self.relay.room():
            self._hold()
        before = self.outbox.skipped[entry.stream]
        self.outbox.put(entry)
        if self.outbox.skipped[entry.stream] == before:  # not the stream's top met again on a restart
            self.relay.offered()

    def _hold(self) -> None:
        log.warning("webhook %s: %d records unacknowledged (WEBHOOK_BUFFER_MAX): waiting for it",
                    self.relay.poster.where, self.relay.pending())
        while not self.relay.room():
            self.outbox.flush()  # what the relay waits for may still be in the outbox
            self.wait(POLL)
        log.info("webhook %s takes records again: resuming", self.relay.poster.where)


def _id(raw: bytes | str) -> StreamId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, seq = text.split("-")
    return int(ms), int(seq)


def _after(eid: StreamId | None) -> str:
    return "-" if eid is None else f"({eid[0]}-{eid[1]}"


def relay_of(settings: WebhookSettings, client: Any, layout: StreamLayout, n_stores: int) -> WebhookRelay | None:
    """The run's relay (``None`` without ``COUNTER_WEBHOOK_URL``), not started; one line if it cannot be.

    ``n_stores``: the producer's stores (all on one counts stream, unless each has its own).
    """
    if settings.counter_webhook_url is None:
        return None
    if not layout.sensor:
        raise SettingsError("COUNTER_WEBHOOK_URL: the webhook sends the door sensor's interval counts, and this "
                            "run has no sensor (no store's profile has a [sensor] table, or SENSOR=off)")
    assert settings.counter_webhook_secret is not None  # Settings checks it
    relayed = [(k, kind, layout.set_stream(k, stream)) for k in range(len(layout.bases))
               for kind, stream in KINDS[settings.webhook_records]]
    poster = Poster(settings.counter_webhook_url, settings.counter_webhook_secret, settings.webhook_timeout,
                    threading.Event(), settings.webhook_retry_first, settings.webhook_retry_max)
    return WebhookRelay(client, [layout.streams[i] for _, _, i in relayed],
                        [1 if layout.per_store else n_stores] * len(relayed),
                        [progress_key(layout.bases[k]) for k, _, _ in relayed], poster,
                        settings.webhook_batch, settings.webhook_buffer_max, kinds=[kind for _, kind, _ in relayed])


def relayed_streams(layout: StreamLayout, records: str) -> list[int]:
    """The indexes of the streams ``WEBHOOK_RECORDS=records`` relays (what :class:`WebhookGate` holds back)."""
    return [layout.set_stream(k, stream) for k in range(len(layout.bases)) for _, stream in KINDS[records]]
