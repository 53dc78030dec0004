"""``foot-traffic simulate``: an offline run, as fast as the machine allows, to files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from producer import formats
from producer.offline import run_offline
from producer.options import GroupedCommand, fail, friendly_errors, load_settings, settings_options
from producer.run_output import Output
from producer.settings import FEED_SETTINGS, SENSOR_SETTINGS, TRAFFIC_SETTINGS
from producer.sinks.files import FORMATS
from producer.span import parse_end, parse_start
from sim.run import ENGINES, Simulation, fresh_seed, to_epoch


@click.command(cls=GroupedCommand)
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
@settings_options(FEED_SETTINGS)
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
    formats.get(fmt).require(f"--format {fmt}")  # an extra: said before anything is printed
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)
    seed = fresh_seed() if settings.seed is None else settings.seed
    try:
        run = Simulation(seed=seed, stores=stores, start=start, end=end)
        run.pick_engine(engine)  # type: ignore[arg-type]
    except ValueError as exc:
        fail(str(exc))
    if Path(out).exists() and not Path(out).is_dir():
        fail(f"--out {out!r}: cannot write the output there: it is a file, not a folder", 1)
    output = Output(out, fmt, engine, partition, n_workers, address)
    summary = run_offline(run, settings, settings, settings, output, console)  # its traffic, sensor and feed sections
    if not quiet:
        for line in summary.lines():
            click.echo(line)


def _cluster_options(workers: str | None, scheduler: str | None) -> tuple[int | None, str | None]:
    """--workers and --scheduler, checked (one of them at most)."""
    if workers is None and scheduler is None:
        return None, None  # a plain run imports nothing of the cluster side (nor its pyarrow)
    from producer.cluster import DaskMissing, check_address, check_workers, require_dask

    if workers is not None and scheduler is not None:
        fail("--workers and --scheduler: give one of them, not both (--workers starts a local cluster)")
    try:
        checked = (None if workers is None else check_workers(workers),
                   None if scheduler is None else check_address(scheduler))
        require_dask()  # the dask extra (it brings pyarrow too) is what to install, said first
    except (ValueError, DaskMissing) as exc:
        fail(str(exc))
    return checked
