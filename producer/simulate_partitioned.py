"""``simulate --partition | --workers N | --scheduler ADDRESS``: a run as tasks, to partitioned data sets.

The run is cut into tasks (a store, a span of days: :mod:`producer.partition`)
run one after the other in this process (``--partition``) or in parallel on
Dask (:mod:`producer.cluster`). Either way the data sets hold the same rows
as the two files of a plain run, partitioned by store and UTC date, and
``run.json`` is written as for a plain run. The data sets are written under
``.partial`` names and take their names only when every task is done.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from producer.options import fail
from producer.partition import Task, TaskResult, abort, plan_tasks, prepare, publish, run_task
from producer.run_folder import replace_earlier_runs
from producer.run_output import cannot_write, print_seed, record_run
from producer.settings import Settings
from producer.summary import Summary
from sim.run import Simulation

#: Recorded in run.json: how the data sets are partitioned.
LAYOUT = "hive: store_id=<id>/date=<UTC date of the row's time>/part-0000.<ext>"
#: The same with a door sensor: its records by their crossing's time, counts by their interval's start.
SENSOR_LAYOUT = ("hive: store_id=<id>/date=<UTC date of the row's time (sensor records: the crossing's time; "
                 "counts: interval_start)>/part-0000.<ext>")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} tasks"),
        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
    )


def simulate_partitioned(
    run: Simulation, settings: Settings, *, out: str, fmt: str, engine: str, workers: int | None,
    scheduler: str | None, console: Console, sensor: bool = False,
) -> Summary:
    """Run ``run`` as tasks, write the data sets and run.json; what it did (the command prints it)."""
    from producer.cluster import ClusterError, DaskMissing, require_dask, warn_if_too_small

    on_dask = workers is not None or scheduler is not None
    warn_if_too_small(run, workers, console.quiet)
    if on_dask:
        try:
            require_dask()
        except DaskMissing as exc:
            fail(str(exc), 2)
    tasks = plan_tasks(
        run.seed, run.stores, run.start, run.end, engine=engine,  # type: ignore[arg-type]
        rejected=settings.write_rejected, fmt=fmt, out=out, workers=workers or 1,
        sensor_interval=60 * settings.count_interval if sensor else None, counter_reset=settings.counter_reset,
    )
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        prepare(out)
    except OSError as exc:
        fail(cannot_write(out, exc), 1)
    print_seed(console, settings.seed, run.seed)
    began = time.perf_counter()
    try:
        results = _run_all(tasks, workers, scheduler, console)
        paths = publish(out, sensor)
        replace_earlier_runs(out, paths)  # a folder holds one run: an earlier plain run's files go
        record_run(out, run, settings, engine, fmt, sensor, layout=SENSOR_LAYOUT if sensor else LAYOUT,
                   tasks=len(tasks), workers=workers, scheduler=scheduler)
    except DaskMissing as exc:
        abort(out)
        fail(str(exc), 2)
    except ClusterError as exc:
        abort(out)
        fail(str(exc), 1)
    except OSError as exc:
        abort(out)
        fail(cannot_write(out, exc), 1)
    except BaseException:
        abort(out)
        raise
    return _summary(run, tasks, results, paths, time.perf_counter() - began, workers, scheduler, sensor)


def _run_all(tasks: list[Task], workers: int | None, scheduler: str | None, console: Console) -> list[TaskResult]:
    """Every task's result: on Dask when asked (``workers`` or ``scheduler``), else one after the other here."""
    from producer.cluster import connect, run_tasks

    results: list[TaskResult] = []
    with _progress(console) as bar:
        progress = bar.add_task("simulate", total=len(tasks))

        def done(task: Task, result: TaskResult) -> None:
            results.append(result)
            bar.advance(progress)

        if workers is not None or scheduler is not None:
            with connect(workers, scheduler) as client:
                run_tasks(client, tasks, done)
        else:
            for task in tasks:
                done(task, run_task(task))
    return results


def _summary(run: Simulation, tasks: list[Task], results: list[TaskResult], paths: list[Path], elapsed: float,
             workers: int | None, scheduler: str | None, sensor: bool) -> Summary:
    where = f"on {workers} local workers" if workers else f"on {scheduler}" if scheduler else "in one process"
    if (workers is not None or scheduler is not None) and results:
        where += f" (peak memory per worker {max(r.peak_rss_mb for r in results):,.0f} MB)"
    visits = sum(r.sessions for r in results)
    return Summary(
        seed=run.seed, start=run.start, end=run.end, visits=visits, events=visits + sum(r.doors for r in results),
        elapsed=elapsed, paths=tuple(paths[:2]), sensor_paths=tuple(paths[2:5]) if sensor else None,
        capacity=(sum(r.turned_away for r in results), sum(r.gave_up for r in results))
        if any(s.interacts for s in run.stores) else None,
        tasks=len(tasks), where=where, sensor_records=sum(r.sensor_records for r in results),
    )
