"""``simulate --partition | --workers N | --scheduler ADDRESS``: a run as tasks, to partitioned data sets.

The run is cut into tasks (a store, a span of days: :mod:`producer.partition`)
run one after the other in this process (``--partition``) or in parallel on
Dask (:mod:`producer.cluster`). Either way the data sets hold the same rows
as the two files of a plain run, partitioned by store and UTC date, and
``run.json`` (and, with scenarios, the labels' file) is written as for a plain run. The data sets are written under
``.partial`` names and take their names only when every task is done.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from producer.labels_output import write_labels
from producer.options import fail
from producer.partition import Task, TaskResult, abort, plan_tasks, prepare, publish, run_task
from producer.run_folder import replace_earlier_runs
from producer.run_output import Output, cannot_write, print_seed, progress_bar, record_run
from producer.settings import FeedSettings, SensorSettings, TrafficSettings
from producer.summary import Summary
from sim.run import Simulation

#: Recorded in run.json: how the data sets are partitioned.
LAYOUT = "hive: store_id=<id>/date=<UTC date of the row's time>/part-0000.<ext>"
#: The same with a door sensor: its records by their crossing's time, counts by their interval's start.
SENSOR_LAYOUT = ("hive: store_id=<id>/date=<UTC date of the row's time (sensor records: the crossing's time; "
                 "counts: interval_start)>/part-0000.<ext>")


def simulate_partitioned(run: Simulation, traffic: TrafficSettings, sensor: SensorSettings | None,
                         feeds: FeedSettings, output: Output, console: Console) -> Summary:
    """Run ``run`` as tasks, write the data sets and run.json; what it did (the command prints it).

    ``sensor`` is the sensor section of a run with a door sensor, else ``None``.
    """
    from producer.cluster import ClusterError, DaskMissing, require_dask, warn_if_too_small

    out, workers, scheduler = output.out, output.workers, output.scheduler
    warn_if_too_small(run, workers, console.quiet)
    if output.on_dask:
        try:
            require_dask()
        except DaskMissing as exc:
            fail(str(exc), 2)
    tasks = plan_tasks(
        run.seed, run.stores, run.start, run.end, engine=output.engine,  # type: ignore[arg-type]
        rejected=traffic.write_rejected, fmt=output.fmt, out=out, workers=workers or 1,
        sensor_interval=60 * sensor.count_interval if sensor is not None else None,
        counter_reset=feeds.counter_reset,
    )
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        prepare(out)
    except OSError as exc:
        fail(cannot_write(out, exc), 1)
    print_seed(console, traffic.seed, run.seed)
    began = time.perf_counter()
    try:
        results = _run_all(tasks, output, console)
        paths = publish(out, sensor is not None)
        replace_earlier_runs(out, [*paths, *write_labels(run, out, output.fmt)])  # a folder holds one run
        record_run(run, traffic, sensor, feeds, output, layout=SENSOR_LAYOUT if sensor is not None else LAYOUT,
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
    return _summary(run, tasks, results, paths, time.perf_counter() - began, output, sensor is not None)


def _run_all(tasks: list[Task], output: Output, console: Console) -> list[TaskResult]:
    """Every task's result: on Dask when asked (``--workers`` or ``--scheduler``), else one after the other here."""
    from producer.cluster import connect, run_tasks

    results: list[TaskResult] = []
    with progress_bar(console, "tasks") as bar:
        progress = bar.add_task("simulate", total=len(tasks))

        def done(task: Task, result: TaskResult) -> None:
            results.append(result)
            bar.advance(progress)

        if output.on_dask:
            with connect(output.workers, output.scheduler) as client:
                run_tasks(client, tasks, done)
        else:
            for task in tasks:
                done(task, run_task(task))
    return results


def _where(output: Output, results: list[TaskResult]) -> str:
    """Where the tasks ran, for the summary line (on Dask: with the peak memory of a worker)."""
    if not output.on_dask:
        return "in one process"
    where = f"on {output.workers} local workers" if output.workers else f"on {output.scheduler}"
    if results:
        where += f" (peak memory per worker {max(r.peak_rss_mb for r in results):,.0f} MB)"
    return where


def _summary(run: Simulation, tasks: list[Task], results: list[TaskResult], paths: list[Path], elapsed: float,
             output: Output, sensor: bool) -> Summary:
    visits = sum(r.sessions for r in results)
    capacity = (sum(r.turned_away for r in results), sum(r.gave_up for r in results))
    return Summary(
        seed=run.seed, start=run.start, end=run.end, visits=visits, events=visits + sum(r.doors for r in results),
        elapsed=elapsed, paths=tuple(paths[:2]), sensor_paths=tuple(paths[2:5]) if sensor else None,
        capacity=capacity if any(s.interacts for s in run.stores) else None,
        tasks=len(tasks), where=_where(output, results), sensor_records=sum(r.sensor_records for r in results),
    )
