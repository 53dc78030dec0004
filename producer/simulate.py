"""``foot-traffic simulate``: an offline run, as fast as the machine allows, to files."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from producer.manifest import write_manifest
from producer.options import fail, friendly_errors, load_settings, plural, settings_options
from producer.sensor_output import SensorOutput, remove_stale
from producer.settings import SENSOR_SETTINGS, TRAFFIC_SETTINGS, Settings
from producer.sinks.files import DOORS_NAME, FORMATS, FileSink, has_pyarrow
from producer.sinks.sensor_files import TRUE_DOORS_NAME
from producer.span import parse_end, parse_start
from producer.tuning import tune_for_batches
from sim.events import iso
from sim.extras import need
from sim.fast import DAY
from sim.run import ENGINES, Simulation, fresh_seed, to_epoch


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} days"),
        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
    )


@click.command()
@click.option("--start", "sim_start", default=None, metavar="DATE|TIME",
              help="first simulated instant (UTC): a date or an ISO time [env SIM_START; default today]")
@click.option("--days", default=None, metavar="N",
              help="how many days to simulate, > 0 and at most 36,525 (a hundred years) [default 7]")
@click.option("--until", default=None, metavar="DATE|TIME", help="end of the run (exclusive), instead of --days")
@click.option("--out", default="out", show_default=True, metavar="DIR",
              help="output folder (made if missing); one that cannot be written is an error, exit 1")
@click.option("--format", "fmt", default="jsonl", show_default=True, type=click.Choice(FORMATS))
@click.option("--engine", default="auto", show_default=True, type=click.Choice(ENGINES),
              help="'fast' (vectorized; no capacity), 'exact' (event engine) or 'simpy' (the reference model), "
                   "all writing the same events; 'auto': fast where no store has a capacity, exact elsewhere")
@click.option("--partition", is_flag=True,
              help="write hive-partitioned data sets (store_id=.../date=...) instead of two files")
@click.option("--workers", default=None, metavar="N",
              help="run on a local Dask cluster of N worker processes (implies --partition; needs the dask extra)")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="run on the Dask cluster of this scheduler (implies --partition; needs the dask extra)")
@click.option("--quiet", is_flag=True, help="print nothing but errors")
@settings_options(TRAFFIC_SETTINGS)
@settings_options(SENSOR_SETTINGS)
@friendly_errors
def simulate(days: str | None, until: str | None, out: str, fmt: str, engine: str, partition: bool,
             workers: str | None, scheduler: str | None, quiet: bool, **options: Any) -> None:
    """Simulate [start, end) offline and write sessions and door events to files."""
    n_workers, address = _cluster_options(workers, scheduler)
    settings = load_settings(options)
    today = dt.datetime.now(dt.UTC).date()
    start = parse_start(settings, to_epoch(today), "--start" if options.get("sim_start") else "SIM_START")
    end = parse_end(start, days, until, default_days=7)
    assert end is not None
    stores = settings.stores()  # a broken stores or profile file fails before anything is printed
    if fmt == "parquet":
        need("pyarrow", "--format parquet")  # an extra: said before anything is printed
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    seed = fresh_seed() if settings.seed is None else settings.seed
    try:
        run = Simulation(seed=seed, stores=stores, start=start, end=end)
        run.pick_engine(engine)  # type: ignore[arg-type]
    except ValueError as exc:
        fail(str(exc))
    if Path(out).exists() and not Path(out).is_dir():
        fail(f"--out {out!r}: cannot write the output there: it is a file, not a folder", 1)
    sensor = settings.has_sensor(run.stores)
    if partition or n_workers is not None or address is not None:
        need("pyarrow", "--partition, --workers and --scheduler (partitioned data sets)", "parquet")
        from producer.simulate_partitioned import simulate_partitioned

        simulate_partitioned(
            run, settings, out=out, fmt=fmt, engine=engine, workers=n_workers, scheduler=address,
            console=console, quiet=quiet, sensor=sensor,
        )
        return
    try:
        sink = FileSink(out, fmt, TRUE_DOORS_NAME if sensor else DOORS_NAME)
        sensed = SensorOutput(run, settings, out, fmt) if sensor else None
    except OSError as exc:
        fail(cannot_write(out, exc), 1)
    print_seed(console, settings.seed, seed)
    tune_for_batches(arrow=fmt == "parquet" or has_pyarrow())
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
        more = {"sensor": True, "count_interval": settings.count_interval} if sensed is not None else {}
        write_manifest(out, seed, start, end, run.stores, manifest_settings(settings, seed, engine, fmt, **more))
    except OSError as exc:  # the disk filled up, the folder went away ...
        _abort(sink, sensed)
        fail(cannot_write(out, exc), 1)
    except BaseException:
        _abort(sink, sensed)
        raise
    elapsed = time.perf_counter() - began
    events = sink.rows[0] + sink.rows[1]
    if not quiet:
        click.echo(
            f"simulated {iso(start)} to {iso(end)}, seed {seed}: {plural(sink.rows[0], 'visit')}, "
            f"{plural(events, 'event')} in {elapsed:.2f} s ({events / max(elapsed, 1e-9):,.0f} events/s) "
            f"-> {paths[0]}, {paths[1]}"
        )
        if sensor_paths is not None:
            click.echo(f"sensor: -> {sensor_paths[0]} (what the sensor delivered), {sensor_paths[1]}")
        if any(s.capacity is not None for s in run.stores):
            click.echo(f"at capacity: {plural(turned_away, 'customer')} turned away, {gave_up:,} gave up waiting")


def _abort(sink: FileSink, sensed: SensorOutput | None) -> None:
    sink.abort()
    if sensed is not None:
        sensed.abort()


def _cluster_options(workers: str | None, scheduler: str | None) -> tuple[int | None, str | None]:
    """--workers and --scheduler, checked (one of them at most)."""
    if workers is None and scheduler is None:
        return None, None  # a plain run imports nothing of the cluster side (nor its pyarrow)
    from producer.cluster import check_address, check_workers

    if workers is not None and scheduler is not None:
        fail("--workers and --scheduler: give one of them, not both (--workers starts a local cluster)")
    try:
        return (None if workers is None else check_workers(workers),
                None if scheduler is None else check_address(scheduler))
    except ValueError as exc:
        fail(str(exc))


def print_seed(console: Console, given: int | None, seed: int) -> None:
    """Say the seed drawn from OS entropy, so that the run can be repeated."""
    if given is None:
        console.print(f"seed {seed} (drawn from OS entropy; pass --seed {seed} to repeat this run)",
                      highlight=False)


def manifest_settings(settings: Settings, seed: int, engine: str, fmt: str, **more: Any) -> dict[str, Any]:
    """The settings recorded in run.json."""
    return {**{name: getattr(settings, name) for name in TRAFFIC_SETTINGS}, "seed": seed,
            "engine": engine, "format": fmt, **more}


def cannot_write(out: str, exc: OSError) -> str:
    """One line for an output folder that cannot be written (an environment error)."""
    reason = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != out else ""
    return f"--out {out!r}: cannot write the output there: {reason}{where}"
