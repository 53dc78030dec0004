"""Redis Streams: the two streams, pipelined XADDs with explicit ids, and run metadata.

:class:`RedisSink` is the only module that speaks to Redis. It uses redis-py
(with the hiredis parser) for everything about the connection: URLs,
``rediss://`` TLS, user and password, ``AUTH``, the reply parser. The one hot
path, many ``XADD`` commands in one round trip, packs its RESP bytes itself
and sends them on a redis-py connection: redis-py's pipeline spends about
10 us per command in Python, as much as the simulation spends per event,
while packing here takes under 1 us (see ``bench/bench_producer.py``).

Entries carry explicit ids ``<epoch_ms>-<seq>`` (see :mod:`producer.live.emitter`),
so a write repeated after a lost connection is recognisable: the caller reads
each stream's last id (:meth:`RedisSink.last_ids`) and skips what is already
there. redis-py's own retries are off; the caller decides when to retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry


class Refused(RedisConnectionError):
    """Redis refused a command for now (out of memory, a replica, loading, busy ...): retry later."""


#: Errors after which the connection is dropped and the write retried later.
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)

#: Replies that mean "try again later" rather than "misconfigured", as redis-py types them:
#: OOM (maxmemory reached), READONLY (a replica after a failover), LOADING, MASTERDOWN,
#: TRYAGAIN and CLUSTERDOWN (a cluster in transition).
REFUSED_FOR_NOW = (OutOfMemoryError, ReadOnlyError, BusyLoadingError, MasterDownError, TryAgainError,
                   ClusterDownError)


def refused_for_now(exc: BaseException) -> bool:
    """Whether a refusal is temporary. ``BUSY`` (a script running) is the one redis-py leaves untyped."""
    if isinstance(exc, REFUSED_FOR_NOW):
        return True
    return type(exc) is ResponseError and str(exc).startswith("BUSY ")


def reply_text(exc: BaseException) -> str:
    """The server's reply, with the code redis-py strips from typed errors (``OOM command not allowed ...``)."""
    code = getattr(exc, "status_code", None)
    text = " ".join(str(exc).split())
    return f"{code} {text}" if code and not text.startswith(code) else text

#: The XADD error when an id is not above the stream's top (the entry is already there).
ID_TOO_SMALL = "equal or smaller than the target stream top item"

#: Seconds between two polls of the socket for the reply of the batch in flight.
REPLY_POLL = 0.0002

StreamId = tuple[int, int]
ZERO_ID: StreamId = (0, 0)


