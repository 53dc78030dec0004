"""A run cut into tasks (a store, a span of days), each written to a hive-partitioned data set.

The layout, for every format (``<ext>`` is the format's name, :mod:`producer.formats`)::

    OUT/foot_traffic/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>            sessions
    OUT/foot_traffic_realistic/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>  door events

With a door sensor the door events are ``foot_traffic_realistic_true`` and
``foot_traffic_realistic`` holds what the sensor delivered, next to
``foot_traffic_counts`` (:mod:`producer.partition_sensor`).

``date`` is the UTC date of the row's own time: a session's entry time, a
door event's time (what Spark users expect, and the same day boundaries for
every store). Each partition is one file, written by exactly one task under
a fixed name, so a re-run replaces rather than adds. A partition holds the
rows of the single-process run for that store and date, in the same order,
each row exactly as that run writes it (through the same
:class:`~producer.sinks.files.FileSink`). Partitions with no rows have no file.

Why any split gives the same rows: every draw is keyed by (store, local
day, purpose), so a task that simulates one store over some window draws the
very customers a whole run would. A task for ``[a, b)`` must also give the
exits in ``[a, b)`` of customers who entered before ``a``; it starts its
simulation one longest visit earlier (:attr:`~sim.store.Store.lookback`:
the dwell model's upper bound, plus a leaving group's spread) and
keeps only rows whose time falls in ``[a, b)``. A store whose customers
interact (a capacity limit), or whose dwell has no upper bound (lognormal,
gamma), is one task over the whole run.

Nothing here imports Dask: a single process runs the same tasks one after
the other (``simulate --partition``), workers run them in parallel.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from producer.partition_paths import DayFiles, OpenDays, partial_name
from producer.partition_sensor import SENSOR_DATASETS, SensorPartitions, extended_end
from producer.sinks.files import DOORS_NAME, SESSIONS_NAME, FileSink
from producer.sinks.sensor_files import TRUE_DOORS_NAME
from sim.batch import Batch
from sim.fast import DAY
from sim.run import Engine, Simulation
from sim.store import Store

DATASETS = (SESSIONS_NAME, DOORS_NAME)
#: Every data set a run may write (a run without a sensor removes the sensor's, left by an earlier run).
ALL_DATASETS = (SESSIONS_NAME, DOORS_NAME, TRUE_DOORS_NAME, *SENSOR_DATASETS)
STAGING = ".staging"
#: Longest span of days one task covers (a month: a task streams, so memory does not grow with it;
#: fewer, longer tasks cost less in scheduling and in lead-in days). Shorter where workers need work.
MAX_SPAN_DAYS = 31
#: Tasks per worker the split aims for, so that workers finishing early find work.
TASKS_PER_WORKER = 8


@dataclass(frozen=True)
class Task:
    """One store over ``[start, end)``, part of a run: what a worker is handed."""

    seed: int
    store: Store
    start: int  #: first instant whose rows this task writes
    end: int  #: end (exclusive) of those rows
    run_start: int  #: the run's own start: nothing before it is simulated
    engine: Engine
    rejected: bool
    fmt: str
    out: str  #: the run's output folder (absolute: workers may run elsewhere)
    run_end: int | None = None  #: the run's own end (None: ``end``)
    sensor_interval: int | None = None  #: with a door sensor: the counts' interval, seconds
    counter_reset: int = 0  #: with a door sensor: the registers' daily reset, minutes past local midnight

    @property
    def datasets(self) -> tuple[str, str]:
        """The data sets of the sessions and of the true door events."""
        return (SESSIONS_NAME, DOORS_NAME if self.sensor_interval is None else TRUE_DOORS_NAME)

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY


@dataclass(frozen=True)
class TaskResult:
    """What a task wrote: rows per data set, customers who never got in, peak memory."""

    sessions: int
    doors: int
    turned_away: int
    gave_up: int
    peak_rss_mb: float
    sensor_records: int = 0
    counts: int = 0


def splittable(store: Store) -> bool:
    """Whether a store's run may be cut into spans of days (its customers do not interact, visits are bounded)."""
    return store.lookback is not None


def span_days(days: float, n_splittable: int, workers: int) -> int:
    """Days per task: at most :data:`MAX_SPAN_DAYS`, fewer when needed for enough tasks."""
    if n_splittable == 0:
        return MAX_SPAN_DAYS
    wanted = TASKS_PER_WORKER * workers
    return max(1, min(MAX_SPAN_DAYS, math.floor(days * n_splittable / wanted)))


