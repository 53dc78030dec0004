"""An offline run, what ``simulate`` calls: :func:`run_offline` (a run and where its output goes -> a Summary).

A plain run (:func:`run_plain`) is the whole run in this process, to two
files (four with a door sensor, one more with scenarios: their labels), and run.json; a partitioned one is cut into
tasks (:func:`producer.simulate_partitioned.simulate_partitioned`). Both
return a :class:`~producer.summary.Summary` that the command prints.
"""

from __future__ import annotations

import time

from rich.console import Console

from producer.formats import has_pyarrow
from producer.labels_output import write_labels
from producer.options import fail
from producer.run_folder import replace_earlier_runs
from producer.run_output import Output, cannot_write, print_seed, progress_bar, record_run
from producer.sensor_output import SensorOutput, remove_stale
from producer.settings import FeedSettings, SensorSettings, SettingsError, TrafficSettings
from producer.sinks.files import DOORS_NAME, FileSink
from producer.sinks.sensor_files import TRUE_DOORS_NAME
from producer.summary import Summary
from producer.tuning import tune_for_batches
from sim.extras import need
from sim.fast import DAY
from sim.run import Simulation


def run_offline(run: Simulation, traffic: TrafficSettings, sensing: SensorSettings, feeds: FeedSettings,
                output: Output, console: Console) -> Summary:
    """Simulate ``run`` and write it as ``output`` says; what it did.

    ``traffic`` says whether the seed was given and whether customers turned away are written;
    ``sensing`` whether the run has a door sensor, and its interval; ``feeds`` when its counter's registers reset.
    """
    try:
        sensing.check_scenarios(run.stores)
    except SettingsError as exc:
        fail(str(exc), 2)
    sensor = sensing if sensing.has_sensor(run.stores) else None
    if not output.partitioned:
        return run_plain(run, traffic, sensor, feeds, output, console)
    need("pyarrow", "--partition, --workers and --scheduler (partitioned data sets)", "parquet")
    from producer.simulate_partitioned import simulate_partitioned  # pyarrow and the task side: only here

    return simulate_partitioned(run, traffic, sensor, feeds, output, console)


def run_plain(run: Simulation, traffic: TrafficSettings, sensor: SensorSettings | None, feeds: FeedSettings,
              output: Output, console: Console) -> Summary:
    """Simulate ``run`` in this process and write its files and run.json (one-line errors: exit 1); ``sensor``
    is the sensor section of a run with a door sensor, else ``None``."""
    start, end, seed = run.start, run.end, run.seed
    out, fmt = output.out, output.fmt
    try:
        sink = FileSink(out, fmt, TRUE_DOORS_NAME if sensor is not None else DOORS_NAME)
        sensed = SensorOutput(run, sensor, out, fmt, feeds.counter_reset) if sensor is not None else None
    except OSError as exc:
        fail(cannot_write(out, exc), 1)
    print_seed(console, traffic.seed, seed)
    tune_for_batches(arrow=has_pyarrow())  # every format that needs pyarrow has it
    began = time.perf_counter()
    turned_away = gave_up = 0
    try:
        with progress_bar(console, "days") as bar:
            task = bar.add_task("simulate", total=(end - start) / DAY)
            for batch in run.batches(output.engine, rejected=traffic.write_rejected):  # type: ignore[arg-type]
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
        replace_earlier_runs(out, [*paths, *write_labels(run, out, fmt)], sensor_paths)  # a folder holds one run
        record_run(run, traffic, sensor, feeds, output)
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
