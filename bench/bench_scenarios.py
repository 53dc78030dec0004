"""Benchmark of scenarios: what they cost a run, and what its labels cost.

Runs the same simulation (the fast engine, several stores, a few weeks, every
event made, nothing written) in one process and one run, so that the
machine's load is the same for all:

- reference: stores without scenarios (what a run has always drawn);
- scenarios: the same stores with a surge, a slow checkout and an early
  closure drawn at high rates (several a week), and two fixed ones;
- labels: :func:`sim.labels.run_labels` of the scenario run alone.

Reports events/s and each one's time as a ratio to the reference (best of
``--repeat``). Run from the repository root::

    .venv/bin/python bench/bench_scenarios.py            # 10 stores x 28 days
    .venv/bin/python bench/bench_scenarios.py --quick    # 5 stores x 7 days
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import Simulation, Store  # noqa: E402
from sim.labels import run_labels  # noqa: E402
from sim.scenarios import scenarios_from_list  # noqa: E402

SCENARIOS = scenarios_from_list([
    {"kind": "surge", "factor": 2.5, "per_month": 12, "minutes": 90},
    {"kind": "slow_checkout", "factor": 1.5, "per_month": 12, "minutes": 180},
    {"kind": "early_closure", "per_month": 4},
    {"kind": "surge", "factor": 0.5, "start": "2025-11-05T10:00", "end": "2025-11-05T16:00"},
    {"kind": "slow_checkout", "factor": 2, "start": "2025-11-06T12:00", "end": "2025-11-06T14:00"},
])


def _run(stores: int, days: int, scenarios: bool) -> Simulation:
    made = [Store(store_id=f"s{i}", baseline=5_000, timezone="Europe/Rome") for i in range(stores)]
    if scenarios:
        made = [dataclasses.replace(s, scenarios=SCENARIOS) for s in made]
    return Simulation.of("2025-11-03", days=days, seed=1, stores=made)


def events(run: Simulation) -> int:
    return sum(len(b) for b in run.batches("fast"))


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 stores x 7 days")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stores, days = (5, 7) if args.quick else (10, 28)
    plain, scenario = _run(stores, days, False), _run(stores, days, True)
    n_plain, n_scenario = events(plain), events(scenario)
    t_plain = best(args.repeat, lambda: events(plain))
    t_scenario = best(args.repeat, lambda: events(scenario))
    t_labels = best(args.repeat, lambda: run_labels(scenario.seed, scenario.stores, scenario.start, scenario.end))
    n_labels = len(run_labels(scenario.seed, scenario.stores, scenario.start, scenario.end))
    print(f"{stores} stores x {days} days, best of {args.repeat}")
    print(f"reference  {n_plain:>10,} events  {n_plain / t_plain:>12,.0f} events/s  1.00")
    print(f"scenarios  {n_scenario:>10,} events  {n_scenario / t_scenario:>12,.0f} events/s  {t_scenario / t_plain:.2f}")
    print(f"labels     {n_labels:>10,} labels  {t_labels:>12.3f} s         {t_labels / t_plain:.2f}")


if __name__ == "__main__":
    main()
