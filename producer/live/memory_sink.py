"""A :class:`~producer.live.sink.Sink` in memory, with faults injected on demand: the outbox's unit tests.

It keeps streams as Redis does for the producer (entries with explicit ids,
each id above the stream's last generated id, ``ID_TOO_SMALL`` otherwise;
trimming to ``maxlen``) and run records as hashes, and fails as Redis fails:

- :meth:`MemorySink.inject` queues a :class:`Fault` for the next batch sent:
  the connection lost before the batch is applied (``LOST_BEFORE``), after
  (``LOST_AFTER``: written, reply lost), or midway (``PARTIAL``: its first
  ``count`` entries written); or a "not ours" reply, ``MOVED`` (``MOVED``:
  nothing written, the slot served elsewhere for now); or an earlier copy of
  the batch's first ``count`` entries written just before it (``DUPLICATE``:
  those are refused as not above the top);
- :meth:`MemorySink.go_down` / :meth:`MemorySink.come_back` (every command
  fails as a lost connection meanwhile);
- :meth:`MemorySink.lose_newest` (a restart from an older snapshot: the
  newest entries, acknowledged, are gone).

Replies are immediate; the batch in flight is applied when it is sent (as a
server applies it on arrival) and its outcome is collected by :meth:`MemorySink.receive`.
It is for tests of the outbox's logic beside the real-server fault tests,
never for a run: it runs no scripts and has no connections for a backfill.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from producer.live.sink import ZERO_ID, Command, Entry, RedisError, Refused, RoundTrip, Span, StreamId


class Fault(enum.Enum):
    LOST_BEFORE = "connection lost before the batch was applied"
    LOST_AFTER = "connection lost after the batch was applied (its replies lost)"
    PARTIAL = "connection lost after part of the batch was applied"
    MOVED = "MOVED: the streams' slot is served by another node for now"
    DUPLICATE = "an earlier copy of the batch's first entries reached the streams first"


@dataclass(frozen=True)
class Injected:
    fault: Fault
    count: int = 0  #: PARTIAL: how many of the batch's entries are applied


class MemorySink(RoundTrip):
    """The run's streams and hashes in memory (see the module's doc)."""

    def __init__(self, streams: Sequence[str], maxlen: int = 1_000_000, where: str = "memory") -> None:
        self.streams, self.maxlen, self.where = tuple(streams), maxlen, where
        #: Per stream, its entries in order: (id, data, key); and its last generated id.
        self.stored: list[list[tuple[StreamId, bytes, bytes]]] = [[] for _ in self.streams]
        self.generated: list[StreamId] = [ZERO_ID for _ in self.streams]
        self.hashes: dict[str, dict[str, str]] = {}
        self.keys: dict[str, bytes] = {}  # SET commands sent with a batch (the clock keys)
        self.faults: list[Injected] = []
        self.down = False
        self.on_reply: Callable[[], None] | None = None
        self.replied_at = 0.0
        self._outcome: list[int] | BaseException | None = None  # the batch in flight's

    # -- faults ---------------------------------------------------------------------------------

    def inject(self, fault: Fault, count: int = 0) -> None:
        """Queue a fault for the next batch sent (after those queued already)."""
        self.faults.append(Injected(fault, count))

    def go_down(self) -> None:
        self.down = True

    def come_back(self) -> None:
        self.down = False

    def lose_newest(self, stream: int, count: int) -> None:
        """Forget a stream's newest ``count`` entries and their ids (a restart from an older snapshot)."""
        kept = self.stored[stream][:max(0, len(self.stored[stream]) - count)]
        self.stored[stream] = kept
        self.generated[stream] = kept[-1][0] if kept else ZERO_ID

    def _up(self) -> None:
        if self.down:
            raise RedisConnectionError(f"{self.where} is down")

    # -- writing --------------------------------------------------------------------------------

    def send(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> None:
        if self._outcome is not None:
            raise RuntimeError("a batch is already in flight")
        fault = self.faults.pop(0) if self.faults and entries else None  # a probe's PING takes no fault
        self._outcome = self._apply(entries, extra, fault)

    def _apply(self, entries: Sequence[Entry], extra: Sequence[Command], fault: Injected | None) -> list[int] | BaseException:
        """The batch as the server takes it: its outcome (the repeated entries' indices, or the failure)."""
        if self.down:
            return RedisConnectionError(f"{self.where} is down")
        kind = fault.fault if fault is not None else None
        count = fault.count if fault is not None else 0
        if kind is Fault.MOVED:
            return Refused(kind.value)
        if kind is Fault.LOST_BEFORE:
            return RedisConnectionError(kind.value)
        if kind is Fault.DUPLICATE:
            for e in entries[:count]:
                self._add(e)
            kind = None
        repeated = [i for i, e in enumerate(entries[:count if kind is Fault.PARTIAL else len(entries)])
                    if not self._add(e)]
        if kind is not None:  # LOST_AFTER, PARTIAL
            return RedisConnectionError(kind.value)
        self.keys.update({str(cmd[1]): str(cmd[2]).encode() for cmd in extra if cmd[0] == "SET"})
        return repeated

    def _add(self, e: Entry) -> bool:
        """XADD with an explicit id: ``False`` if it is not above the stream's last generated id."""
        if e.id <= self.generated[e.stream]:
            return False
        stored = self.stored[e.stream]
        stored.append((e.id, e.data, e.key))
        self.generated[e.stream] = e.id
        if len(stored) > self.maxlen:
            del stored[:len(stored) - self.maxlen]
        return True

    def receive(self) -> list[int]:
        outcome, self._outcome = self._outcome, None
        if outcome is None:
            return []
        if isinstance(outcome, BaseException):
            raise outcome
        self.replied_at = time.monotonic()
        if self.on_reply is not None:
            self.on_reply()
        return outcome

    @property
    def in_flight(self) -> bool:
        return self._outcome is not None

    def awaiting_reply(self) -> bool:
        return False

    def answered_within(self, seconds: float) -> bool:
        return True

    def abandon(self) -> None:
        self._outcome = None

    # -- reading --------------------------------------------------------------------------------

    def ping(self) -> None:
        self._up()

    def tops(self) -> list[tuple[StreamId, Entry | None]]:
        self._up()
        out: list[tuple[StreamId, Entry | None]] = []
        for i, stored in enumerate(self.stored):
            top = None
            if stored:
                (ms, seq), data, key = stored[-1]
                top = Entry(i, ms // 1000, ms, seq, data, key)
            out.append((self.generated[i], top))
        return out

    def last_ids(self) -> list[StreamId]:
        return [eid for eid, _ in self.tops()]

    def spans(self, ranges: Sequence[tuple[int, StreamId, StreamId]]) -> list[Span]:
        self._up()
        out = []
        for stream, low, high in ranges:
            stored = self.stored[stream]
            out.append(Span({eid: (data, key) for eid, data, key in stored if low <= eid <= high}, len(stored),
                            stored[0][0] if stored else None))
        return out

    def replace_streams(self) -> list[tuple[str, str]]:
        self._up()
        self.stored = [[] for _ in self.streams]
        self.generated = [ZERO_ID for _ in self.streams]
        return []

    # -- run records ----------------------------------------------------------------------------

    def read_hashes(self, keys: Sequence[str]) -> list[dict[str, str]]:
        self._up()
        return [dict(self.hashes.get(key, {})) for key in keys]

    def create_hashes(self, keys: Sequence[str], values: dict[str, str]) -> list[bool]:
        self._up()
        created = [key not in self.hashes for key in keys]
        for key, new in zip(keys, created, strict=True):
            if new:
                self.hashes[key] = dict(values)
        return created

    def write_hashes(self, keys: Sequence[str], values: dict[str, str]) -> None:
        self._up()
        for key in keys:
            self.hashes.setdefault(key, {}).update(values)

    def delete_hashes(self, keys: Sequence[str]) -> None:
        self._up()
        for key in keys:
            self.hashes.pop(key, None)

    # -- what needs a real Redis ----------------------------------------------------------------

    def _no(self, what: str) -> RedisError:
        return RedisError(f"an in-memory sink has no {what}: use a Redis (REDIS_URL)")

    def eval_each(self, script: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        raise self._no("scripts (leases)")

    @property
    def client(self) -> Any:
        raise self._no("Redis client (leases)")

    def stream_pools(self) -> list[tuple[str, Any]]:
        raise self._no("connections for a bulk backfill")

    def pack_columns(self, stream: int, ms: Any, seq: Any, data: list[bytes], key: list[bytes],
                     after: StreamId | None = None) -> bytes:
        raise self._no("connections for a bulk backfill")

    def slots_may_have_moved(self, why: str) -> None:
        """No slots in memory."""

    def clock_reader(self, key: str, db: int) -> Callable[[], bytes | str | None]:
        return lambda: self.keys.get(key)

    def clock_push(self, key: str, db: int, on_change: Callable[[], None], what: str) -> None:
        return None  # the followed clock polls

    def close(self) -> None:
        self._outcome = None
