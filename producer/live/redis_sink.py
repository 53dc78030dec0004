"""Redis Streams: the two streams, pipelined XADDs with explicit ids, and run metadata.

:class:`RedisSink` is the only module that speaks to Redis. It uses redis-py
(with the hiredis parser) for everything about the connection: URLs,
``rediss://`` TLS, user and password, ``AUTH``, the reply parser. The one hot
path, many ``XADD`` commands in one round trip, packs its RESP bytes itself
and hands them to a writer thread (:mod:`producer.live.writer`) that sends
them on a redis-py connection and reads the replies: redis-py's pipeline
spends about 10 us per command in Python, as much as the simulation spends
per event, while packing here takes under 1 us (see ``bench/bench_producer.py``),
and the simulation never waits on the socket.

Entries carry explicit ids ``<epoch_ms>-<seq>`` (see :mod:`producer.live.emitter`),
so a write repeated after a lost connection is recognisable: the caller reads
each stream's last id (:meth:`RedisSink.last_ids`) and skips what is already
there. redis-py's own retries are off; the caller decides when to retry.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from producer.live.clock_push import ClockPush
from producer.live.faults import refused_for_now
from producer.live.writer import Batch, Writer


class Refused(RedisConnectionError):
    """Redis refused a command for now (out of memory, a replica, loading, busy ...): retry later."""


def reply_text(exc: BaseException) -> str:
    """The server's reply, with the code redis-py strips from typed errors (``OOM command not allowed ...``)."""
    code = getattr(exc, "status_code", None)
    text = " ".join(str(exc).split())
    return f"{code} {text}" if code and not text.startswith(code) else text

#: Create a hash only if its key does not exist yet (a run record: two producers never both create one).
_CREATE = ("if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
           "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1")
#: Most commands in one pipeline of :meth:`RedisSink.each`.
PIPELINE = 1000

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


def _digits(values: np.ndarray) -> np.ndarray:
    """How many decimal digits each non-negative integer has."""
    return np.maximum(1, np.searchsorted(_POWERS_OF_TEN, np.asarray(values, dtype=np.int64), side="right"))


