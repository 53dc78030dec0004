"""Parts for testing the outbox against a real redis-server with faults injected on command.

:class:`FaultySink` is the production :class:`~producer.live.redis_sink.RedisSink`
with one queue of faults in front of its hot path (``send``/``receive``);
every byte it writes still goes to a real ``redis-server``, and every reply is
the server's. A fault is taken by the next batch sent:

- ``FAIL_BEFORE_SEND``: the connection fails before the batch leaves (nothing
  is written): a ``ConnectionError`` from ``send``.
- ``LOSE_REPLY``: the batch is written and Redis replies, then the connection
  dies before the outbox sees the replies: a ``ConnectionError`` from
  ``receive``, as when a link drops between the write and its answer.
- ``DUPLICATE``: the batch reaches Redis twice: a copy of its first ``count``
  entries lands first (a retried write that did arrive), so Redis answers
  ``ID_TOO_SMALL`` to the outbox's own copy of them.

:meth:`FaultySink.fail_reads` also fails the reads the outbox makes to check
entries Redis says it holds, as a connection dying mid-check would.

:func:`run_entries` makes the entries the producer would put: the live
:class:`~producer.live.emitter.Emitter` fed by the real model, so ids are real
``<ms>-<seq>`` ids, in order, on both streams.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
import simpy
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError

from producer.live.emitter import Emitter
from producer.live.redis_sink import Entry, RedisSink, StreamId
from producer.live.sink import Span
from sim.model import StoreModel
from sim.run import to_epoch
from sim.store import Store

#: The run's two streams, as the producer names them.
STREAMS = ("foot_traffic", "foot_traffic:realistic")
#: An append-only file fsynced on every write: a killed server forgets nothing it acknowledged.
PERSISTENT = ["--appendonly", "yes", "--appendfsync", "always"]
#: Far above any test's entry count: nothing is trimmed, so a stream can be compared whole.
MAXLEN = 1_000_000


class Fault(enum.Enum):
    FAIL_BEFORE_SEND = "fail before send"
    LOSE_REPLY = "lose the reply"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Injected:
    """One fault for the next batch; ``count`` is how many of its first entries a ``DUPLICATE`` repeats."""

    fault: Fault
    count: int = 1


class _Collector:
    """What the emitter puts to: every entry, nothing already written."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def written_already(self, stream: int, ms: int, seq: int) -> bool:
        return False

    def put(self, entry: Entry) -> None:
        self.entries.append(entry)


@lru_cache(maxsize=4)
def run_entries(seconds: int = 600, seed: int = 7) -> tuple[Entry, ...]:
    """The entries of ``seconds`` of a busy two-store run, in the order the producer puts them.

    About 1.2 entries per simulated second, with several events in some
    seconds (ids ``<ms>-1``, ``<ms>-2``), sessions on stream 0 and door
    events on stream 1. Deterministic: the same seed gives the same entries.
    """
    start = to_epoch("2025-11-03T10:00:00")
    env = simpy.Environment(initial_time=start)
    collector = _Collector()
    stores = [Store(store_id="a", daily_customers=20_000), Store(store_id="b", daily_customers=20_000)]
    StoreModel(env, seed, stores, start, start + seconds, Emitter(collector))
    env.run()
    return tuple(collector.entries)


def per_stream(entries: Sequence[Entry]) -> list[list[Entry]]:
    """``entries`` split by stream, each in order."""
    return [[e for e in entries if e.stream == s] for s in range(len(STREAMS))]


def as_stored(entries: Sequence[Entry]) -> list[tuple[bytes, bytes, bytes]]:
    """Entries as a stream holds them: (id, data, key)."""
    return [(b"%d-%d" % (e.ms, e.seq), e.data, e.key) for e in entries]


def read_stream(client: redis.Redis, name: str) -> list[tuple[bytes, bytes, bytes]]:
    """Every entry of a stream, oldest first, as (id, data, key)."""
    raw: Any = client.xrange(name, "-", "+")
    return [(eid, fields[b"data"], fields[b"key"]) for eid, fields in raw]


