"""An offline run, what ``simulate`` calls: :func:`run_offline` (a run and where its output goes -> a Summary).

A plain run (:func:`run_plain`) is the whole run in this process, to two
files (four with a door sensor), and run.json; a partitioned one is cut into
tasks (:func:`producer.simulate_partitioned.simulate_partitioned`). Both
return a :class:`~producer.summary.Summary` that the command prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from producer.formats import has_pyarrow
from producer.options import fail
from producer.run_folder import replace_earlier_runs
from producer.run_output import cannot_write, print_seed, record_run
from producer.sensor_output import SensorOutput, remove_stale
from producer.settings import Settings
from producer.sinks.files import DOORS_NAME, FileSink
from producer.sinks.sensor_files import TRUE_DOORS_NAME
from producer.summary import Summary
from producer.tuning import tune_for_batches
from sim.extras import need
from sim.fast import DAY
from sim.run import Simulation


@dataclass(frozen=True)
class Output:
    """Where and how an offline run writes: the folder, the format, the engine, and how it is cut and run."""

    out: str
    fmt: str
    engine: str
    partition: bool = False
    workers: int | None = None  #: a local Dask cluster of this many workers
    scheduler: str | None = None  #: a running Dask cluster's scheduler

    @property
    def partitioned(self) -> bool:
        """Written as hive-partitioned data sets (``--partition``, implied by Dask)."""
        return self.partition or self.workers is not None or self.scheduler is not None


def run_offline(run: Simulation, settings: Settings, output: Output, console: Console) -> Summary:
    """Simulate ``run`` and write it as ``output`` says; what it did."""
    if not output.partitioned:
        return run_plain(run, settings, out=output.out, fmt=output.fmt, engine=output.engine, console=console)
    need("pyarrow", "--partition, --workers and --scheduler (partitioned data sets)", "parquet")
    from producer.simulate_partitioned import simulate_partitioned  # pyarrow and the task side: only here

    return simulate_partitioned(
        run, settings, out=output.out, fmt=output.fmt, engine=output.engine, workers=output.workers,
        scheduler=output.scheduler, console=console, sensor=settings.has_sensor(run.stores),
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} days"),
        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
    )


def run_plain(run: Simulation, settings: Settings, *, out: str, fmt: str, engine: str, console: Console) -> Summary:
    """Simulate ``run`` in this process and write its files and run.json (one-line errors: exit 1)."""
    start, end, seed = run.start, run.end, run.seed
    sensor = settings.has_sensor(run.stores)
    try:
        sink = FileSink(out, fmt, TRUE_DOORS_NAME if sensor else DOORS_NAME)
        sensed = SensorOutput(run, settings, out, fmt, settings.counter_reset) if sensor else None
    except OSError as exc:
        fail(cannot_write(out, exc), 1)
    print_seed(console, settings.seed, seed)
    tune_for_batches(arrow=has_pyarrow())  # every format that needs pyarrow has it
    began = time.perf_counter()
    turned_away = gave_up = 0
    try:
        with _progress(console) as bar:
            task = bar.add_task("simulate", total=(end - start) / DAY)
            for batch in run.batches(engine, rejected=settings.write_rejected):  # type: ignore[arg-type]
                sink.write(batch)
                if sensed is not None:
                    sensed.write(batch.doors)
                turned_away += batch.turned_away
                gave_up += batch.gave_up
                if len(batch.doors):  # a batch may hold only counts of customers turned away
                    bar.update(task, completed=(min(int(batch.doors.time[-1]), end) - start) / DAY)
        paths = sink.close()
        sensor_paths = sensed.close() if sensed is not None else None
        if sensed is None:
            remove_stale(out, fmt)
        replace_earlier_runs(out, paths, sensor_paths)  # a folder holds one run
        record_run(out, run, settings, engine, fmt, sensed is not None)
    except OSError as exc:  # the disk filled up, the folder went away ...
        _abort(sink, sensed)
        fail(cannot_write(out, exc), 1)
    except BaseException:
        _abort(sink, sensed)
        raise
    elapsed = time.perf_counter() - began
    return Summary(
        seed=seed, start=start, end=end, visits=sink.rows[0], events=sink.rows[0] + sink.rows[1], elapsed=elapsed,
        paths=tuple(paths), sensor_paths=None if sensor_paths is None else tuple(sensor_paths),
        capacity=(turned_away, gave_up) if any(s.interacts for s in run.stores) else None,
    )


def _abort(sink: FileSink, sensed: SensorOutput | None) -> None:
    sink.abort()
    if sensed is not None:
        sensed.abort()
