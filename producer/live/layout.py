"""The stream layout of a run: which streams it has, and which stream each event goes to.

A run writes one *set* of streams, or one set per store (``STREAM_PER_STORE=1``).
A set is a pair, sessions and door events, or with a sensor five: sessions,
what the sensor delivered, the true door events, the interval counts and the
counter's cumulative registers (:mod:`sim.counter_feed`); a
run whose stores have scenarios adds a last stream to each set, ``:labels``
(the scenarios' labels, :mod:`producer.live.labels`).
Streams are numbered set after set (store ``k``'s first stream is
``k * width``), the order of :attr:`StreamLayout.streams`, of the outbox's
ids and counts, and of the sink's streams. The run record and the lease of
each set are named after its sessions stream (:attr:`StreamLayout.bases`).

Every module that maps an event to a stream, or a stream to what it holds,
asks this object: the emitter, the outbox's counts, the backfill's columns,
the sensor pump, the run records, the leases, the metrics and the summary.
The model writes nothing to a labels stream (its entries are made apart, from
the run's start): where a restart's model starts is read from the other
streams only (:meth:`StreamLayout.model_ids`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from producer.live.sink import StreamId
from producer.settings import ClusterSettings, RedisSettings, SensorSettings
from sim.labels import has_scenarios
from sim.store import Store

#: What a stream of a set holds, as its offset in the set.
SESSIONS, DOORS = 0, 1  # a pair: sessions, door events
#: With a sensor: SESSIONS, then the sensor's records, true door events, interval counts, registers.
SENSOR, TRUE, COUNTS, REGISTERS = 1, 2, 3, 4
#: Streams per set with a sensor (before a labels stream).
SENSOR_WIDTH = 5


@dataclass(frozen=True)
class StreamLayout:
    """The run's streams: ``bases[k]`` is set ``k``'s sessions stream; ``stores`` names the set of each store."""

    bases: tuple[str, ...]
    sensor: bool = False
    #: Each store's set (its first stream is ``set * width``); empty: every store writes to set 0.
    store_sets: dict[str, int] = field(default_factory=dict)
    door_suffix: str = ":realistic"
    #: Each set ends with a labels stream (a store has scenarios).
    labels: bool = False

    @classmethod
    def of(cls, redis: RedisSettings, cluster: ClusterSettings, sensor: SensorSettings,
           stores: Sequence[Store]) -> StreamLayout:
        """The layout the settings give these stores (``STREAM_PER_STORE``, a sensor in a profile)."""
        has_sensor, labels = sensor.has_sensor(stores), has_scenarios(stores)
        if not cluster.stream_per_store:
            return cls((redis.redis_stream,), has_sensor, labels=labels)
        return cls.per_store_sets(redis.redis_stream, stores, has_sensor, labels)

    @classmethod
    def per_store_sets(cls, base: str, stores: Sequence[Store], sensor: bool = False,
                       labels: bool = False) -> StreamLayout:
        """A set of streams per store, ``<base>:{<store_id>}`` ... (a Redis Cluster hash tag: one slot per store)."""
        bases = tuple(f"{base}:{{{s.store_id}}}" for s in stores)
        return cls(bases, sensor, {s.store_id: k for k, s in enumerate(stores)}, labels=labels)

    @classmethod
    def one_pair(cls, base: str = "foot_traffic") -> StreamLayout:
        return cls((base,))

    @property
    def width(self) -> int:
        """Streams per set: 2, or 5 with a sensor; one more with labels."""
        return (SENSOR_WIDTH if self.sensor else 2) + self.labels

    @property
    def labels_kind(self) -> int:
        """Where the labels go in a set: its last stream (a run with labels)."""
        return SENSOR_WIDTH if self.sensor else 2

    @property
    def door_kind(self) -> int:
        """Where the (true) door events go in a set."""
        return TRUE if self.sensor else DOORS

    @property
    def streams(self) -> tuple[str, ...]:
        """Every stream's name, set after set."""
        d = self.door_suffix
        suffixes = (("", d, f"{d}:true", ":counts", ":registers") if self.sensor else ("", d)) + ((":labels",) if self.labels else ())
        return tuple(f"{base}{suffix}" for base in self.bases for suffix in suffixes)

    def first_streams(self) -> dict[str, int]:
        """Each store's first stream index (empty: one set, every store at 0)."""
        width = self.width
        return {store: k * width for store, k in self.store_sets.items()}

    def stream(self, store_id: str, kind: int) -> int:
        """The index of a store's stream of ``kind`` (SESSIONS, DOORS, SENSOR, TRUE, COUNTS or REGISTERS)."""
        return self.store_sets.get(store_id, 0) * self.width + kind

    def set_stream(self, k: int, kind: int) -> int:
        """The index of set ``k``'s stream of ``kind``."""
        return k * self.width + kind

    def labels_streams(self) -> list[int]:
        """The index of every set's labels stream (none without labels)."""
        return [self.set_stream(k, self.labels_kind) for k in range(len(self.bases))] if self.labels else []

    def model_ids(self, ids: Sequence[StreamId]) -> list[StreamId]:
        """``ids`` (one per stream) as the model resumes from them: each labels stream's replaced by the newest
        of the others, so that where a restart's model starts (the oldest id) ignores the labels streams."""
        out = list(ids)
        skip = set(self.labels_streams())
        if skip and len(skip) < len(out):
            newest = max(eid for i, eid in enumerate(out) if i not in skip)
            for i in skip:
                out[i] = newest
        return out

    def total(self, counts: Sequence[int], kind: int) -> int:
        """The sum over every set of ``counts`` (one per stream) of the streams of ``kind``."""
        return sum(counts[kind::self.width])

    @property
    def per_store(self) -> bool:
        return bool(self.store_sets)
