"""A task's sensor partitions: the door sensor's records, interval counts and registers, by store and UTC date.

A partitioned run with a sensor (docs/sensors.md) writes, besides the sessions
and the true door events (``foot_traffic_realistic_true``), two more data sets
laid out as the others (:mod:`producer.partition`)::

    OUT/foot_traffic_realistic/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>  what the sensor delivered
    OUT/foot_traffic_counts/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>     interval counts
    OUT/foot_traffic_registers/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>  cumulative registers

Why a task writes the plain run's rows: the sensor's draws are keyed by
(store, UTC day, purpose) and drawn in event order, so a layer fed every
crossing of a UTC day from that day's start draws exactly what the whole
run's layer draws for it. Tasks start at the run's start or at a UTC
midnight, so a task for ``[a, b)`` feeds its own layer the crossings from
``a`` on and writes

- the records of the crossings in ``[a, b)`` (all of a crossing's records,
  however late they are delivered: up to three days), under the UTC date of
  their ``time`` (the crossing), so that a partition has one writer; within
  it they keep the plain run's order (``sent_at``, then the order they were
  made);
- the counts of the intervals that start in ``[a, b)`` (the first task: also
  the interval the run's start falls in), under the UTC date of their
  ``interval_start``. An interval that straddles ``b`` (an interval that
  does not divide a day) needs the crossings after ``b``: the task simulates
  on to that interval's end (never past the run's end), feeding them to the
  layer but writing none of their rows;
- the registers (:mod:`sim.counter_feed`) of the same intervals as the
  counts. A register is the sum of the counts since the counter's last
  daily reset, which is up to a day before ``a``: the layer is fed from the
  UTC midnight before that reset (:attr:`SensorPartitions.fed`, never before
  the run's start), so it draws what the plain run draws there too, and the
  rows before ``a`` only feed the registers.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import numpy as np

from producer.partition_paths import DayFiles, OpenDays
from producer.sinks.sensor_files import SENSOR_FILES, SensorFileSink
from sim.batch import DoorColumns
from sim.counter_feed import Registers
from sim.fast import DAY
from sim.sensor_stream import CountColumns, SensorColumns, SensorLayer
from sim.store import Store

#: What the sensor delivered, its interval counts, its registers.
SENSOR_DATASETS = tuple(name for name, _ in SENSOR_FILES)


def extended_end(end: int, run_end: int, interval: int) -> int:
    """How far a task ending at ``end`` simulates: to the end of the interval ``end`` falls in, at most the run's."""
    if end >= run_end:
        return end
    return min(run_end, -(-end // interval) * interval)


def _dates(times: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Rows by UTC day (epoch days), each day's rows in their order."""
    days = times // DAY
    return [(int(d), days == d) for d in np.unique(days).tolist()]


class SensorPartitions(OpenDays):
    """One task's sensor layer and its partitions (see the module's doc)."""

    def __init__(self, seed: int, store: Store, start: int, end: int, run_start: int, run_end: int,
                 interval: int, fmt: str, out: str | Path, staging: Path, counter_reset: int = 0) -> None:
        super().__init__(len(SENSOR_DATASETS))
        self.start, self.end, self.run_start = start, end, run_start
        self.fmt, self.out, self.staging, self.store_id = fmt, Path(out), staging, store.store_id
        self.registers = Registers((store,), run_start, interval, counter_reset)
        #: Where the layer's crossings start (the caller feeds from here on): see the module's doc.
        self.fed = start if start <= run_start else max(run_start, self.registers.feed_start(start))
        self.layer = SensorLayer(seed, (store,), self.fed, extended_end(end, run_end, interval), interval=interval)
        self._fed = -1  # the latest UTC day fed

    def write(self, doors: DoorColumns) -> None:
        """Feed the layer door events (time order; those before :attr:`fed` are dropped) and write what is final."""
        if len(doors) and int(doors.time[0]) < self.fed:
            doors = doors.take(doors.time >= self.fed)
        self._put(*self.layer.process(doors))
        if len(doors):
            self._fed = max(self._fed, int(doors.time[-1]) // DAY)
        since = self.layer.pending_since()
        oldest = since // DAY if since is not None else self._fed
        # A date is done once the days after it (an interval ends at most a day later) are being fed
        # and none of its records is still to be delivered.
        self._finish_before(min(self._fed - 1, oldest))

    def close(self) -> None:
        self._put(*self.layer.close())
        super().close()

    def _put(self, records: SensorColumns, counts: CountColumns) -> None:
        registers = self.registers.add(counts)
        # crossings outside the span only feed the counts and registers
        records = records.take((records.time >= self.start) & (records.time < self.end))
        owner = np.maximum(counts.interval_start, self.run_start)
        mine = (owner >= self.start) & (owner < self.end)
        counts, registers = counts.take(mine), registers.take(mine)
        none_r, none_c, none_g = records.take(slice(0, 0)), counts.take(slice(0, 0)), registers.take(slice(0, 0))
        for day, rows in _dates(records.time):
            self._day(day).write(records.take(rows), none_c, none_g)
        for day, rows in _dates(counts.interval_start):
            self._day(day).write(none_r, counts.take(rows), registers.take(rows))

    def _open_day(self, day: int) -> DayFiles:
        folder = self.staging / f"{quote(self.store_id, safe='')}-{day}-sensor"
        folder.mkdir(parents=True, exist_ok=True)
        return DayFiles(SensorFileSink(folder, self.fmt, partition=True), SENSOR_DATASETS, self.out, self.store_id,
                        day, self.fmt)
