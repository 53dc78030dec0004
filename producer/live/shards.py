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

The outbox sees a flat list of streams, numbered by the run's
:class:`~producer.live.layout.StreamLayout` (store ``k`` of the shard has
the ``k``-th set). Each stream counts its own sequence numbers, so a
store's entry ids are the ones a run of that store alone would give, and the
exactly-once logic of the outbox holds per stream, hence per store.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from producer.settings import ClusterSettings, SettingsError
from sim.store import Store


def shard_of(store_id: str, count: int) -> int:
    """The shard (``0 .. count-1``) that takes ``store_id``: CRC-32 of its UTF-8 bytes, mod ``count``."""
    return zlib.crc32(store_id.encode()) % count


def shard_stores(settings: ClusterSettings, stores: Sequence[Store]) -> tuple[Store, ...]:
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