def parse_id(raw: bytes | str) -> StreamId:
    """``b"1762156800000-3"`` -> ``(1762156800000, 3)``."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def pack_command(*args: bytes | str | int) -> bytes:
    """One command in RESP (the protocol's array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        parts.append(_bulk(a if isinstance(a, bytes) else str(a).encode()))
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry waiting to be written.

    ``stream`` indexes :attr:`RedisSink.streams`; ``t`` is the event's
    simulated time (epoch seconds), ``ms``/``seq`` its entry id.
    """

    stream: int
    t: int
    ms: int
    seq: int
    data: bytes
    key: bytes

    @property
    def id(self) -> StreamId:
        return self.ms, self.seq


class RedisError(Exception):
    """Redis refused something in a way retrying will not fix (auth, ACL, wrong type); one line."""


class RedisSink:
    """The run's two streams (``<base>`` and ``<base>:realistic``) and its metadata hash."""

    def __init__(self, client: redis.Redis, streams: Sequence[str], maxlen: int, where: str) -> None:
        self.client, self.streams, self.maxlen, self.where = client, tuple(streams), maxlen, where
        # XADD <stream> MAXLEN ~ <n>: the same prefix for every entry of a stream.
        self._prefix = [
            b"*10\r\n" + _bulk(b"XADD") + _bulk(s.encode()) + _bulk(b"MAXLEN") + _bulk(b"~")
            + _bulk(str(maxlen).encode())
            for s in self.streams
        ]
        # The connection the hot path holds, and the batch in flight on it (entries, replies).
        self._conn: Any = None
        self._inflight: tuple[int, int] | None = None
        self._clock_client: redis.Redis | None = None
        self._next_poll = 0.0  # when awaiting_reply() may poll the socket again

    @classmethod
    def connect(
        cls, url: str | None, host: str, port: int, db: int, streams: Sequence[str], maxlen: int,
        timeout: float = 2.0,
    ) -> RedisSink:
        """A sink on ``url`` (``redis://``, ``rediss://``, ``unix://``) or on host/port/db.

        Nothing is sent yet: call :meth:`ping` to find out whether Redis is there.
        A reply that takes longer than ``timeout`` seconds counts as a lost
        connection (a frozen or hung server): the entries stay buffered and
        are retried, never blocking the run for longer.
        """
        options: dict[str, Any] = {
            "socket_timeout": timeout, "socket_connect_timeout": min(timeout, 2.0),
            "retry": Retry(NoBackoff(), 0), "health_check_interval": 0,
        }
        if url is not None:
            client = redis.Redis.from_url(url, **options)
            kw = client.connection_pool.connection_kwargs
            where = f"{kw.get('host', kw.get('path'))}:{kw.get('port', '')}/{kw.get('db', 0)}"
        else:
            client = redis.Redis(host=host, port=port, db=db, **options)
            where = f"{host}:{port}/{db}"
        return cls(client, streams, maxlen, where)

    # -- plain commands (redis-py) ------------------------------------------------------------

    def ping(self) -> None:
        self._call(self.client.ping)

    def last_ids(self) -> list[StreamId]:
        """Each stream's last generated id (``0-0`` if it does not exist yet).

        ``last-generated-id`` rather than the newest entry: it survives
        trimming and deletion, and XADD refuses any id not above it.
        """
        return [eid for eid, _ in self.tops()]

    def _info(self, func: Any, what: str, name: str) -> Any:
        """``XINFO <what> name``, or ``None`` when the stream does not exist."""
        try:
            return self._call(func, name)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return None
            raise RedisError(f"XINFO {what} {name} on {self.where}: {exc}") from None

    def tops(self) -> list[tuple[StreamId, Entry | None]]:
        """Each stream's last generated id and its newest entry (``None``: empty or missing)."""
        out: list[tuple[StreamId, Entry | None]] = []
        for i, name in enumerate(self.streams):
            info = self._info(self.client.xinfo_stream, "STREAM", name)
            if info is None:
                out.append((ZERO_ID, None))
                continue
            last = info.get("last-entry")
            entry = None
            if last:
                eid, fields = last
                ms, seq = parse_id(eid)
                entry = Entry(i, ms // 1000, ms, seq, fields.get(b"data", b""), fields.get(b"key", b""))
            out.append((parse_id(info["last-generated-id"]), entry))
        return out

    def entries(self, stream: int, low: StreamId, high: StreamId) -> dict[StreamId, tuple[bytes, bytes]]:
        """The entries of a stream with ids in ``[low, high]``: id -> (data, key)."""
        raw = self._call(self.client.xrange, self.streams[stream], f"{low[0]}-{low[1]}",
                         f"{high[0]}-{high[1]}")
        return {parse_id(eid): (fields.get(b"data", b""), fields.get(b"key", b"")) for eid, fields in raw}

    def abandon(self) -> None:
        """Give up the batch in flight without reading its replies (the connection goes with it)."""
        if self._inflight is not None:
            self._drop()

    def extent(self, stream: int) -> tuple[int, StreamId | None]:
        """A stream's length and its oldest entry's id (what trimming has left; ``None`` when empty)."""
        info = self._info(self.client.xinfo_stream, "STREAM", self.streams[stream])
        if info is None or not info.get("first-entry"):
            return 0 if info is None else int(info["length"]), None
        return int(info["length"]), parse_id(info["first-entry"][0])

    def delete_streams(self) -> None:
        self._call(self.client.delete, *self.streams)

    def consumer_groups(self) -> list[tuple[str, str]]:
        """Every consumer group on the streams, as ``(stream, group)``."""
        groups = []
        for name in self.streams:
            infos = self._info(self.client.xinfo_groups, "GROUPS", name) or []
            groups += [(name, _text(info["name"])) for info in infos]
        return groups

    def replace_streams(self) -> list[tuple[str, str]]:
        """Delete the streams, keeping their consumer groups; returns the groups kept.

        In one transaction: the streams go, and each group is created again on
        a new empty stream, positioned before its first entry (id ``0-0``), so
        a consumer (the Kafka bridge) reads the new run from its start and
        never meets a missing group. Entries it had read but not acknowledged
        belonged to the old run and go with it.
        """
        groups = self.consumer_groups()
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*self.streams)
        for stream, group in groups:
            pipe.xgroup_create(stream, group, id="0-0", mkstream=True)
        self._call(pipe.execute)
        return groups

    def clock_reader(self, key: str, db: int) -> Callable[[], bytes | str | None]:
        """A function reading ``key`` in database ``db`` of this Redis (the followed clock)."""
        kwargs = dict(self.client.connection_pool.connection_kwargs)
        kwargs["db"] = db
        pool = self.client.connection_pool.__class__(
            connection_class=self.client.connection_pool.connection_class, **kwargs)
        client = redis.Redis(connection_pool=pool)
        self._clock_client = client
        return lambda: client.get(key)

    def read_hash(self, key: str) -> dict[str, str]:
        raw = self._call(self.client.hgetall, key)
        return {k.decode(): v.decode() for k, v in raw.items()}

    def create_hash(self, key: str, values: dict[str, str]) -> bool:
        """Write the hash only if ``key`` does not exist yet, atomically; ``False`` if it did."""
        script = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end " \
                 "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1"
        flat = [item for pair in values.items() for item in pair]
        return bool(self._call(self.client.eval, script, 1, key, *flat))

    def delete_hash(self, key: str) -> None:
        self._call(self.client.delete, key)

    def write_hash(self, key: str, values: dict[str, str]) -> None:
        self._call(self.client.hset, key, mapping=values)

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except redis.AuthenticationError as exc:
            if "HELLO must be called" in str(exc) or "NOAUTH" in str(exc) or "Authentication required" in str(exc):
                raise RedisError(f"Redis at {self.where} requires a password: give it in REDIS_URL "
                                 "(redis://[user]:password@host:port/db)") from None
            raise RedisError(f"Redis at {self.where} refused the credentials: {exc}") from None
        except redis.exceptions.InvalidResponse as exc:
            raise RedisError(f"the server at {self.where} does not speak the Redis protocol "
                             f"({' '.join(str(exc).split())[:80]}): check REDIS_URL / REDIS_HOST and REDIS_PORT") from None
        except redis.exceptions.NoPermissionError as exc:
            raise RedisError(f"Redis at {self.where} denied a command (ACL): {exc}") from None
        except ResponseError as exc:
            if "NOAUTH" in str(exc) or "HELLO must be called" in str(exc):
                raise RedisError(f"Redis at {self.where} requires a password: give it in REDIS_URL "
                                 "(redis://[user]:password@host:port/db)") from None
            if "WRONGPASS" in str(exc):
                raise RedisError(f"Redis at {self.where} refused the credentials: {exc}") from None
            if str(exc).startswith("WRONGTYPE") and args and isinstance(args[0], str):
                raise RedisError(f"key {args[0]} in Redis at {self.where} is not what this producer keeps "
                                 "there (WRONGTYPE): delete it, or choose another REDIS_STREAM") from None
            if refused_for_now(exc):
                raise Refused(reply_text(exc)) from None
            if isinstance(exc, AskError) and not hasattr(self.client, "nodes_manager"):
                raise RedisError(f"Redis at {self.where} is a Redis Cluster node (it answered {reply_text(exc)}): "
                                 "set REDIS_CLUSTER=1") from None
            raise

    # -- the hot path ------------------------------------------------------------------------

    def send(self, entries: Sequence[Entry], extra: Sequence[Sequence[bytes | str | int]] = ()) -> None:
        """Send XADD for every entry, then the ``extra`` commands, without waiting for the replies.

        One batch may be in flight at a time: :meth:`receive` reads its
        replies. Splitting the two lets the simulation run while Redis
        works (a backfill's throughput); the producer receives at once
        whenever it is on schedule.
        """
        if self._inflight is not None:
            raise RuntimeError("a batch is already in flight")
        prefix = self._prefix
        parts = []
        for e in entries:
            eid = b"%d-%d" % (e.ms, e.seq)
            parts.append(prefix[e.stream] + b"$%d\r\n%s\r\n$4\r\ndata\r\n$%d\r\n%s\r\n$3\r\nkey\r\n$%d\r\n%s\r\n" % (
                len(eid), eid, len(e.data), e.data, len(e.key), e.key))
        parts.extend(pack_command(*cmd) for cmd in extra)
        if self._conn is None:
            self._conn = self.client.connection_pool.get_connection()
        try:
            self._conn.send_packed_command([b"".join(parts)], check_health=False)
        except BaseException:
            self._drop()
            raise
        self._inflight = (len(entries), len(parts))

    def receive(self) -> list[int]:
        """Read the replies of the batch in flight.

        Returns the indices of the entries Redis refused because an entry
        with that id or a later one is already in the stream (a repeat of an
        earlier write). Raises a :data:`TRANSIENT` error if the connection
        fails (some entries may have been written: the caller re-reads
        :meth:`last_ids`) and :class:`RedisError` on any other refusal.
        """
        if self._inflight is None or self._conn is None:
            return []
        n_entries, n_replies = self._inflight
        conn, repeated = self._conn, []
        first_error: ResponseError | None = None
        try:
            for i in range(n_replies):
                try:
                    conn.read_response()
                except ResponseError as exc:
                    if i < n_entries and ID_TOO_SMALL in str(exc):
                        repeated.append(i)
                    elif first_error is None:
                        first_error = exc
        except BaseException:
            self._drop()
            raise
        self._inflight = None
        if first_error is not None:
            if refused_for_now(first_error):
                raise Refused(reply_text(first_error))
            raise RedisError(f"Redis at {self.where} refused a write: {reply_text(first_error)}")
        return repeated

    def write(self, entries: Sequence[Entry], extra: Sequence[Sequence[bytes | str | int]] = ()) -> list[int]:
        """:meth:`send` and :meth:`receive`: one round trip."""
        self.send(entries, extra)
        return self.receive()

    @property
    def in_flight(self) -> bool:
        return self._inflight is not None

    def awaiting_reply(self) -> bool:
        """A batch is in flight and no reply to it has arrived yet (a receive would wait).

        Asked on every step while behind schedule, so the socket is polled at
        most every :data:`REPLY_POLL` seconds.
        """
        if self._inflight is None or self._conn is None:
            return False
        now = time.monotonic()
        if now < self._next_poll:
            return True
        try:
            if self._conn.can_read(timeout=0):
                return False
        except TRANSIENT:
            return False  # a receive finds out at once
        self._next_poll = now + REPLY_POLL
        return True

    def _drop(self) -> None:
        """Forget the connection (it failed): the next batch opens a new one."""
        if self._conn is not None:
            self._conn.disconnect()
            self.client.connection_pool.release(self._conn)
        self._conn, self._inflight = None, None

    def close(self) -> None:
        if self._clock_client is not None:
            self._clock_client.close()
        if self._conn is not None:
            self.client.connection_pool.release(self._conn)
            self._conn = None
        self.client.close()
