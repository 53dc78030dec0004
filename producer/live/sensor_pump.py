"""The door sensor, live: the same :class:`~sim.sensor_stream.SensorLayer` as ``simulate``, on the clock.

With a ``[sensor]`` table (and ``SENSOR`` not ``off``) the producer writes
five streams (docs/sensors.md, "Live"):

- ``REDIS_STREAM``: the sessions, unchanged (stream 0);
- ``<REDIS_STREAM>:realistic``: what the sensor delivered, in ``sent_at``
  order, written when the simulated clock reaches ``sent_at``; ids
  ``<sent_at ms>-<seq>`` (stream 1);
- ``<REDIS_STREAM>:realistic:true``: the true door events, exactly the
  door stream of a run without a sensor (stream 2);
- ``<REDIS_STREAM>:counts``: one entry per store and ``COUNT_INTERVAL``,
  written at the interval's end, ids ``<interval_end ms>-<seq>`` in store
  order (stream 3);
- ``<REDIS_STREAM>:registers``: the counter's cumulative registers at each
  interval's end (:class:`~sim.counter_feed.Registers`, reset daily at
  ``COUNTER_RESET``), one entry beside each interval count, with its id
  (stream 4).

Each entry's ``data`` is a line of the offline file of the same run
(``foot_traffic_realistic.jsonl``, ``..._true.jsonl``, ``foot_traffic_counts.jsonl``,
``foot_traffic_registers.jsonl``).

With ``STREAM_PER_STORE=1`` each store has the five, ``<REDIS_STREAM>:{<id>}``,
``...:realistic``, ``...:realistic:true``, ``...:counts`` and ``...:registers``
(one hash tag: one slot of a cluster); store ``k`` of the shard writes to
streams ``5k`` to ``5k + 4`` (:func:`lanes`). The layer draws per store, so a store's entries
are its lines of the offline files whichever stores share its producer, and
each stream counts its own ids.

Timing. :class:`SensorEmitter` hands each crossing to the :class:`SensorPump`,
which buffers it. The pump wakes (a SimPy event of priority :data:`LAST`, so
after every event of the model at the same instant) at the first buffered
crossing's instant, at the earliest pending record's ``sent_at`` and at each
interval's end. A wake feeds the buffered crossings to the layer
in one call; then every crossing at or before ``floor(now)`` is in, so the
records with ``sent_at`` before the next second and the intervals ending by
then are final (:meth:`~sim.sensor_stream.SensorLayer.settle`); they are
turned into entries in one batch and queued, and those due (``sent_at <=
now``) go to the outbox. Per-event work in the loop is a tuple append and a
deque pop; the numpy work is per wake. When the run is behind its clock (a
restart catching up, ``SPEED=max``) a wake is put off to where the clock
already is (at most :data:`MOST_PUT_OFF`): the same records, fed in larger
batches, each as late as the run is anyway.

Restart. A record's ``sent_at`` is at most :data:`~sim.sensor_stream.HORIZON_MS`
after its crossing (an outage held up to a day, then two delays each cut at
a day), and the layer draws per store and UTC day in event order, so a
restart feeds the layer from the UTC midnight at least that horizon (and an
interval) before the streams' tops, or from the UTC midnight before each
store's last register reset before that if it is earlier (a register sums
the counts since its reset), with the model started a longest dwell before
that (:func:`sensor_start`); every entry after the tops is then made again
with its id.

``sent_at`` has milliseconds: the pump's wakes are the only events at
fractional simulated times (``sent_at / 1000``), and the clock (``sim:now``,
a followed clock) that reaches an instant lets its records out.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import simpy
from simpy.events import EventPriority

from producer.live.catchup import QuietTimes
from producer.live.emitter import Emitter, Taker
from producer.live.layout import COUNTS, REGISTERS, SENSOR, SESSIONS, StreamLayout
from producer.live.pace import FollowedClock, Pace, WallClock
from producer.live.resume import Collector, model_start
from producer.live.sink import Entry, StreamId
from sim.batch import DoorColumns
from sim.counter_feed import Registers
from sim.events import ENTRY, EXIT, DoorEvent, Session
from sim.model import StoreModel
from sim.sensor_stream import DAY, HORIZON_MS, CountColumns, SensorColumns, SensorLayer
from sim.store import Store

#: The SimPy priority of the pump's wakes: after the model's events of the same instant (URGENT 0, NORMAL 1).
LAST = EventPriority(2)
#: More than BEHIND wall seconds behind the clock (the log's "behind schedule"), a wake is put off
#: to where the clock is, up to MOST_PUT_OFF simulated seconds: catching up, the layer is fed in
#: batches of that span rather than one instant at a time.
BEHIND, MOST_PUT_OFF = 1.0, 3600


def lanes(stores: Sequence[Store], layout: StreamLayout) -> dict[str, int]:
    """Each store's first stream index: ``0`` for every store (one set), or its set's first per store."""
    return {s.store_id: layout.stream(s.store_id, SESSIONS) for s in stores}


def sensor_start(
    sim_start: int, last_ids: Sequence[StreamId], stores: Sequence[Store], interval: int, quiet: QuietTimes | None = None,
    counter_reset: int = 0,
) -> tuple[int, int]:
    """Where a (re)started run with a sensor starts: ``(model start, first crossing the layer sees)``.

    The layer must see every crossing of each UTC day it draws for, from the
    day's start, and every crossing whose records may lie after the streams'
    tops: so it starts at a UTC midnight at least ``HORIZON_MS`` and an
    interval before the oldest top. A register still to be written (its
    interval ends after the oldest top) needs every count since its store's
    last reset (daily at ``counter_reset``, minutes past local midnight)
    before that interval: the layer starts at the UTC midnight before that
    reset if it is earlier (:meth:`~sim.counter_feed.Registers.feed_start`,
    as a partitioned task's does). A reset is about a day back, inside the
    horizon, so this costs nothing in practice; it keeps the registers exact
    where a local day is longer (a zone that skipped a date). The model
    starts a longest dwell earlier
    (:func:`~producer.live.resume.model_start`; with a capacity, at an instant
    ``quiet`` saw the stores empty), so that the crossings from that midnight
    on are exactly the full run's.
    """
    resume = min(ms for ms, _ in last_ids) // 1000 if last_ids else 0
    feed_from = (resume - HORIZON_MS // 1000 - interval) // DAY * DAY
    if feed_from > sim_start:  # the first register to write is of the interval ending after ``resume``
        feed_from = min(feed_from, Registers(stores, sim_start, interval, counter_reset).feed_start(resume - interval))
    if feed_from <= sim_start:
        return sim_start, sim_start
    return model_start(sim_start, [(feed_from * 1000, 0)], stores, quiet), feed_from


class SensorPump:
    """Feeds crossings to a :class:`SensorLayer` and puts its records and counts on the clock."""

    def __init__(self, env: simpy.Environment, taker: Taker, seed: int, stores: Sequence[Store], sim_start: int,
                 end: int | None, interval: int, feed_from: int,
                 layout: StreamLayout, pace: Pace | None = None, counter_reset: int = 0) -> None:
        self.env, self.taker, self.feed_from = env, taker, feed_from
        #: Each store's first stream (:func:`lanes`): its records go to ``+ SENSOR``, its counts to ``+ COUNTS``,
        #: its registers to ``+ REGISTERS``.
        self.base = lanes(stores, layout)
        #: The run's clock (``None``: none, as fast as possible: a replay).
        self.pace = pace
        self._reached = clock_reached(pace) if pace is not None else None
        self._held_until: float | None = None  # a wake put off to here (behind the clock)
        first = sim_start if feed_from <= sim_start else -(-feed_from // interval) * interval
        self.layer = SensorLayer(seed, stores, first, end if end is not None else 2**62, interval=interval)
        #: The registers, fed every count the layer gives (exact from each store's first reset it sees on).
        self.registers = Registers(stores, sim_start, interval, counter_reset)
        # What the layer holds, as of the last settle (see drain).
        self._next_pending: int | None = None
        self._next_interval_end = self.layer.next_interval_end()
        self._next_release: float = -math.inf
        self._crossings: list[DoorEvent] = []
        # (sent_at ms, data, key, stream), final, not yet due; (interval_end s, data, key, stream), a count
        # then its register, interval by interval
        self._records: deque[tuple[int, bytes, bytes, int]] = deque()
        self._counts: deque[tuple[int, bytes, bytes, int]] = deque()
        self._planned: set[float] = set()
        self._ids = {base + stream: [-1, 0] for base in set(self.base.values()) for stream in (SENSOR, COUNTS, REGISTERS)}
        self._closed = False
        self._plan(self.layer.next_interval_end())

    # -- the emitter's side ----------------------------------------------------------------

    def cross(self, event: DoorEvent) -> None:
        """A crossing happened now (an entry or an exit)."""
        if event.time < self.feed_from:
            return
        if not self._crossings and self._held_until is None:
            self._plan(event.time)
        self._crossings.append(event)

    # -- waking ----------------------------------------------------------------------------

    def _plan(self, at: float) -> None:
        """Wake at ``at`` unless a wake at or before it is planned already."""
        if at < self.env.now:
            at = self.env.now
        if self._planned and min(self._planned) <= at:
            return
        self._planned.add(at)
        wake = simpy.Event(self.env)
        wake._ok, wake._value = True, None  # as a Timeout, but scheduled after the instant's other events
        wake.callbacks.append(partial(self._wake_event, at))  # type: ignore[union-attr]
        self.env.schedule(wake, LAST, at - self.env.now)

    def _wake_event(self, at: float, _event: simpy.Event) -> None:
        self._wake(at)

    def _wake(self, at: float) -> None:
        self._planned.discard(at)
        now = self.env.now
        held = self._held_until
        if held is not None and now < held:  # put off: the wake at ``held`` does it
            self._plan(held)
            return
        self._held_until = None
        if held is None and not self._closed:
            later = self._later(now)
            if later is not None:  # behind the clock: do this later, with more at once
                self._held_until = later
                self._plan(later)
                return
        self.drain(math.floor(now), round(now * 1000))
        self._plan_next()

    def _later(self, now: float) -> float | None:
        """Where to put a wake off to when the run is behind its clock (``None``: it is not)."""
        if self.pace is None:
            return math.floor(now) + MOST_PUT_OFF
        due = self.pace.due(now)
        if due is None or time.monotonic() - due < BEHIND or self._reached is None:
            return None
        ahead = math.floor(self._reached() - now)
        if ahead < 1:  # the clock is here: a wake put off past it would wait for the clock's next move
            return None
        return math.floor(now) + min(MOST_PUT_OFF, ahead)

    def drain(self, upto: int, now_ms: int) -> None:
        """Every crossing at or before ``upto`` has been handed to the pump: put what is due by ``now_ms`` out.

        The layer is asked only when it has something new: crossings fed,
        or ``upto`` reaching its earliest pending record's second or an
        interval's last second (most wakes just hand out queued records).
        """
        fed = bool(self._crossings)
        if fed:
            self._feed()
        if not self._closed and (fed or upto >= self._next_release):
            self._take(*self.layer.settle(upto))
            self._next_pending = self.layer.next_sent_at()
            interval_end = self.layer.next_interval_end()
            self._next_interval_end = interval_end
            pending = math.inf if self._next_pending is None else self._next_pending // 1000
            self._next_release = min(pending, interval_end - 1)
        self._hand_out(now_ms)

    def _plan_next(self) -> None:
        times = []
        if self._records:
            times.append(self._records[0][0] / 1000)
        if self._counts:
            times.append(self._counts[0][0])
        if not self._closed:
            if self._next_pending is not None:
                times.append(self._next_pending / 1000)
            times.append(self._next_interval_end)
        if times:
            self._plan(min(times))

    def _feed(self) -> None:
        rows, self._crossings = self._crossings, []
        cols = list(zip(*rows, strict=True))
        self.layer.feed(DoorColumns(
            event_type=_objects(cols[0]), time=np.array(cols[1], dtype=np.int64), weekday=_objects(cols[2]),
            time_slot=_objects(cols[3]), customer_id=_objects(cols[4]), store_id=_objects(cols[5]),
        ))

    def _take(self, records: SensorColumns, counts: CountColumns) -> None:
        base = self.base
        if len(records):
            keys = [c.encode() for c in records.customer_id.tolist()]
            streams = [base[s] + SENSOR for s in records.store_id.tolist()]
            self._records.extend(zip(records.sent_at.tolist(), records.json_lines(), keys, streams, strict=True))
        if len(counts):
            ids = counts.store_id.tolist()
            keys = [s.encode() for s in ids]
            ends = counts.interval_end.tolist()
            registers = self.registers.add(counts).json_lines()
            for end, count, register, key, store in zip(ends, counts.json_lines(), registers, keys, ids, strict=True):
                self._counts.append((end, count, key, base[store] + COUNTS))
                self._counts.append((end, register, key, base[store] + REGISTERS))

    def _hand_out(self, now_ms: int) -> None:
        """Put the records and counts due by ``now_ms`` in the outbox, with their ids."""
        records, counts, taker = self._records, self._counts, self.taker
        while records and records[0][0] <= now_ms:
            sent, data, key, stream = records.popleft()
            ms, seq = self._next_id(stream, sent)
            if not taker.written_already(stream, ms, seq):
                taker.put(Entry(stream, sent / 1000, ms, seq, data, key))
        while counts and counts[0][0] * 1000 <= now_ms:
            end, data, key, stream = counts.popleft()
            ms, seq = self._next_id(stream, end * 1000)
            if not taker.written_already(stream, ms, seq):
                taker.put(Entry(stream, end, ms, seq, data, key))

    def _next_id(self, stream: int, ms: int) -> tuple[int, int]:
        last = self._ids[stream]
        if ms == last[0]:
            last[1] += 1
        else:
            last[0], last[1] = ms, 0
        return ms, last[1]

    # -- the end of a run ------------------------------------------------------------------

    def close(self) -> float | None:
        """The model ended: take everything left; returns when the last of it falls due (``None``: nothing)."""
        if self._crossings:
            self._feed()
        if not self._closed:
            self._take(*self.layer.close())
            self._closed = True
        self._held_until = None  # nothing is fed any more: every wake now hands out what is due
        self._hand_out(round(self.env.now * 1000))
        self._plan_next()
        last = [self._records[-1][0] / 1000] if self._records else []
        last += [self._counts[-1][0]] if self._counts else []
        return max(last) if last else None

    def pending(self) -> int:
        """Records and counts made but not yet due."""
        return len(self._records) + len(self._counts)


class SensorEmitter(Emitter):
    """An :class:`Emitter` of a layout with a sensor that hands each crossing to its :class:`SensorPump`.

    Sessions go to each set's first stream, door events to its true stream
    (the layout's door kind with a sensor); what the model does after the
    run's end (:attr:`ended`) is not written.
    """

    def __init__(self, outbox: Taker, rejected: bool, layout: StreamLayout, pump: SensorPump) -> None:
        super().__init__(outbox, rejected, layout)
        self.pump = pump
        #: Set when the run's end is reached: what the model does after it is not written.
        self.ended = False

    def end(self) -> None:
        """The run's end is reached: what the model does from now on is not written."""
        self.ended = True

    def on_session(self, session: Session) -> None:
        if not self.ended:
            super().on_session(session)

    def _door(self, event: DoorEvent) -> None:
        if self.ended:
            return
        super()._door(event)
        if event.kind == ENTRY or event.kind == EXIT:
            self.pump.cross(event)


def attach(env: simpy.Environment, taker: Taker, seed: int, stores: Sequence[Store], sim_start: int,
           end: int | None, interval: int, feed_from: int, rejected: bool,
           pace: Pace | None = None, layout: StreamLayout | None = None, counter_reset: int = 0) -> SensorEmitter:
    """A :class:`SensorEmitter` with its :class:`SensorPump`, ready to observe a model in ``env``.

    ``layout``: the run's streams (a set per store, or one set: the default); ``counter_reset``: the
    registers' daily reset, minutes past local midnight.
    """
    layout = layout or StreamLayout(("foot_traffic",), sensor=True)
    pump = SensorPump(env, taker, seed, stores, sim_start, end, interval, feed_from, layout, pace, counter_reset)
    return SensorEmitter(taker, rejected, layout, pump)


def clock_reached(pace: Pace) -> Callable[[], float] | None:
    """The simulated time a pace's clock has reached now: a wall clock's, or a followed clock's latest value."""
    if isinstance(pace, WallClock):
        return pace.reached
    if isinstance(pace, FollowedClock):
        return lambda: pace.high
    return None


def replay_sensor_entries(
    seed: int, stores: Sequence[Store], sim_start: int, end: int | None, interval: int,
    since: Sequence[StreamId], upto: Sequence[StreamId], rejected: bool, layout: StreamLayout | None = None,
    counter_reset: int = 0,
) -> list[Entry]:
    """The sensor run's entries with ids in ``(since[s], upto[s]]``, made again (Redis lost them).

    As :func:`~producer.live.resume.replay_entries`, with the sensor: the
    model and the layer in a plain SimPy environment from where a restart
    would start them (:func:`sensor_start`), up to the newest id asked for.
    """
    begin, feed_from = sensor_start(sim_start, list(since), stores, interval, counter_reset=counter_reset)
    until = max(ms for ms, _ in upto) // 1000 + 1
    model_end = until if end is None else min(until, end)
    env = simpy.Environment(initial_time=begin)
    collector = Collector(since, upto)
    emitter = attach(env, collector, seed, stores, sim_start, end, interval, feed_from, rejected,
                     layout=layout, counter_reset=counter_reset)
    StoreModel(env, seed, stores, begin, model_end, emitter)
    env.run(until=model_end)
    emitter.end()
    if end is not None and model_end >= end:
        emitter.pump.close()
    emitter.pump.drain(model_end - 1, max(ms for ms, _ in upto))
    return collector.entries


def _objects(values: Sequence[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