_POWERS_OF_TEN = np.array([10**i for i in range(19)], dtype=np.int64)


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
    simulated time (epoch seconds; a sensor record's ``sent_at``, with its
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


class NotYet(RedisConnectionError):
    """Redis has not answered a probe yet (a frozen or very slow server): retry later."""


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
        # The connection the hot path holds, and the batch in flight on it (in the writer thread).
        self._conn: Any = None
        self._inflight: Batch | None = None
        self._clock_client: redis.Redis | None = None
        self._clock_push: ClockPush | None = None
        self._writer = Writer(self._replied)
        #: Called (from the writer thread) when a batch's replies are in: the outbox wakes the paced loop.
        self.on_reply: Callable[[], None] | None = None
        #: Monotonic time Redis had answered the last batch received.
        self.replied_at = 0.0

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
        """Each stream's last generated id and its newest entry (``None``: empty or missing).

        One ``XINFO STREAM`` per stream, all in pipelines (:meth:`each`): a
        chain's thousands of streams cost a few round trips, not one each.
        """
        out: list[tuple[StreamId, Entry | None]] = []
        infos = self.each([("xinfo_stream", (name,)) for name in self.streams])
        for i, (name, info) in enumerate(zip(self.streams, infos, strict=True)):
            if isinstance(info, ResponseError):
                if "no such key" in str(info).lower():
                    out.append((ZERO_ID, None))
                    continue
                self._refused(info, name, f"XINFO STREAM {name} on {self.where}")
            last = info.get("last-entry")
            entry = None
            if last:
                eid, fields = last
                ms, seq = parse_id(eid)
                entry = Entry(i, ms // 1000, ms, seq, fields.get(b"data", b""), fields.get(b"key", b""))
            out.append((parse_id(info["last-generated-id"]), entry))
        return out

    def each(self, commands: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Commands (a redis-py method's name and its arguments) in pipelines of :data:`PIPELINE` each.

        Not a transaction: each command's reply, or its refusal as a
        ``ResponseError`` in its place (the caller decides, see
        :meth:`_refused`); a lost connection raises as for any command.
        """
        out: list[Any] = []
        for lo in range(0, len(commands), PIPELINE):
            pipe = self.client.pipeline(transaction=False)
            for name, args in commands[lo:lo + PIPELINE]:
                getattr(pipe, name)(*args)
            out += self._call(pipe.execute, raise_on_error=False)
        return out

    def eval_each(self, script: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """``EVAL script 1 key *args`` for each ``(key, args)``, pipelined: each reply or its ``ResponseError``."""
        return self.each([("eval", (script, 1, key, *args)) for key, args in calls])

    def _refused(self, exc: ResponseError, key: str, what: str) -> None:
        """Raise a refusal met in :meth:`each` as :meth:`_call` raises one (one line, or :class:`Refused`)."""
        def again(_key: str) -> None:
            raise exc

        try:
            self._call(again, key)
        except ResponseError:
            raise RedisError(f"{what}: {exc}") from None

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

    def clock_push(self, key: str, db: int, on_change: Callable[[], None], what: str) -> ClockPush | None:
        """Changes of ``key`` in database ``db`` pushed by this Redis (stopped by :meth:`close`); ``None``: poll."""
        pool = self.client.connection_pool
        options = {**pool.connection_kwargs, "db": db, "protocol": 2}  # invalidations as subscription messages

        self._clock_push = ClockPush(lambda: pool.connection_class(**options), key, on_change, what).start()
        return self._clock_push

    def read_hashes(self, keys: Sequence[str]) -> list[dict[str, str]]:
        """``HGETALL`` of each key, pipelined (a chain's run records)."""
        out = []
        for key, raw in zip(keys, self.each([("hgetall", (key,)) for key in keys]), strict=True):
            if isinstance(raw, ResponseError):
                self._refused(raw, key, f"HGETALL {key} on {self.where}")
            out.append({k.decode(): v.decode() for k, v in raw.items()})
        return out

    def create_hashes(self, keys: Sequence[str], values: dict[str, str]) -> list[bool]:
        """Write each hash only if its key does not exist yet (each atomically); ``False`` where it did."""
        flat = [item for pair in values.items() for item in pair]
        replies = self.eval_each(_CREATE, [(key, flat) for key in keys])
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, ResponseError):
                self._refused(reply, key, f"EVAL (create {key}) on {self.where}")
        return [bool(reply) for reply in replies]

    def delete_hash(self, key: str) -> None:
        self._call(self.client.delete, key)

    def write_hashes(self, keys: Sequence[str], values: dict[str, str]) -> None:
        """The same ``values`` into each hash, pipelined."""
        for key, reply in zip(keys, self.each([("hset", (key, None, None, values)) for key in keys]), strict=True):
            if isinstance(reply, ResponseError):
                self._refused(reply, key, f"HSET {key} on {self.where}")

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

        The bytes are packed here and written by the writer thread
        (:mod:`producer.live.writer`), which also reads the replies: neither a
        slow reader nor a frozen server pauses the caller. One batch may be in
        flight at a time: :meth:`receive` collects its outcome.
        """
        if self._inflight is not None:
            raise RuntimeError("a batch is already in flight")
        packed = self.pack(entries) + b"".join(pack_command(*cmd) for cmd in extra)
        # A new connection is opened by the writer thread (a frozen server would hold a connect here).
        batch = Batch(self._conn, packed, len(entries), len(entries) + len(extra), self._connect)
        self._inflight = batch
        self._writer.submit(batch)

    def pack(self, entries: Sequence[Entry]) -> bytes:
        """``XADD <stream> MAXLEN ~ <n> <id> data <json> key <customer>`` for each entry, in RESP."""
        prefix = self._prefix
        return b"".join([
            prefix[e.stream] + b"$%d\r\n%d-%d\r\n$4\r\ndata\r\n$%d\r\n%s\r\n$3\r\nkey\r\n$%d\r\n%s\r\n" % (
                len(b"%d-%d" % (e.ms, e.seq)), e.ms, e.seq, len(e.data), e.data, len(e.key), e.key)
            for e in entries
        ])

    def pack_columns(self, stream: int, ms: np.ndarray, seq: np.ndarray, data: list[bytes],
                     key: list[bytes]) -> bytes:
        """:meth:`pack` from columns (a backfill's pipeline): no :class:`Entry` per event."""
        fmt = self._prefix[stream] + b"$%d\r\n%d-%d\r\n$4\r\ndata\r\n$%d\r\n%s\r\n$3\r\nkey\r\n$%d\r\n%s\r\n"
        id_len = _digits(ms) + 1 + _digits(seq)
        return b"".join([
            fmt % (n, m, q, len(d), d, len(k), k)
            for n, m, q, d, k in zip(id_len.tolist(), ms.tolist(), seq.tolist(), data, key)
        ])

    def _connect(self) -> Any:
        """A connection from the pool (in the writer thread); kept as the sink's for the next batches."""
        conn = self.client.connection_pool.get_connection()
        self._conn = conn
        return conn

    def receive(self) -> list[int]:
        """Wait for the replies of the batch in flight (the writer thread reads them).

        Returns the indices of the entries Redis refused because an entry
        with that id or a later one is already in the stream (a repeat of an
        earlier write). Raises a :data:`TRANSIENT` error if the connection
        fails (some entries may have been written: the caller re-reads
        :meth:`last_ids`) and :class:`RedisError` on any other refusal.
        """
        batch = self._inflight
        if batch is None:
            return []
        batch.wait()
        if batch.error is not None:
            self._drop()
            raise batch.error
        self._inflight = None
        self.replied_at = batch.replied_at
        if batch.refusal is not None:
            if refused_for_now(batch.refusal):
                raise Refused(reply_text(batch.refusal))
            raise RedisError(f"Redis at {self.where} refused a write: {reply_text(batch.refusal)}")
        return batch.repeated

    def write(self, entries: Sequence[Entry], extra: Sequence[Sequence[bytes | str | int]] = ()) -> list[int]:
        """:meth:`send` and :meth:`receive`: one round trip."""
        self.send(entries, extra)
        return self.receive()

    @property
    def in_flight(self) -> bool:
        return self._inflight is not None

    def awaiting_reply(self) -> bool:
        """A batch is in flight and Redis has not answered all of it yet (a receive would wait)."""
        return self._inflight is not None and not self._inflight.done.is_set()

    def answered_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the batch in flight to be answered; whether it was (or none is in flight)."""
        return self._inflight is None or self._inflight.done.wait(seconds)

    def _replied(self) -> None:
        if self.on_reply is not None:
            self.on_reply()

    def _drop(self) -> None:
        """Forget the connection (it failed): the next batch opens a new one."""
        batch = self._inflight
        if batch is not None and not batch.done.is_set():
            # The writer thread is still on it: cut the socket (its read fails at once), then wait.
            sock = getattr(self._conn, "_sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            batch.wait()
        if self._conn is not None:
            self._conn.disconnect()
            self.client.connection_pool.release(self._conn)
        self._conn, self._inflight = None, None

    def close(self) -> None:
        self._writer.close()
        if self._clock_push is not None:
            self._clock_push.close()
        if self._clock_client is not None:
            self._clock_client.close()
        if self._conn is not None:
            self.client.connection_pool.release(self._conn)
            self._conn = None
        self.client.close()