def plan_tasks(
    seed: int, stores: tuple[Store, ...], start: int, end: int, *, engine: Engine, rejected: bool,
    fmt: str, out: str | Path, workers: int = 1, span: int | None = None, sensor_interval: int | None = None,
    counter_reset: int = 0,
) -> list[Task]:
    """The run's tasks, whole-run ones first (the longest, so they start first).

    Spans of a splittable store are cut at UTC midnights (``span`` days each,
    the first and last cut by the run's start and end), so each partition
    belongs to exactly one task.
    """
    span = span or span_days((end - start) / DAY, sum(map(splittable, stores)), workers)
    folder = str(Path(out).absolute())
    whole, split = [], []
    for store in stores:
        def task(a: int, b: int, store: Store = store) -> Task:
            return Task(seed, store, a, b, start, engine, rejected, fmt, folder, end, sensor_interval, counter_reset)
        if not splittable(store):
            whole.append(task(start, end))
            continue
        a = start
        while a < end:
            b = min(end, (a // DAY + span) * DAY)
            split.append(task(a, b))
            a = b
    return whole + split


class _Partitions(OpenDays):
    """One store's rows cut by UTC date, each date written to its partitions when done.

    Sessions arrive in entry order and door events in time order, so a date
    is done once both have moved past it. A date's files are the format's
    partition files (:mod:`producer.formats`; a Parquet partition has no
    ``store_id`` column, the path holds it).
    """

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self._seen = [-1, -1]  # latest day number seen in sessions, in door events

    def write(self, batch: Batch) -> None:
        no_sessions, no_doors = batch.sessions.take(slice(0, 0)), batch.doors.take(slice(0, 0))
        for day, rows in batch.sessions.by_day(batch.sessions.entry):
            self._day(day).write(Batch(rows, no_doors))
        for day, doors in batch.doors.by_day(batch.doors.time):
            self._day(day).write(Batch(no_sessions, doors))
        if len(batch.sessions):
            self._seen[0] = max(self._seen[0], int(batch.sessions.entry[-1]) // DAY)
        if len(batch.doors):
            self._seen[1] = max(self._seen[1], int(batch.doors.time[-1]) // DAY)
        self._finish_before(min(self._seen))

    def _open_day(self, day: int) -> DayFiles:
        task = self.task
        sink = FileSink(Path(task.out) / STAGING / f"{quote(task.store.store_id, safe='')}-{day}", task.fmt,
                        partition=True)
        return DayFiles(sink, task.datasets, task.out, task.store.store_id, day, task.fmt)


def run_task(task: Task) -> TaskResult:
    """Simulate one task and write its partitions; what a worker runs.

    The simulation starts one longest visit (:attr:`~sim.store.Store.lookback`) before the task's span (never
    before the run's start), so the exits inside the span of customers who
    entered before it are there; rows before the span are dropped. With a
    door sensor the task's layer is fed the crossings from the UTC midnight
    before the counter's last reset before the span (its registers need every
    count since that reset; at the run's start at the earliest), the
    simulation starts one longest visit before that, and runs on to the end
    of the counts' interval the span's end falls in (rows outside the span
    feed the layer only): :mod:`producer.partition_sensor`.
    """
    from producer.tuning import tune_for_batches

    tune_for_batches()
    lead = 0
    if task.start > task.run_start:
        lookback = task.store.lookback
        assert lookback is not None, "a store whose visits are unbounded or interact is one task over the whole run"
        lead = lookback
    end, fed = task.end, task.start
    sensed = None
    if task.sensor_interval is not None:
        end = extended_end(task.end, task.run_end or task.end, task.sensor_interval)
        sensed = SensorPartitions(task.seed, task.store, task.start, task.end, task.run_start, task.run_end or task.end,
                                  task.sensor_interval, task.fmt, task.out, Path(task.out) / STAGING,
                                  task.counter_reset)
        fed = sensed.fed
    run = Simulation(seed=task.seed, stores=(task.store,), start=max(task.run_start, fed - lead), end=end)
    out = _Partitions(task)
    turned_away = gave_up = 0
    try:
        for batch in run.batches(task.engine, rejected=task.rejected):
            turned_away += batch.turned_away
            gave_up += batch.gave_up
            if sensed is not None:
                sensed.write(batch.doors)  # from its feed's start on, past the span's end to its last interval's end
            if lead:
                batch = Batch(batch.sessions.take(batch.sessions.entry >= task.start),
                              batch.doors.take(batch.doors.time >= task.start))
            if end > task.end:
                batch = Batch(batch.sessions.take(batch.sessions.entry < task.end),
                              batch.doors.take(batch.doors.time < task.end))
            out.write(batch)
        out.close()
        if sensed is not None:
            sensed.close()
    except BaseException:
        out.abort()
        if sensed is not None:
            sensed.abort()
        raise
    more = sensed.rows if sensed is not None else [0, 0]
    return TaskResult(out.rows[0], out.rows[1], turned_away, gave_up, _peak_rss_mb(), more[0], more[1])


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(out: str | Path) -> None:
    """Clear what an interrupted run may have left (``.partial`` data sets, staging)."""
    for name in (*map(partial_name, ALL_DATASETS), STAGING):
        shutil.rmtree(Path(out) / name, ignore_errors=True)


def run_datasets(sensor: bool) -> tuple[str, ...]:
    """The data sets a run writes: sessions, door events; with a sensor, true door events, records, counts,
    registers."""
    return (SESSIONS_NAME, TRUE_DOORS_NAME, *SENSOR_DATASETS) if sensor else DATASETS


def publish(out: str | Path, sensor: bool = False) -> list[Path]:
    """Give the finished data sets their names, replacing a previous run's whole.

    A run without a sensor removes the sensor-only data sets an earlier run
    left (the folder never mixes two runs).
    """
    folder = Path(out)
    paths = []
    if not sensor:
        for stale in (TRUE_DOORS_NAME, *SENSOR_DATASETS[1:]):  # counts, registers
            shutil.rmtree(folder / stale, ignore_errors=True)
    for dataset in run_datasets(sensor):
        final, partial, old = folder / dataset, folder / partial_name(dataset), folder / f"{dataset}.old"
        partial.mkdir(exist_ok=True)  # a run with no rows still has its (empty) data set
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(partial, final)
        shutil.rmtree(old, ignore_errors=True)
        paths.append(final)
    shutil.rmtree(folder / STAGING, ignore_errors=True)
    return paths


def abort(out: str | Path) -> None:
    """Remove a failed run's partial data sets."""
    prepare(out)
