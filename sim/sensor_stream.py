"""The sensor layer: from the true door events to what a people counter delivers.

Pure numpy, no I/O. :class:`SensorLayer` is fed the run's door events batch
by batch (in time order, as both engines give them) and hands back

- the sensor's **records**, in delivery order (``sent_at``, epoch
  milliseconds): each keeps its crossing's fields (``time`` is when it
  happened) and adds ``sent_at`` and ``reading`` (0, or 1 for the second
  count of a crossing counted twice);
- the **interval counts**: per store and per interval of ``interval``
  seconds (aligned to the UTC epoch), the entries and exits the sensor
  counted, by crossing time, errors included, duplicate deliveries not.

Per crossing (entries and exits; ``turned_away`` / ``gave_up`` never cross
the door and the sensor does not see them): with probability ``miss`` it is
not counted, with ``double`` it is counted twice, else once. Each reading is
delivered after a lognormal delay (median, sigma; cut at a day,
:data:`MAX_DELAY_MS`), and with probability
``duplicate`` delivered a second time after a further independent delay.
Outages are a Poisson number a UTC day, starting uniformly in it, lasting
an exponential time (cut at a day); a crossing during an outage is never
counted (``lose``) or delivered at the outage's end plus its delay
(``hold``). A store's scenarios (:mod:`sim.scenarios`) add scheduled
outages (``counter_offline``, held or lost as the sensor's ``outage_mode``
says) and windows where one direction is not counted at all (``door_blocked``).

Randomness: per store, per UTC day and per purpose, its own Generator from
the run's seed (purposes 10 to 13, apart from the model's), drawn in event
order, a fixed number of draws per crossing. So the records do not depend on
how the events were cut into batches, and turning the sensor on changes no
session and no true door event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import wire
from sim.batch import ColumnTable, DoorColumns, texts
from sim.events import ENTRY, EXIT
from sim.scenario_draw import Occurrence
from sim.scenario_effects import sensor_windows
from sim.sensor import Sensor
from sim.store import Store
from sim.streams import keyed

DAY = 86_400
#: Purposes of the sensor's streams (the model's are 0 to 4, see sim.sampling). Never renumber.
SENSOR_COUNT, SENSOR_DELAY, SENSOR_DUPLICATE, SENSOR_OUTAGE = 10, 11, 12, 13
#: Draws per crossing: a uniform for the count, four normals (two readings, two duplicates), two uniforms.
_DELAYS, _DUPLICATES = 4, 2
#: The longest delivery delay, milliseconds: each lognormal draw is cut here (one day). The law's
#: tail beyond it is negligible for the accepted settings except at extreme medians and sigmas
#: (median 3,600 s, sigma 3: P(D > 1 day) = 14%); the cap bounds how far a record's ``sent_at`` is
#: from its crossing, which the live producer needs to restart exactly (docs/sensors.md).
MAX_DELAY_MS = DAY * 1000
#: The longest ``sent_at - time * 1000`` of any record, milliseconds: an outage held to its end
#: (at most a day), then a delay, then a duplicate's further delay.
HORIZON_MS = DAY * 1000 + 2 * MAX_DELAY_MS
#: The perfect sensor of a store whose profile has none, in a run where another store has one.
PERFECT = Sensor(delay_median=0.0, delay_sigma=0.0)


@dataclass
class SensorColumns(ColumnTable):
    """Sensor records in delivery order (``sent_at``, then the order they were made)."""

    event_type: np.ndarray
    time: np.ndarray  #: the crossing, epoch seconds (int64)
    weekday: np.ndarray
    time_slot: np.ndarray
    customer_id: np.ndarray
    store_id: np.ndarray
    sent_at: np.ndarray  #: delivery, epoch milliseconds (int64)
    reading: np.ndarray  #: 0, or 1 for a crossing's second count (int64)
    seq: np.ndarray  #: order of making, the tie-break at equal sent_at (not written)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @staticmethod
    def empty() -> SensorColumns:
        obj, i64 = np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        return SensorColumns(obj, i64, obj, obj, obj, obj, i64, i64, i64)

    def json_lines(self) -> list[bytes]:
        """Each record's JSON (:mod:`sim.wire`)."""
        return wire.sensor_lines(self)


