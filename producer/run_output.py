"""What every offline run prints and records, plain or partitioned: the seed line, run.json, write errors.

Its own module so that :mod:`producer.simulate` and
:mod:`producer.simulate_partitioned` share it without importing each other.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from producer.manifest import write_manifest
from producer.settings import TRAFFIC_SETTINGS, Settings
from sim.run import Simulation


def print_seed(console: Console, given: int | None, seed: int) -> None:
    """Say the seed drawn from OS entropy, so that the run can be repeated."""
    if given is None:
        console.print(f"seed {seed} (drawn from OS entropy; pass --seed {seed} to repeat this run)",
                      highlight=False)


def manifest_settings(settings: Settings, seed: int, engine: str, fmt: str, **more: Any) -> dict[str, Any]:
    """The settings recorded in run.json."""
    return {**{name: getattr(settings, name) for name in TRAFFIC_SETTINGS}, "seed": seed,
            "engine": engine, "format": fmt, **more}


def record_run(out: str, run: Simulation, settings: Settings, engine: str, fmt: str, sensor: bool,
               **layout: Any) -> None:
    """Write run.json for a plain run or (``layout``: how it was cut and run) a partitioned one."""
    more = ({"sensor": True, "count_interval": settings.count_interval,
             "counter_reset": f"{settings.counter_reset // 60:02d}:{settings.counter_reset % 60:02d}"}
            if sensor else {})
    write_manifest(out, run.seed, run.start, run.end, run.stores,
                   manifest_settings(settings, run.seed, engine, fmt, **layout, **more))


def cannot_write(out: str, exc: OSError) -> str:
    """One line for an output folder that cannot be written (an environment error)."""
    reason = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != out else ""
    return f"--out {out!r}: cannot write the output there: {reason}{where}"