def wait_until_serving(client: redis.Redis, timeout: float = 30.0) -> None:
    """Wait until a (re)started server answers commands (it answers LOADING while it reads its AOF)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except (BusyLoadingError, RedisConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class FaultySink(RedisSink):
    """A real :class:`RedisSink` that fails its next batches as told (see the module's doc).

    It also counts, per stream, what reached the outbox: entries confirmed
    written (``ok``), refused as repeated (``repeated``), and written but
    whose reply was lost (``lost``) or written by a duplicate's early copy
    (``echoed``), so a test can check the outbox's own counts against them.
    """

    def __init__(self, client: redis.Redis, streams: Sequence[str], maxlen: int, where: str) -> None:
        super().__init__(client, streams, maxlen, where)
        self.faults: deque[Injected] = deque()
        n = len(self.streams)
        self.ok, self.repeated, self.lost, self.echoed = [0] * n, [0] * n, [0] * n, [0] * n
        self.taken: list[Fault] = []  # the faults that happened, in order
        self._batch: list[Entry] = []
        self._lose = False
        self._repeats = False
        self._failing_reads = 0

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Queue a fault for the next batch that is sent (after those already queued)."""
        self.faults.append(Injected(fault, count))

    def fail_reads(self, count: int = 1) -> None:
        """Make the next ``count`` reads of stream entries (XRANGE) fail as if the connection died."""
        self._failing_reads = count

    def spans(self, ranges: Sequence[tuple[int, StreamId, StreamId]]) -> list[Span]:
        """The real XRANGE and XINFO STREAM, unless a failing read is due."""
        if self._failing_reads:
            self._failing_reads -= 1
            raise RedisConnectionError("injected: the connection died while reading entries")
        return super().spans(ranges)

    def send(self, entries: Sequence[Entry], extra: Sequence[Sequence[bytes | str | int]] = ()) -> None:
        """Send as the real sink does, unless the next queued fault says otherwise."""
        injected = self.faults.popleft() if self.faults and not self.in_flight else None
        if injected is not None:
            self.taken.append(injected.fault)
        if injected is not None and injected.fault is Fault.FAIL_BEFORE_SEND:
            self._drop()
            raise RedisConnectionError("injected: the connection failed before the batch was sent")
        if injected is not None and injected.fault is Fault.DUPLICATE and entries:
            early = list(entries[: injected.count])
            RedisSink.send(self, early)
            refused = set(RedisSink.receive(self))
            for i, e in enumerate(early):
                if i not in refused:
                    self.echoed[e.stream] += 1
        super().send(entries, extra)
        self._batch = list(entries)
        self._lose = injected is not None and injected.fault is Fault.LOSE_REPLY
        self._repeats = injected is not None and injected.fault is Fault.DUPLICATE

    @property
    def repeats_in_flight(self) -> bool:
        """Whether the batch in flight will be answered ``ID_TOO_SMALL`` for some entry (a DUPLICATE)."""
        return self.in_flight and self._repeats

    def receive(self) -> list[int]:
        """Read the replies as the real sink does; for a LOSE_REPLY batch, read them, then fail."""
        if not self.in_flight:
            return super().receive()
        batch, lose = self._batch, self._lose
        self._batch, self._lose, self._repeats = [], False, False
        repeated = super().receive()
        refused = set(repeated)
        if lose:
            for i, e in enumerate(batch):
                if i not in refused:
                    self.lost[e.stream] += 1
            self._drop()
            raise RedisConnectionError("injected: the connection died before the replies were read")
        for i, e in enumerate(batch):
            if i in refused:
                self.repeated[e.stream] += 1
            else:
                self.ok[e.stream] += 1
        return repeated


def faulty_sink(url: str) -> FaultySink:
    """A :class:`FaultySink` on ``url`` for the run's two streams, made as the producer makes its sink."""
    sink = FaultySink.connect(url, "", 0, 0, STREAMS, MAXLEN)
    assert isinstance(sink, FaultySink)
    return sink
