"""The streams on a Redis Cluster: a sink that splits each batch by the node holding each stream.

Everything but the hot path goes through redis-py's cluster client
(:class:`redis.cluster.RedisCluster`), which follows ``MOVED``/``ASK`` and
re-reads the slot table by itself. The hot path keeps the single-Redis
design (an atomic append per stream packed in RESP, one pipelined round trip, one batch in flight):
a batch is split by the primary that holds each stream's slot, sent to every
node first, then the replies are read node by node and mapped back to the
batch's entries, so :class:`~producer.live.outbox.Outbox` sees one sink and
its exactly-once logic (tops re-read after any failure, repeats recognised
by their ids, lost entries healed) is unchanged.

A failover shows here as a refused connection or a timeout (the primary is
gone), ``CLUSTERDOWN`` (the cluster noticed), ``MOVED`` (the replica took
the slots over), ``READONLY`` (a demoted primary) or ``TRYAGAIN``: all are
transient. The batch is abandoned, the slot table marked stale, and the
outbox retries with backoff; the next attempt re-reads the slot table and
the streams' tops, so what the old primary wrote is not repeated and what
it acknowledged but never replicated (asynchronous replication) is written
again by the outbox's heal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from redis.backoff import EqualJitterBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import AskError, ClusterError, RedisClusterException, ResponseError
from redis.retry import Retry

from producer.live.append import LOAD, Packer, pack_command
from producer.live.faults import TRANSIENT, refused_for_now
from producer.live.redis_commands import Commands, Delegating
from producer.live.sink import Command, Entry, RedisError, Refused, RoundTrip, StreamId, reply_text

log = logging.getLogger("producer.live.cluster_sink")

#: Seconds between two looks at the sockets while a batch is awaited.
REPLY_POLL = 0.0002

#: Deletes a stream and creates each named consumer group again on a new empty stream (one slot: atomic).
_REPLACE = """
redis.call('DEL', KEYS[1])
for _, group in ipairs(ARGV) do redis.call('XGROUP', 'CREATE', KEYS[1], group, '0-0', 'MKSTREAM') end
return #ARGV
"""


class ClusterSink(Delegating, RoundTrip):
    """The run's streams on a Redis Cluster (any number of streams, each on its slot's primary): a :class:`~producer.live.sink.Sink`.

    Shares the plain commands (:class:`~producer.live.redis_commands.Commands`, on the
    cluster client) and the packing (:class:`~producer.live.append.Packer`) with
    :class:`~producer.live.redis_sink.RedisSink`; the hot path is its own.
    """

    def __init__(self, make_client: Any, streams: Sequence[str], maxlen: int, where: str) -> None:
        self._make_client = make_client
        self._client: RedisCluster | None = None  # made at the first command
        self.streams, self.maxlen, self.where = tuple(streams), maxlen, where
        self.commands = Commands(lambda: self.client, self.streams, where, cluster=True,
                                 cluster_error=self._cluster_error)
        self.packer = Packer(self.streams, maxlen)
        #: Why the slot table may be out of date (a failed write), or ``None``: re-read it first.
        self._stale: str | None = None
        #: The batch in flight: per node, (its pool, a connection, the batch's entry index of each reply or -1).
        self._batch: list[tuple[Any, Any, list[list[int] | None]]] = []  # per node: pool, connection, each reply's entries
        #: The batch in flight (entries, commands), read in this thread: no writer thread here.
        self._sent: tuple[int, int] | None = None
        self._next_poll = 0.0  # when awaiting_reply() may look at the sockets again
        self.on_reply: Any = None  # batches are read in the caller's thread: nobody to wake
        self.replied_at = 0.0

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                self._client = self._make_client()
            except (RedisClusterException, ClusterError) as exc:
                if "cluster mode is not enabled" in str(exc).lower():
                    raise RedisError(f"REDIS_CLUSTER is set but Redis at {self.where.removeprefix('cluster via ')} "
                                     "is not a cluster node (cluster mode is not enabled): unset REDIS_CLUSTER") from None
                raise Refused(f"no node of the cluster answers ({_short(exc, None)[:120]})") from None
        return self._client

    @classmethod
    def connect_cluster(
        cls, url: str | None, host: str, port: int, streams: Sequence[str], maxlen: int, timeout: float = 2.0,
    ) -> ClusterSink:
        """A sink on the cluster that the node at ``url`` (or ``host:port``) belongs to; nothing is sent yet."""
        options: dict[str, Any] = {
            "socket_timeout": timeout, "socket_connect_timeout": min(timeout, 2.0),
            "retry": Retry(EqualJitterBackoff(cap=0.5, base=0.05), 2), "health_check_interval": 0,
        }
        if url is not None:
            parsed = urlparse(url)
            where = f"cluster via {parsed.hostname}:{parsed.port or 6379}"
            return cls(lambda: RedisCluster.from_url(url, **options), streams, maxlen, where)
        return cls(lambda: RedisCluster(startup_nodes=[ClusterNode(host, port)], **options),
                   streams, maxlen, f"cluster via {host}:{port}")

    # -- plain commands: the cluster client -----------------------------------------------------

    def _cluster_error(self, exc: BaseException) -> BaseException | None:
        """A cluster-level failure (no node, slots not covered ...): the slot table may be stale; retry."""
        if not isinstance(exc, (RedisClusterException, ClusterError)):
            return None
        self._stale = _short(exc)
        return Refused(f"the cluster: {_short(exc)}")

    def _nodes(self) -> list[Any]:
        """The primary holding each stream's slot (the slot table re-read first if it may be stale)."""
        client = self.client
        if self._stale is not None:
            log.info("re-reading the slot table of the %s after: %s", self.where, self._stale)
            self.commands.call(client.nodes_manager.initialize)
            self._stale = None
        try:
            return [client.get_node_from_key(name) for name in self.streams]
        except (RedisClusterException, ClusterError) as exc:
            self._stale = _short(exc)
            raise Refused(f"the cluster: {_short(exc)}") from None

    def stream_pools(self) -> list[tuple[str, Any]]:
        """Each stream's primary, as (its name, its connection pool): where a backfill sends that stream's pipelines."""
        return [(node.name, node.redis_connection.connection_pool) for node in self._nodes()]

    def slots_may_have_moved(self, why: str) -> None:
        """A write outside this sink failed (a backfill's pipeline): re-read the slot table before the next."""
        self._stale = why

    def ping(self) -> None:
        """Every primary holding one of the streams answers (the slot table re-read if it may be stale)."""
        try:
            for node in {n.name: n for n in self._nodes()}.values():
                self.commands.call(node.redis_connection.ping)
        except TRANSIENT as exc:
            self._stale = _short(exc)
            raise

    def delete_streams(self) -> None:
        """``DEL`` of each stream, pipelined per primary."""
        for name, reply in zip(self.streams, self.commands.each([("delete", (name,)) for name in self.streams]),
                               strict=True):
            if isinstance(reply, ResponseError):
                self.commands.refused(reply, name, f"DEL {name} on {self.where}")

    def replace_streams(self) -> list[tuple[str, str]]:
        """Delete the streams, keeping their consumer groups: per stream in one script (one slot each), the
        scripts pipelined per primary."""
        groups = self.commands.consumer_groups()
        calls = [(name, [g for s, g in groups if s == name]) for name in self.streams]
        for name, reply in zip(self.streams, self.commands.eval_each(_REPLACE, calls), strict=True):
            if isinstance(reply, ResponseError):
                self.commands.refused(reply, name, f"EVAL (replace {name}) on {self.where}")
        return groups

    def clock_reader(self, key: str, db: int) -> Any:
        client = self.client
        return lambda: client.get(key)

    def clock_push(self, key: str, db: int, on_change: Any, what: str) -> None:
        """No pushed clock on a cluster (the key's node may move): the followed clock polls."""
        return None

    def pack_columns(self, stream: int, ms: Any, seq: Any, data: list[bytes], key: list[bytes],
                     after: StreamId | None = None) -> bytes:
        return self.packer.columns(stream, ms, seq, data, key, after)

    # -- the hot path ---------------------------------------------------------------------------

    def send(self, entries: Sequence[Entry], extra: Sequence[Command] = ()) -> None:
        """Send each node the appends of its streams (and each ``extra`` command to its key's node), not
        waiting for replies."""
        if self._sent is not None:
            raise RuntimeError("a batch is already in flight")
        nodes = self._nodes()
        parts: dict[str, list[bytes]] = {}
        index: dict[str, list[list[int] | None]] = {}
        where: dict[str, Any] = {}

        def add(node: Any, packed: bytes, group: list[int] | None) -> None:
            if node.name not in parts:  # each node's pipeline starts by loading the script
                parts[node.name], index[node.name], where[node.name] = [LOAD], [None], node
            parts[node.name].append(packed)
            index[node.name].append(group)

        appends, groups = self.packer.batch(entries)
        for packed, group in zip(appends, groups, strict=True):
            add(nodes[entries[group[0]].stream], packed, group)
        for cmd in extra:
            # A command with a key goes to its slot's node; one without (PING) to every node of the streams.
            targets = [self.client.get_node_from_key(cmd[1])] if len(cmd) > 1 else list(
                {n.name: n for n in nodes}.values())
            for node in targets:
                add(node, pack_command(*cmd), None)
        self._batch = []
        self._sent = (len(entries), sum(len(p) for p in parts.values()))
        try:
            for name, node_parts in parts.items():
                pool = where[name].redis_connection.connection_pool
                conn = pool.get_connection()
                self._batch.append((pool, conn, index[name]))
                conn.send_packed_command([b"".join(node_parts)], check_health=False)
        except BaseException as exc:
            self._stale = _short(exc)
            self._drop()
            raise

    def receive(self) -> list[int]:
        """Read every node's replies; the indices of entries refused as already there (see RedisSink)."""
        if self._sent is None:
            return []
        repeated: list[int] = []
        first_error: ResponseError | None = None
        try:
            for _, conn, index in self._batch:
                for group in index:
                    try:
                        reply = conn.read_response()
                    except ResponseError as exc:
                        if first_error is None:
                            first_error = exc
                        continue
                    if group is not None and reply:
                        repeated.extend(group[:int(reply)])  # the entries already there: a prefix
        except BaseException as exc:
            self._stale = _short(exc)
            self._drop()
            raise
        self._release()
        self.replied_at = time.monotonic()
        if first_error is not None:
            if isinstance(first_error, AskError):  # MOVED or ASK: the slots moved (a failover, a resharding)
                self._stale = _short(first_error, reply_text(first_error))
                raise Refused(f"{reply_text(first_error)} (the cluster's slots moved)")
            if refused_for_now(first_error):
                self._stale = _short(first_error, reply_text(first_error))
                raise Refused(reply_text(first_error))
            raise RedisError(f"Redis at {self.where} refused a write: {reply_text(first_error)}")
        return sorted(repeated)

    @property
    def in_flight(self) -> bool:
        return self._sent is not None

    def awaiting_reply(self) -> bool:
        """A batch is in flight and some node's reply has not arrived yet."""
        if self._sent is None:
            return False
        now = time.monotonic()
        if now < self._next_poll:
            return True
        try:
            if all(conn.can_read(timeout=0) for _, conn, _ in self._batch):
                return False
        except TRANSIENT:
            return False
        self._next_poll = now + REPLY_POLL
        return True

    def answered_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` until every node of the batch in flight has answered something."""
        deadline = time.monotonic() + seconds
        try:
            for _, conn, _ in self._batch:
                if not conn.can_read(timeout=max(0.0, deadline - time.monotonic())):
                    return False
        except TRANSIENT:
            return True  # receive() raises the failure
        return True

    def abandon(self) -> None:
        if self._sent is not None:
            self._drop()

    def _release(self) -> None:
        """The batch is done: its connections go back to their nodes' pools."""
        for pool, conn, _ in self._batch:
            pool.release(conn)
        self._batch, self._sent = [], None

    def _drop(self) -> None:
        """Forget the batch's connections (one failed): the next batch opens new ones."""
        for _, conn, _ in self._batch:
            conn.disconnect()
        self._release()

    def close(self) -> None:
        self._release()
        if self._client is not None:
            self._client.close()


def _short(exc: BaseException, text: str | None = None) -> str:
    """An error as one short line (the server's reply when given), for the log."""
    return " ".join((text or str(exc)).split())[:160] or type(exc).__name__
