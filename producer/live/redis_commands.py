"""The plain commands both Redis sinks share: pipelined reads and writes through a redis-py client.

:class:`Commands` is a collaborator of :class:`~producer.live.redis_sink.RedisSink`
and :class:`~producer.live.cluster_sink.ClusterSink`: the client it is given
(a :class:`redis.Redis` or a :class:`redis.cluster.RedisCluster`) routes each
command; it batches them (pipelines of :data:`PIPELINE`), turns each stream's
``XINFO`` into its top, and translates failures by the fault table
(:func:`translated`) into :class:`~producer.live.sink.Refused` (retry) or
:class:`~producer.live.sink.RedisError` (one line).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.exceptions import AskError, ClusterDownError, ResponseError, TryAgainError

from producer.live.faults import refused_for_now
from producer.live.sink import ZERO_ID, Entry, RedisError, Refused, Span, StreamId, parse_id, reply_text

#: Create a hash only if its key does not exist yet (a run record: two producers never both create one).
_CREATE = ("if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
           "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1")
#: Most commands in one pipeline of :meth:`Commands.each`.
PIPELINE = 1000
_NEEDS_PASSWORD = ("HELLO must be called", "NOAUTH", "Authentication required")


def translated(exc: BaseException, where: str, key: Any, cluster: bool) -> BaseException | None:
    """What a failed command raises instead (``None``: the failure itself), by the kind of failure."""
    text = str(exc)
    if isinstance(exc, redis.AuthenticationError) or (
            isinstance(exc, ResponseError) and any(s in text for s in ("NOAUTH", "HELLO must be called", "WRONGPASS"))):
        if any(s in text for s in _NEEDS_PASSWORD):
            return RedisError(f"Redis at {where} requires a password: give it in REDIS_URL "
                              "(redis://[user]:password@host:port/db)")
        return RedisError(f"Redis at {where} refused the credentials: {exc}")
    if isinstance(exc, redis.exceptions.InvalidResponse):
        return RedisError(f"the server at {where} does not speak the Redis protocol "
                          f"({' '.join(text.split())[:80]}): check REDIS_URL / REDIS_HOST and REDIS_PORT")
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return RedisError(f"Redis at {where} denied a command (ACL): {exc}")
    if not isinstance(exc, ResponseError):
        return None
    if text.startswith("WRONGTYPE") and isinstance(key, str):
        return RedisError(f"key {key} in Redis at {where} is not what this producer keeps "
                          "there (WRONGTYPE): delete it, or choose another REDIS_STREAM")
    if refused_for_now(exc):
        return Refused(reply_text(exc))
    if isinstance(exc, AskError) and not cluster:
        return RedisError(f"Redis at {where} is a Redis Cluster node (it answered {reply_text(exc)}): "
                          "set REDIS_CLUSTER=1")
    return None


class Commands:
    """Commands on the streams and keys through ``client()`` (made when first needed), failures translated.

    ``cluster``: the client is a cluster client (no scripts in its pipelines;
    ``cluster_error`` says what a cluster-level failure raises instead).
    """

    def __init__(self, client: Callable[[], Any], streams: tuple[str, ...], where: str, cluster: bool = False,
                 cluster_error: Callable[[BaseException], BaseException | None] | None = None) -> None:
        self.client, self.streams, self.where, self.cluster = client, streams, where, cluster
        self.cluster_error = cluster_error

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            instead = translated(exc, self.where, args[0] if args else None, self.cluster)
            if instead is None and self.cluster_error is not None:
                instead = self.cluster_error(exc)
            if instead is None:
                raise
            raise instead from None

    def refused(self, exc: ResponseError, key: str, what: str) -> None:
        """Raise a refusal met in :meth:`each` as :meth:`call` raises one (one line, or :class:`Refused`)."""
        raise translated(exc, self.where, key, self.cluster) or RedisError(f"{what}: {exc}") from None

    def each(self, commands: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Commands (a redis-py method's name and its arguments) in pipelines of :data:`PIPELINE` each.

        Not a transaction: each command's reply, or its refusal as a
        ``ResponseError`` in its place (the caller decides, see
        :meth:`refused`); a lost connection raises as for any command.
        """
        if self.cluster:  # each command's first argument is its key
            return self._by_node([args[0] for _, args in commands],
                                 lambda pipe, i: getattr(pipe, commands[i][0])(*commands[i][1]),
                                 lambda client, i: getattr(client, commands[i][0])(*commands[i][1]))
        out: list[Any] = []
        for lo in range(0, len(commands), PIPELINE):
            pipe = self.client().pipeline(transaction=False)
            for name, args in commands[lo:lo + PIPELINE]:
                getattr(pipe, name)(*args)
            out += self.call(pipe.execute, raise_on_error=False)
        return out

    def eval_each(self, script: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """``EVAL script 1 key *args`` for each ``(key, args)``: each reply or its ``ResponseError``.

        Pipelined: on one Redis in pipelines of :data:`PIPELINE`; on a cluster in
        pipelines to each key's primary (:meth:`_by_node`). A chain's
        leases and run records cost a few round trips per primary, not one per store.
        """
        if not self.cluster:
            return self.each([("eval", (script, 1, key, *args)) for key, args in calls])
        return self._by_node([key for key, _ in calls],
                             lambda pipe, i: pipe.eval(script, 1, calls[i][0], *calls[i][1]),
                             lambda client, i: client.eval(script, 1, calls[i][0], *calls[i][1]))

    def _by_node(self, keys: Sequence[str], queue: Callable[[Any, int], Any],
                 again: Callable[[Any, int], Any]) -> list[Any]:
        """A cluster's commands (command ``i`` on ``keys[i]``) grouped by the primary of each key's slot (the
        cluster client's slot table), each group in plain pipelines on that node's connection: ``queue(pipe, i)``
        puts command ``i`` in a pipeline, ``again(client, i)`` sends it through the cluster client.

        Plain pipelines, not the cluster client's: its pipeline looks up every
        command's keys and slot again in Python (1.5 s of a 2,000-store start on
        a cluster, for the streams' tops). A reply saying the slot is elsewhere
        or busy for now (``MOVED``, ``ASK``, ``TRYAGAIN``, ``CLUSTERDOWN``: a
        resharding or failover meanwhile) is sent again on its own through the
        cluster client, which follows it and re-reads its slot table.
        """
        client = self.client()
        nodes: dict[str, tuple[Any, list[int]]] = {}
        for i, key in enumerate(keys):
            node = self.call(client.get_node_from_key, key)
            nodes.setdefault(node.name, (node, []))[1].append(i)
        out: list[Any] = [None] * len(keys)
        for node, todo in nodes.values():
            for lo in range(0, len(todo), PIPELINE):
                part = todo[lo:lo + PIPELINE]
                pipe = node.redis_connection.pipeline(transaction=False)
                for i in part:
                    queue(pipe, i)
                try:
                    replies = self.call(pipe.execute, raise_on_error=False)
                except (redis.ConnectionError, redis.TimeoutError):
                    _reread_slots(client)  # a primary lost (a failover?): the caller's retry asks the new one
                    raise
                for i, reply in zip(part, replies, strict=True):
                    out[i] = reply
        for i, reply in enumerate(out):
            if isinstance(reply, (AskError, TryAgainError, ClusterDownError)):
                try:
                    out[i] = self.call(again, client, i)
                except ResponseError as exc:
                    out[i] = exc
        return out

    # -- the streams -----------------------------------------------------------------------------

    def tops(self) -> list[tuple[StreamId, Entry | None]]:
        """Each stream's last generated id and its newest entry (``None``: empty or missing).

        One ``XINFO STREAM`` per stream, all in pipelines (:meth:`each`): a
        chain's thousands of streams cost a few round trips, not one each.
        ``last-generated-id`` rather than the newest entry's: it survives
        trimming and deletion, and XADD refuses any id not above it.
        """
        out: list[tuple[StreamId, Entry | None]] = []
        infos = self.each([("xinfo_stream", (name,)) for name in self.streams])
        for i, (name, info) in enumerate(zip(self.streams, infos, strict=True)):
            if isinstance(info, ResponseError):
                if "no such key" in str(info).lower():
                    out.append((ZERO_ID, None))
                    continue
                self.refused(info, name, f"XINFO STREAM {name} on {self.where}")
            last, entry = info.get("last-entry"), None
            if last:
                eid, fields = last
                ms, seq = parse_id(eid)
                entry = Entry(i, ms // 1000, ms, seq, fields.get(b"data", b""), fields.get(b"key", b""))
            out.append((parse_id(info["last-generated-id"]), entry))
        return out

    def spans(self, ranges: Sequence[tuple[int, StreamId, StreamId]]) -> list[Span]:
        """For each ``(stream, low, high)``: its entries with ids in ``[low, high]`` and what trimming has left.

        One ``XRANGE`` and one ``XINFO STREAM`` per range, all in pipelines
        (:meth:`each`): checking what a chain's reconnect found held costs a
        few round trips (per primary), not two per store.
        """
        commands: list[tuple[str, tuple[Any, ...]]] = []
        for stream, low, high in ranges:
            name = self.streams[stream]
            commands += [("xrange", (name, f"{low[0]}-{low[1]}", f"{high[0]}-{high[1]}")), ("xinfo_stream", (name,))]
        replies = self.each(commands)
        out = []
        for k, (stream, _, _) in enumerate(ranges):
            name, raw, info = self.streams[stream], replies[2 * k], replies[2 * k + 1]
            if isinstance(raw, ResponseError):
                self.refused(raw, name, f"XRANGE {name} on {self.where}")
            if isinstance(info, ResponseError):
                if "no such key" not in str(info).lower():
                    self.refused(info, name, f"XINFO STREAM {name} on {self.where}")
                info = None
            there = {parse_id(eid): (fields.get(b"data", b""), fields.get(b"key", b"")) for eid, fields in raw}
            first = parse_id(info["first-entry"][0]) if info and info.get("first-entry") else None
            out.append(Span(there, 0 if info is None else int(info["length"]), first))
        return out

    def consumer_groups(self) -> list[tuple[str, str]]:
        """Every consumer group on the streams, as ``(stream, group)``."""
        groups = []
        for name, infos in zip(self.streams, self.each([("xinfo_groups", (name,)) for name in self.streams]),
                               strict=True):
            if isinstance(infos, ResponseError):
                if "no such key" in str(infos).lower():
                    continue
                self.refused(infos, name, f"XINFO GROUPS {name} on {self.where}")
            groups += [(name, _text(info["name"])) for info in infos]
        return groups

    # -- hashes (run records) --------------------------------------------------------------------

    def read_hashes(self, keys: Sequence[str]) -> list[dict[str, str]]:
        """``HGETALL`` of each key, pipelined (a chain's run records)."""
        out = []
        for key, raw in zip(keys, self.each([("hgetall", (key,)) for key in keys]), strict=True):
            if isinstance(raw, ResponseError):
                self.refused(raw, key, f"HGETALL {key} on {self.where}")
            out.append({k.decode(): v.decode() for k, v in raw.items()})
        return out

    def create_hashes(self, keys: Sequence[str], values: dict[str, str]) -> list[bool]:
        """Write each hash only if its key does not exist yet (each atomically); ``False`` where it did."""
        flat = [item for pair in values.items() for item in pair]
        replies = self.eval_each(_CREATE, [(key, flat) for key in keys])
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, ResponseError):
                self.refused(reply, key, f"EVAL (create {key}) on {self.where}")
        return [bool(reply) for reply in replies]

    def write_hashes(self, keys: Sequence[str], values: dict[str, str]) -> None:
        """The same ``values`` into each hash, pipelined."""
        for key, reply in zip(keys, self.each([("hset", (key, None, None, values)) for key in keys]), strict=True):
            if isinstance(reply, ResponseError):
                self.refused(reply, key, f"HSET {key} on {self.where}")

    def delete_hashes(self, keys: Sequence[str]) -> None:
        """``DEL`` of each key, pipelined (a chain's run records, ``--fresh``)."""
        for key, reply in zip(keys, self.each([("delete", (key,)) for key in keys]), strict=True):
            if isinstance(reply, ResponseError):
                self.refused(reply, key, f"DEL {key} on {self.where}")


def _reread_slots(client: Any) -> None:
    """Re-read a cluster client's slot table, if a node answers (else its next command tries again)."""
    try:
        client.nodes_manager.initialize()
    except (redis.RedisError, redis.exceptions.RedisClusterException):
        pass


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Delegating:
    """The sink protocol's reads and run-record writes, each one call on :attr:`commands`.

    Both Redis sinks hold a :class:`Commands` (given in their constructors)
    and answer these the same way; what differs between them (writing,
    where a stream lives, failures) they each say.
    """

    commands: Commands

    def last_ids(self) -> list[StreamId]:
        """Each stream's last generated id (``0-0`` if it does not exist yet)."""
        return [eid for eid, _ in self.tops()]

    def tops(self) -> list[tuple[StreamId, Entry | None]]:
        return self.commands.tops()

    def spans(self, ranges: Sequence[tuple[int, StreamId, StreamId]]) -> list[Span]:
        return self.commands.spans(ranges)

    def eval_each(self, script: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        return self.commands.eval_each(script, calls)

    def read_hashes(self, keys: Sequence[str]) -> list[dict[str, str]]:
        return self.commands.read_hashes(keys)

    def create_hashes(self, keys: Sequence[str], values: dict[str, str]) -> list[bool]:
        return self.commands.create_hashes(keys, values)

    def write_hashes(self, keys: Sequence[str], values: dict[str, str]) -> None:
        self.commands.write_hashes(keys, values)

    def delete_hashes(self, keys: Sequence[str]) -> None:
        self.commands.delete_hashes(keys)
