"""The sink seam: what the outbox, backfill, run records and leases need of the streams' store.

:class:`Sink` is a :class:`typing.Protocol`; :class:`~producer.live.redis_sink.RedisSink`
(one Redis), :class:`~producer.live.cluster_sink.ClusterSink` (a Redis Cluster)
and :class:`~producer.live.memory_sink.MemorySink` (in memory, with injected
faults, for the outbox's unit tests) implement it. The entry and its id, and
the errors a sink raises, are defined here, once for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError

StreamId = tuple[int, int]
ZERO_ID: StreamId = (0, 0)


def parse_id(raw: bytes | str) -> StreamId:
    """``b"1762156800000-3"`` -> ``(1762156800000, 3)``."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry waiting to be written.

    ``stream`` indexes :attr:`Sink.streams`; ``t`` is the event's simulated
    time (epoch seconds; a sensor record's ``sent_at``, with its
    milliseconds), when it falls due; ``ms``/``seq`` its entry id.
    """

    stream: int
    t: float
    ms: int
    seq: int
    data: bytes
    key: bytes

    @property
    def id(self) -> StreamId:
        return self.ms, self.seq


@dataclass(frozen=True, slots=True)
class Span:
    """What a stream holds of a range of ids (:meth:`Sink.spans`): the entries, and what trimming has left."""

    entries: dict[StreamId, tuple[bytes, bytes]]  #: id -> (data, key), of the ids in the range
    length: int  #: the stream's length (0: empty or missing)
    first: StreamId | None  #: the oldest entry's id (``None``: empty or missing)


class Refused(RedisConnectionError):
    """Redis refused a command for now (out of memory, a replica, loading, busy ...): retry later."""


class NotYet(RedisConnectionError):
    """Redis has not answered a probe yet (a frozen or very slow server): retry later."""


class RedisError(Exception):
    """Redis refused something in a way retrying will not fix (auth, ACL, wrong type); one line."""


def reply_text(exc: BaseException) -> str:
    """The server's reply, with the code redis-py strips from typed errors (``OOM command not allowed ...``)."""
    code = getattr(exc, "status_code", None)
    text = " ".join(str(exc).split())
    return f"{code} {text}" if code and not text.startswith(code) else text


Command = Sequence[bytes | str | int]


class RoundTrip:
    """A sink's :meth:`write`: :meth:`send` and :meth:`receive`, one round trip (the same for every sink)."""

    def send(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> None:
        raise NotImplementedError

    def receive(self) -> list[int]:
        raise NotImplementedError

    def write(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> list[int]:
        """:meth:`send` and :meth:`receive`: one round trip."""
        self.send(entries, extra)
        return self.receive()


class Sink(Protocol):
    """The run's streams and keys, wherever they are kept.

    Writes are batches with one in flight at a time: :meth:`send` a batch,
    :meth:`receive` its outcome (the indices of entries refused as already
    there; a :data:`~producer.live.faults.TRANSIENT` error when the outcome is
    unknown, after which the caller re-reads :meth:`tops`).
    """

    streams: tuple[str, ...]
    maxlen: int
    where: str
    #: Called (possibly from another thread) when a batch's replies are in.
    on_reply: Callable[[], None] | None
    #: Monotonic time the last batch received had been answered.
    replied_at: float

    # -- writing a batch and counting what was acknowledged
    def send(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> None: ...
    def receive(self) -> list[int]: ...
    def write(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> list[int]: ...
    @property
    def in_flight(self) -> bool: ...
    def awaiting_reply(self) -> bool: ...
    def answered_within(self, seconds: float) -> bool: ...
    def abandon(self) -> None: ...

    # -- reading the streams
    def ping(self) -> None: ...
    def tops(self) -> list[tuple[StreamId, Entry | None]]: ...
    def last_ids(self) -> list[StreamId]: ...
    def spans(self, ranges: Sequence[tuple[int, StreamId, StreamId]]) -> list[Span]: ...
    def replace_streams(self) -> list[tuple[str, str]]: ...

    # -- bulk backfill: per stream, where its pipelines go (a name per Redis, its connection pool)
    def stream_pools(self) -> list[tuple[str, Any]]: ...
    def pack_columns(self, stream: int, ms: Any, seq: Any, data: list[bytes], key: list[bytes],
                     after: StreamId | None = None) -> bytes: ...
    def slots_may_have_moved(self, why: str) -> None: ...

    # -- run records and leases
    def read_hashes(self, keys: Sequence[str]) -> list[dict[str, str]]: ...
    def create_hashes(self, keys: Sequence[str], values: dict[str, str]) -> list[bool]: ...
    def write_hashes(self, keys: Sequence[str], values: dict[str, str]) -> None: ...
    def delete_hashes(self, keys: Sequence[str]) -> None: ...
    def eval_each(self, script: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...
    @property
    def client(self) -> Any: ...  # the redis-py client a lease takes its key on

    # -- the followed clock
    def clock_reader(self, key: str, db: int) -> Callable[[], bytes | str | None]: ...
    def clock_push(self, key: str, db: int, on_change: Callable[[], None], what: str) -> Any: ...

    def close(self) -> None: ...
