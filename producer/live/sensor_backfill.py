"""The backfill of a run with a sensor: its five streams' entries, from the engine's batches and the sensor layer.

A run with a sensor has five streams per set (:mod:`producer.live.sensor_pump`):
the sessions, the sensor's records (ids ``<sent_at ms>-<seq>``), the true
door events, the interval counts and the registers (both with ids
``<interval_end ms>-<seq>``, in store order). The backfill makes all five,
column-wise, from what is due:

- the engine's batches (:func:`~producer.live.catchup.due_batches`) from
  where a restart's model starts (:func:`~producer.live.sensor_pump.sensor_start`),
  their sessions and true door events as they are;
- their crossings from the first one the layer sees (``feed_from``) fed to
  the same :class:`~sim.sensor_stream.SensorLayer` as the pump's, batch by
  batch; after each batch every crossing up to its last second is in, so
  :meth:`~sim.sensor_stream.SensorLayer.settle` gives the records and the
  interval counts that are final, and at the end those final before the
  second now due (records sent before it, intervals ended by it);
- the registers of those counts (:class:`~sim.counter_feed.Registers`, fed
  every count, from the layer's first).

Records come out in ``sent_at`` order and are cut at whole seconds, counts
interval by interval, so each stream's ids are numbered as the pump numbers
them. What falls due after the run's end (the sensor's tail) is left to the
model, which writes it after storing the run's end (docs/sensors.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from producer.live.catchup import Column, QuietTimes, due_batches, newest, sequence, store_index
from producer.live.layout import COUNTS, REGISTERS, SENSOR, SESSIONS, TRUE, StreamLayout
from producer.live.lines import door_lines, session_lines
from producer.live.sink import StreamId
from sim.batch import Batch, texts
from sim.counter_feed import Registers
from sim.events import ENTRY, EXIT
from sim.sensor_stream import CountColumns, SensorColumns, SensorLayer
from sim.store import Store


def _encoded(values: np.ndarray) -> list[bytes]:
    return values.tolist() if values.dtype.kind == "S" else [v.encode() for v in texts(values)]


class SensorEntries:
    """The five streams' columns of every set, batch after batch (see the module's doc)."""

    def __init__(self, seed: int, stores: Sequence[Store], layout: StreamLayout, sim_start: int, end: int | None,
                 interval: int, feed_from: int, last: Sequence[StreamId], counter_reset: int = 0) -> None:
        self.stores, self.layout, self.feed_from = tuple(stores), layout, feed_from
        first = sim_start if feed_from <= sim_start else -(-feed_from // interval) * interval
        self.layer = SensorLayer(seed, self.stores, first, end if end is not None else 2**62, interval=interval)
        self.registers = Registers(self.stores, sim_start, interval, counter_reset)
        #: Each store's first stream (its set's sessions stream).
        self.base = np.array([layout.stream(s.store_id, SESSIONS) for s in self.stores], dtype=np.int64)
        self.lowest = min(ms for ms, _ in last) if last else 0  # below every top: made, not turned into entries

    def of(self, batches: Iterator[Batch], until: int) -> Iterator[list[Column]]:
        """Each batch's columns, then the records and counts final before ``until`` (the second now due)."""
        for batch in batches:
            out = self._batch(batch) if newest(batch) * 1000 >= self.lowest else []
            doors = batch.doors
            crossing = (doors.time >= self.feed_from) & ((doors.event_type == ENTRY) | (doors.event_type == EXIT))
            if crossing.any():
                self.layer.feed(doors.take(crossing))
            if len(doors):
                out += self._sensor(*self.layer.settle(int(doors.time[-1])))
            yield out
        yield self._sensor(*self.layer.settle(until - 1))

    def _batch(self, batch: Batch) -> list[Column]:
        s, d = batch.sessions, batch.doors
        out: list[Column] = []
        if len(s):
            out += self._split(self._streams(s.store_id, SESSIONS), s.entry.astype(np.int64) * 1000,
                               session_lines(s), _encoded(s.customer_id))
        if len(d):
            out += self._split(self._streams(d.store_id, TRUE), d.time.astype(np.int64) * 1000,
                               door_lines(d), _encoded(d.customer_id))
        return out

    def _sensor(self, records: SensorColumns, counts: CountColumns) -> list[Column]:
        out: list[Column] = []
        if len(records) and int(records.sent_at[-1]) >= self.lowest:
            out += self._split(self._streams(records.store_id, SENSOR), records.sent_at.astype(np.int64),
                               records.json_lines(), _encoded(records.customer_id))
        if not len(counts):
            return out
        registers = self.registers.add(counts)  # every count, in order: the totals need them all
        if int(counts.interval_end[-1]) * 1000 >= self.lowest:
            ms, keys = counts.interval_end.astype(np.int64) * 1000, _encoded(counts.store_id)
            out += self._split(self._streams(counts.store_id, COUNTS), ms, counts.json_lines(), keys)
            out += self._split(self._streams(counts.store_id, REGISTERS), ms, registers.json_lines(), keys)
        return out

    def _streams(self, store_id: np.ndarray, kind: int) -> np.ndarray:
        return self.base[store_index(store_id, self.stores)] + kind

    @staticmethod
    def _split(streams: np.ndarray, ms: np.ndarray, data: list[bytes], key: list[bytes]) -> list[Column]:
        """Rows (in id order) as one column per stream, each numbering its ids within the millisecond."""
        order = np.argsort(streams, kind="stable")
        cuts = np.flatnonzero(np.diff(streams[order])) + 1
        out = []
        for rows in np.split(order, cuts):
            t = ms[rows]
            picked = rows.tolist()
            out.append(Column(int(streams[rows[0]]), t, sequence(t), [data[i] for i in picked], [key[i] for i in picked]))
        return out


def sensor_entries(
    seed: int, stores: Sequence[Store], layout: StreamLayout, sim_start: int, end: int | None, interval: int,
    begin: int, feed_from: int, until: int, rejected: bool, last: Sequence[StreamId], quiet: QuietTimes | None,
    counter_reset: int = 0,
) -> Iterator[list[Column]]:
    """Every entry of the five streams due before ``until``, as columns (the model would start at ``begin``)."""
    entries = SensorEntries(seed, stores, layout, sim_start, end, interval, feed_from, last, counter_reset)
    return entries.of(due_batches(seed, stores, begin, until, rejected, [], quiet), until)
