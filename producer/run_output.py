"""What every offline run writes to and records, plain or partitioned: the output section, the seed line,
run.json, write errors.

Its own module so that :mod:`producer.offline` and
:mod:`producer.simulate_partitioned` share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from producer.manifest import write_manifest
from producer.settings import TRAFFIC_SETTINGS, FeedSettings, SensorSettings, TrafficSettings
from sim.run import Simulation


@dataclass(frozen=True)
class Output:
    """The output section: where and how an offline run writes (the folder, the format, the engine, and how
    it is cut and run). Command-line options of ``simulate`` only, with no environment variable."""

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

    @property
    def on_dask(self) -> bool:
        """Run on a Dask cluster (``--workers`` or ``--scheduler``)."""
        return self.workers is not None or self.scheduler is not None


def print_seed(console: Console, given: int | None, seed: int) -> None:
    """Say the seed drawn from OS entropy, so that the run can be repeated."""
    if given is None:
        console.print(f"seed {seed} (drawn from OS entropy; pass --seed {seed} to repeat this run)",
                      highlight=False)


def progress_bar(console: Console, unit: str) -> Progress:
    """The bar a run shows on a terminal while it simulates, counting ``unit`` (days, tasks); none elsewhere."""
    return Progress(
        TextColumn("simulating"), BarColumn(), TextColumn(f"{{task.completed:.0f}}/{{task.total:.0f}} {unit}"),
        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
    )


def manifest_settings(traffic: TrafficSettings, seed: int, output: Output, **more: Any) -> dict[str, Any]:
    """The settings recorded in run.json: the traffic section (with the run's seed) and the output's
    engine and format, then ``more``."""
    return {**{name: getattr(traffic, name) for name in TRAFFIC_SETTINGS}, "seed": seed,
            "engine": output.engine, "format": output.fmt, **more}


def record_run(run: Simulation, traffic: TrafficSettings, sensor: SensorSettings | None, feeds: FeedSettings,
               output: Output, **layout: Any) -> None:
    """Write run.json for a plain run or (``layout``: how it was cut and run) a partitioned one; ``sensor``
    is the sensor section of a run with a door sensor, else ``None``; ``feeds`` when its registers reset."""
    reset = feeds.counter_reset
    more = ({"sensor": True, "count_interval": sensor.count_interval, "counter_reset": f"{reset // 60:02d}:{reset % 60:02d}"}
            if sensor is not None else {})
    write_manifest(output.out, run.seed, run.start, run.end, run.stores,
                   manifest_settings(traffic, run.seed, output, **layout, **more))


def cannot_write(out: str, exc: OSError) -> str:
    """One line for an output folder that cannot be written (an environment error)."""
    reason = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != out else ""
    return f"--out {out!r}: cannot write the output there: {reason}{where}"