@dataclass
class CountColumns(ColumnTable):
    """Interval counts: one row per interval and store (stores in run order)."""

    store_id: np.ndarray
    interval_start: np.ndarray  #: epoch seconds (int64)
    interval_end: np.ndarray  #: epoch seconds (int64), exclusive
    entries: np.ndarray  #: "in" (int64)
    exits: np.ndarray  #: "out" (int64)

    def __len__(self) -> int:
        return int(self.interval_start.shape[0])

    def json_lines(self) -> list[bytes]:
        """Each interval's counts as JSON (:mod:`sim.wire`)."""
        return wire.count_lines(self)


def _objects(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


#: 1970-01-01's proleptic ordinal: an epoch day plus this is the UTC date's ``toordinal()``, never negative
#: (a run may start in 1900; spawn keys must be non-negative).
_ORDINAL_OF_EPOCH = 719_163


def _generator(seed: int, store: Store, day: int, purpose: int) -> np.random.Generator:
    """The Generator of one store, one UTC day (epoch days) and one purpose."""
    return keyed(seed, store.key, day + _ORDINAL_OF_EPOCH, purpose)


def outages(seed: int, store: Store, sensor: Sensor, day: int) -> tuple[np.ndarray, np.ndarray]:
    """The outages that start on UTC day ``day`` (epoch days): starts and ends, epoch seconds."""
    if sensor.outages_per_day <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = _generator(seed, store, day, SENSOR_OUTAGE)
    n = int(rng.poisson(sensor.outages_per_day))
    starts = day * DAY + rng.integers(0, DAY, size=n)
    lengths = np.minimum(np.ceil(rng.exponential(60 * sensor.outage_minutes, size=n)), DAY).astype(np.int64)
    return starts.astype(np.int64), starts + lengths


class SensorLayer:
    """Turns a run's door events into sensor records and interval counts (see the module's doc)."""

    def __init__(self, seed: int, stores: Sequence[Store], start: int, end: int, interval: int = 900) -> None:
        self.seed, self.stores, self.interval = seed, tuple(stores), interval
        self.sensors = [s.profile.sensor or PERFECT for s in self.stores]
        self._index = {s.store_id: i for i, s in enumerate(self.stores)}
        self._gens: dict[tuple[int, int, int], np.random.Generator] = {}
        self._outages: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._pending = SensorColumns.empty()
        self._made = 0  # crossings seen, for seq
        self._end = end
        self._next_interval = start // interval  # the first interval not yet handed out
        self._counts: dict[int, np.ndarray] = {}  # interval -> (stores, 2) in/out
        p = np.array([[s.miss_in, s.double_in, s.miss_out, s.double_out, s.duplicate] for s in self.sensors])
        self._miss = p[:, [2, 0]]  # by store, then is_entry
        self._double = p[:, [3, 1]]
        self._duplicate = p[:, 4]
        self._mu = np.array([s.delay_mu for s in self.sensors])
        self._sigma = np.array([s.delay_sigma for s in self.sensors])
        self._lose = np.array([s.outage_mode == "lose" for s in self.sensors])
        #: Stores with scenarios: only they have scheduled windows (door blocked, counter offline).
        self._planned = [i for i, s in enumerate(self.stores) if s.profile.scenarios or s.scenarios]

    def process(self, doors: DoorColumns) -> tuple[SensorColumns, CountColumns]:
        """Take a batch of door events; give the records and counts that are final now."""
        kind = doors.event_type
        crossing = np.flatnonzero((kind == ENTRY) | (kind == EXIT))
        if len(crossing):
            self._cross(doors, crossing)
        if not len(doors):
            return SensorColumns.empty(), self._counts_until(None)
        watermark = int(doors.time[-1])  # every later event happens at or after it
        return self._release(watermark * 1000), self._counts_until(watermark)

    def feed(self, doors: DoorColumns) -> None:
        """Take door events (in time order, after every event fed before) and release nothing.

        For a caller that knows more than the batch does (the live producer
        knows when an instant is complete): see :meth:`settle`.
        """
        kind = doors.event_type
        crossing = np.flatnonzero((kind == ENTRY) | (kind == EXIT))
        if len(crossing):
            self._cross(doors, crossing)

    def settle(self, upto: int) -> tuple[SensorColumns, CountColumns]:
        """Every crossing at or before ``upto`` (epoch s) has been fed: what is final now.

        Later crossings happen at ``upto + 1`` or after, and delays are never
        negative, so the records delivered before ``(upto + 1) * 1000`` ms and
        the intervals ending at or before ``upto + 1`` can no longer change.
        """
        return self._release((upto + 1) * 1000), self._counts_until(upto + 1)

    def next_sent_at(self) -> int | None:
        """The earliest ``sent_at`` (ms) of the records not yet handed out, or ``None``."""
        pending = self._pending.sent_at
        return int(pending.min()) if len(pending) else None

    def pending_since(self) -> int | None:
        """The earliest crossing ``time`` (epoch s) among the records not yet handed out, or ``None``.

        A caller writing records by their crossing's date knows a date is
        complete once every later crossing has been fed and no pending record
        is of that date or before.
        """
        pending = self._pending.time
        return int(pending.min()) if len(pending) else None

    def next_interval_end(self) -> int:
        """The end (epoch s) of the first interval not yet handed out."""
        return (self._next_interval + 1) * self.interval

    def close(self) -> tuple[SensorColumns, CountColumns]:
        """Everything left: records delivered after the last event, and the last intervals."""
        return self._release(None), self._counts_until(self._end, final=True)

    def _cross(self, doors: DoorColumns, rows: np.ndarray) -> None:
        time = doors.time[rows]
        is_entry = (doors.event_type[rows] == ENTRY).astype(np.int64)
        store = np.array([self._index[s] for s in doors.store_id[rows].tolist()], dtype=np.int64)
        u, z, v = self._draws(store, time)
        count = np.where(u < self._miss[store, is_entry], 0,
                         np.where(u < self._miss[store, is_entry] + self._double[store, is_entry], 2, 1))
        down, held_until = self._outage_ends(store, time)
        count[down & self._lose[store]] = 0
        count[self._blocked(store, time, is_entry)] = 0
        self._count(store, time, is_entry, count)
        parts = []
        seq = (self._made + np.arange(len(rows))) * 4
        for reading in (0, 1):
            has = count > reading
            sent = (np.where(down, held_until, time) * 1000 + self._delay_ms(store, z[:, reading]))
            parts.append((has, sent, reading, seq + reading))
            dup = has & (v[:, reading] < self._duplicate[store])
            again = sent + self._delay_ms(store, z[:, 2 + reading])
            parts.append((dup, again, reading, seq + 2 + reading))
        self._made += len(rows)
        made = [self._records(doors, rows, mask, sent, reading, s) for mask, sent, reading, s in parts]
        self._pending = SensorColumns.concat([self._pending, *made])

    def _draws(self, store: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each crossing's draws, from its store and UTC day's streams, in event order."""
        n = len(time)
        u, z, v = np.empty(n), np.empty((n, _DELAYS)), np.empty((n, _DUPLICATES))
        day = time // DAY
        key = store * (1 << 32) + day
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            at = order[a:b]
            s, d = int(store[at[0]]), int(day[at[0]])
            u[at] = self._gen(s, d, SENSOR_COUNT).random(b - a)
            z[at] = self._gen(s, d, SENSOR_DELAY).standard_normal((b - a, _DELAYS))
            v[at] = self._gen(s, d, SENSOR_DUPLICATE).random((b - a, _DUPLICATES))
        return u, z, v

    def _gen(self, store: int, day: int, purpose: int) -> np.random.Generator:
        key = (store, day, purpose)
        gen = self._gens.get(key)
        if gen is None:
            for old in [k for k in self._gens if k[0] == store and k[1] < day]:  # days are done in order
                del self._gens[old]
            gen = self._gens[key] = _generator(self.seed, self.stores[store], day, purpose)
        return gen

    def _outage_ends(self, store: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each crossing falls in an outage, and that outage's end (the latest if several)."""
        ends = np.full(len(time), np.iinfo(np.int64).min, dtype=np.int64)
        for s, occ in self._windows(store, time, "counter_offline"):
            inside = (store == s) & (time >= occ.start) & (time < occ.end)
            ends[inside] = np.maximum(ends[inside], occ.end)
        if not any(s.outages_per_day > 0 for s in self.sensors):
            return ends > np.iinfo(np.int64).min, ends
        for s in np.unique(store).tolist():
            mine = np.flatnonzero(store == s)
            for d in range(int(time[mine].min()) // DAY - 1, int(time[mine].max()) // DAY + 1):
                for a, b in zip(*self._outages_of(s, d), strict=True):
                    inside = mine[(time[mine] >= a) & (time[mine] < b)]
                    ends[inside] = np.maximum(ends[inside], b)
        return ends > np.iinfo(np.int64).min, ends

    def _windows(self, store: np.ndarray, time: np.ndarray, kind: str) -> list[tuple[int, Occurrence]]:
        """The scheduled windows of ``kind`` that meet the crossings' span, with their store's index."""
        if not self._planned or not len(time):
            return []
        lo, hi = int(time.min()), int(time.max()) + 1
        present = set(np.unique(store).tolist())
        return [(s, occ) for s in self._planned if s in present
                for occ in sensor_windows(self.seed, self.stores[s], lo, hi) if occ.kind == kind]

    def _blocked(self, store: np.ndarray, time: np.ndarray, is_entry: np.ndarray) -> np.ndarray:
        """Whether each crossing goes through a blocked door (its store's door_blocked in its direction)."""
        blocked = np.zeros(len(time), dtype=bool)
        for s, occ in self._windows(store, time, "door_blocked"):
            way = 1 if occ.scenario.direction == "in" else 0
            blocked |= (store == s) & (is_entry == way) & (time >= occ.start) & (time < occ.end)
        return blocked

    def _outages_of(self, store: int, day: int) -> tuple[np.ndarray, np.ndarray]:
        key = (store, day)
        if key not in self._outages:
            for old in [k for k in self._outages if k[0] == store and k[1] < day - 1]:  # no longer reachable
                del self._outages[old]
            self._outages[key] = outages(self.seed, self.stores[store], self.sensors[store], day)
        return self._outages[key]

    def _delay_ms(self, store: np.ndarray, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.rint(np.minimum(np.exp(self._mu[store] + self._sigma[store] * z) * 1000, MAX_DELAY_MS)
                           ).astype(np.int64)

    @staticmethod
    def _records(doors: DoorColumns, rows: np.ndarray, mask: np.ndarray, sent: np.ndarray,
                 reading: int, seq: np.ndarray) -> SensorColumns:
        at = rows[mask]
        return SensorColumns(
            event_type=np.asarray(doors.event_type[at], dtype=object), time=doors.time[at],
            weekday=np.asarray(doors.weekday[at], dtype=object), time_slot=np.asarray(doors.time_slot[at], dtype=object),
            customer_id=_objects(texts(doors.customer_id[at])),
            store_id=np.asarray(doors.store_id[at], dtype=object), sent_at=sent[mask],
            reading=np.full(len(at), reading, dtype=np.int64), seq=seq[mask],
        )

    def _release(self, before_ms: int | None) -> SensorColumns:
        pending = self._pending
        ready = np.ones(len(pending), bool) if before_ms is None else pending.sent_at < before_ms
        out = pending.take(ready)
        self._pending = pending.take(~ready)
        return out.take(np.lexsort((out.seq, out.sent_at)))

    def _count(self, store: np.ndarray, time: np.ndarray, is_entry: np.ndarray, count: np.ndarray) -> None:
        interval = time // self.interval
        for i in np.unique(interval).tolist():
            here = interval == i
            table = self._counts.setdefault(i, np.zeros((len(self.stores), 2), dtype=np.int64))
            np.add.at(table, (store[here], is_entry[here]), count[here])

    def _counts_until(self, before: int | None, final: bool = False) -> CountColumns:
        """Rows of the intervals that end at or before ``before`` (all up to the run's end when final)."""
        if before is None:
            last = self._next_interval
        elif final:
            last = -(-before // self.interval)
        else:
            last = before // self.interval
        ids = range(self._next_interval, max(last, self._next_interval))
        n = len(self.stores)
        table = np.zeros((len(ids), n, 2), dtype=np.int64)
        for k, i in enumerate(ids):
            got = self._counts.pop(i, None)
            if got is not None:
                table[k] = got
        self._next_interval = max(last, self._next_interval)
        starts = np.repeat(np.array(ids, dtype=np.int64) * self.interval, n)
        return CountColumns(
            store_id=np.tile(np.array([s.store_id for s in self.stores], dtype=object), len(ids)),
            interval_start=starts, interval_end=starts + self.interval,
            entries=table[:, :, 1].reshape(-1), exits=table[:, :, 0].reshape(-1),
        )
