"""Streams per store, and shards: which stores a producer takes, and where each store's events go.

With ``STREAM_PER_STORE=1`` every store has its own pair of streams,
``<REDIS_STREAM>:{<store_id>}`` (sessions) and
``<REDIS_STREAM>:{<store_id>}:realistic`` (door events). The braces are a
Redis Cluster hash tag: a store's two streams, its run record
(``...:{<store_id>}:run``) and its lease (``...:{<store_id>}:lease``) hash
to one slot, so they live on one shard of a cluster and a store's state is
never split by a failover.

``SHARD=i/N`` makes a producer take only the stores whose id hashes to
``i``: CRC-32 (:func:`zlib.crc32`, the checksum of gzip and PNG) of the
store id's UTF-8 bytes, modulo ``N``. It is stable across processes,
machines and Python versions (unlike :func:`hash`), so ``N`` producers given
``0/N`` .. ``N-1/N`` cover every store exactly once.

The outbox sees a flat list of streams: store ``k`` of the shard writes its
sessions to stream ``2k`` and its door events to stream ``2k + 1``
(:class:`StoreEmitter`). Each stream counts its own sequence numbers, so a
store's entry ids are the ones a run of that store alone would give, and the
exactly-once logic of the outbox holds per stream, hence per store.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from producer.live.emitter import DOORS, SESSIONS, Emitter, Taker
from producer.live.redis_sink import Entry
from producer.settings import Settings, SettingsError
from sim.events import DoorEvent, Session
from sim.store import Store


def shard_of(store_id: str, count: int) -> int:
    """The shard (``0 .. count-1``) that takes ``store_id``: CRC-32 of its UTF-8 bytes, mod ``count``."""
    return zlib.crc32(store_id.encode()) % count


def shard_stores(settings: Settings, stores: Sequence[Store]) -> tuple[Store, ...]:
    """The stores this producer takes (all, unless ``SHARD`` is set); one-line errors for what cannot work."""
    if settings.stream_per_store:
        for store in stores:
            if "{" in store.store_id or "}" in store.store_id:
                raise SettingsError(
                    f"store id {store.store_id!r} has a brace, which would break the hash tag of its streams "
                    "with STREAM_PER_STORE=1; rename the store")
    if settings.shard is None:
        return tuple(stores)
    index, count = settings.shard
    mine = tuple(s for s in stores if shard_of(s.store_id, count) == index)
    if not mine:
        raise SettingsError(
            f"SHARD={index}/{count} takes none of the {len(stores)} stores (CRC-32 of the store id mod {count}); "
            "use fewer shards")
    return mine


def run_keys(settings: Settings, stores: Sequence[Store]) -> list[str]:
    """The base name of each run record and lease: the run's stream, or each store's sessions stream."""
    return [sessions for sessions, _ in settings.stream_pairs(stores)]


class StoreEmitter(Emitter):
    """An :class:`Emitter` writing store ``k``'s sessions to stream ``2k`` and its door events to ``2k + 1``."""

    def __init__(self, outbox: Taker, stores: Sequence[Store], rejected: bool = False) -> None:
        super().__init__(outbox, rejected)
        self.base = {s.store_id: 2 * k for k, s in enumerate(stores)}
        self._ms = [-1] * (2 * len(stores))
        self._seq = [0] * (2 * len(stores))

    def on_session(self, session: Session) -> None:
        self.visits += 1
        stream = self.base[session.store_id] + SESSIONS
        ms, seq = self._next_id(stream, session.entry)
        if not self.outbox.written_already(stream, ms, seq):
            self.outbox.put(Entry(stream, session.entry, ms, seq, session.to_json(), session.customer_id.encode()))

    def _door(self, event: DoorEvent) -> None:
        stream = self.base[event.store_id] + DOORS
        ms, seq = self._next_id(stream, event.time)
        if not self.outbox.written_already(stream, ms, seq):
            self.outbox.put(Entry(stream, event.time, ms, seq, event.to_json(), event.customer_id.encode()))
