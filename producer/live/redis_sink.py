"""Redis Streams on one Redis: pipelined appends with explicit ids, written by a writer thread.

:class:`RedisSink` is the :class:`~producer.live.sink.Sink` of one Redis. It
uses redis-py (with the hiredis parser) for everything about the connection:
URLs, ``rediss://`` TLS, user and password, ``AUTH``, the reply parser; its
plain commands are :class:`~producer.live.redis_commands.Commands`, shared with
:class:`~producer.live.cluster_sink.ClusterSink`. The one hot path, a batch of
entries in one round trip, packs its RESP bytes itself (one atomic append per
stream: :class:`~producer.live.append.Packer`) and hands them to a writer
thread (:mod:`producer.live.writer`) that sends them on a redis-py connection and reads the replies: redis-py's
pipeline spends about 10 us per command in Python, as much as the simulation
spends per event, while packing here takes under 1 us (see
``bench/bench_producer.py``), and the simulation never waits on the socket.

Entries carry explicit ids ``<epoch_ms>-<seq>`` (see :mod:`producer.live.emitter`),
so a write repeated after a lost connection is recognisable: the append skips
what is already there and says how much it skipped, which the caller checks. redis-py's own retries are off; the caller decides when to retry.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from producer.live.append import LOAD, Packer, pack_command
from producer.live.clock_push import ClockPush
from producer.live.faults import refused_for_now
from producer.live.redis_commands import Commands, Delegating
from producer.live.sink import Command, Entry, NotYet, RedisError, Refused, RoundTrip, StreamId, reply_text
from producer.live.writer import Batch, Writer

__all__ = ["Entry", "NotYet", "Packer", "RedisError", "RedisSink", "Refused", "StreamId", "pack_command", "reply_text"]


class RedisSink(Delegating, RoundTrip):
    """The run's streams and keys on one Redis (a :class:`~producer.live.sink.Sink`).

    Plain commands go through :class:`~producer.live.redis_commands.Commands`,
    the entries are packed by :class:`Packer`, and written by a :class:`Writer` thread.
    """

    def __init__(self, client: redis.Redis, streams: Sequence[str], maxlen: int, where: str) -> None:
        self.client, self.streams, self.maxlen, self.where = client, tuple(streams), maxlen, where
        self.commands = Commands(lambda: self.client, self.streams, where)
        self.packer = Packer(self.streams, maxlen)
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

    # -- plain commands (redis-py, through Commands) --------------------------------------------

    def ping(self) -> None:
        self.commands.call(self.client.ping)

    def delete_streams(self) -> None:
        self.commands.call(self.client.delete, *self.streams)

    def replace_streams(self) -> list[tuple[str, str]]:
        """Delete the streams, keeping their consumer groups; returns the groups kept.

        In one transaction: the streams go, and each group is created again on
        a new empty stream, positioned before its first entry (id ``0-0``), so
        a consumer (the Kafka bridge) reads the new run from its start and
        never meets a missing group. Entries it had read but not acknowledged
        belonged to the old run and go with it.
        """
        groups = self.commands.consumer_groups()
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*self.streams)
        for stream, group in groups:
            pipe.xgroup_create(stream, group, id="0-0", mkstream=True)
        self.commands.call(pipe.execute)
        return groups

    def stream_pools(self) -> list[tuple[str, Any]]:
        """Where a backfill sends each stream's pipelines: all to this Redis."""
        return [("", self.client.connection_pool) for _ in self.streams]

    def slots_may_have_moved(self, why: str) -> None:
        """Nothing to re-read on one Redis (see :meth:`ClusterSink.slots_may_have_moved`)."""

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

    def abandon(self) -> None:
        """Give up the batch in flight without reading its replies (the connection goes with it)."""
        if self._inflight is not None:
            self._drop()

    # -- the hot path ------------------------------------------------------------------------

    def send(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> None:
        """Send an append per stream of the entries, then the ``extra`` commands, without waiting for the replies.

        The bytes are packed here and written by the writer thread
        (:mod:`producer.live.writer`), which also reads the replies: neither a
        slow reader nor a frozen server pauses the caller. One batch may be in
        flight at a time: :meth:`receive` collects its outcome.
        """
        if self._inflight is not None:
            raise RuntimeError("a batch is already in flight")
        appends, groups = self.packer.batch(entries)
        packed = b"".join([LOAD, *appends, *(pack_command(*cmd) for cmd in extra)])
        # A new connection is opened by the writer thread (a frozen server would hold a connect here).
        batch = Batch(self._conn, packed, [None, *groups, *(None for _ in extra)], self._connect)
        self._inflight = batch
        self._writer.submit(batch)

    def pack_columns(self, stream: int, ms: np.ndarray, seq: np.ndarray, data: list[bytes],
                     key: list[bytes], after: StreamId | None = None) -> bytes:
        return self.packer.columns(stream, ms, seq, data, key, after)

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
