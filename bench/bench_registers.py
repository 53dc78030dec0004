"""Benchmark of the counter's registers (sim/counter_feed.py): what a register row costs beside its count.

Every interval count the sensor layer gives becomes a register row too
(offline a line of ``foot_traffic_registers``, live an entry of
``<REDIS_STREAM>:registers``). This measures, in one run on the same rows
(2,000 stores in New York and Kolkata, a day of 15-minute intervals, fed an
interval at a time as the live pump feeds them):

- ``Registers.add``, which looks a store's reset up only when an interval
  passes the store's next reset boundary;
- the same totals with the reset looked up on every row (``last_reset`` per
  row: the reference, the algorithm ``add`` had before, here on lists);
- the register rows' JSON, and the count rows' JSON (what each interval
  already cost).

Run from the repository root::

    .venv/bin/python bench/bench_registers.py

CPU seconds (``time.process_time``), the best of five; compare the ratios,
measured in the same run, not the absolute figures (the machine is shared).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sim.counter_feed import RegisterColumns, Registers, last_reset  # noqa: E402
from sim.sensor_stream import CountColumns  # noqa: E402
from sim.store import Store  # noqa: E402

STORES, INTERVAL, RESET = 2000, 900, 255  # 04:15
START = 1_762_128_000  # 2025-11-03T00:00:00Z


def _counts() -> list[CountColumns]:
    """A day of intervals, each one CountColumns of every store (as the pump's settle gives them)."""
    stores = [f"s{i}" for i in range(STORES)]
    ids = np.empty(STORES, dtype=object)
    ids[:] = stores
    rng = np.random.default_rng(1)
    out = []
    for begin in range(START, START + 86_400, INTERVAL):
        b = np.full(STORES, begin, dtype=np.int64)
        out.append(CountColumns(store_id=ids, interval_start=b, interval_end=b + INTERVAL,
                                entries=rng.integers(0, 9, STORES), exits=rng.integers(0, 9, STORES)))
    return out


def _added(stores: tuple[Store, ...], batches: list[CountColumns]) -> list[RegisterColumns]:
    """The registers of every batch, one :class:`Registers` fed them in order."""
    registers = Registers(stores, START, INTERVAL, RESET)
    return [registers.add(c) for c in batches]


def _per_row(stores: tuple[Store, ...], batches: list[CountColumns]) -> None:
    """The reference: the reset looked up on every row."""
    index = {s.store_id: i for i, s in enumerate(stores)}
    since, totals = [START] * len(stores), [[0, 0] for _ in stores]
    for counts in batches:
        for store_id, begin, entries, exits in zip(counts.store_id.tolist(), counts.interval_start.tolist(),
                                                   counts.entries.tolist(), counts.exits.tolist(), strict=True):
            i = index[store_id]
            reset = last_reset(stores[i], RESET, INTERVAL, begin)
            if reset > since[i]:
                since[i], totals[i] = reset, [0, 0]
            totals[i][0] += entries
            totals[i][1] += exits


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(5):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return best


def main() -> None:
    zones = ("America/New_York", "Asia/Kolkata")
    stores = tuple(Store(store_id=f"s{i}", timezone=zones[i % 2]) for i in range(STORES))
    batches = _counts()
    rows = sum(len(c) for c in batches)
    registers = _added(stores, batches)
    timed = {
        "Registers.add": _best(lambda: _added(stores, batches)),
        "reference: last_reset per row": _best(lambda: _per_row(stores, batches)),
        "register rows' JSON": _best(lambda: [r.json_lines() for r in registers]),
        "count rows' JSON": _best(lambda: [c.json_lines() for c in batches]),
    }
    print(f"{rows:,} rows ({STORES:,} stores x {len(batches)} intervals), CPU us per row, best of 5:")
    for name, seconds in timed.items():
        print(f"  {name:<32} {seconds / rows * 1e6:6.2f}")
    add, ref = timed["Registers.add"], timed["reference: last_reset per row"]
    register_json, count_json = timed["register rows' JSON"], timed["count rows' JSON"]
    print(f"ratio add / reference: {add / ref:.2f}; a register row (add + JSON) / a count row's JSON: "
          f"{(add + register_json) / count_json:.2f}")


if __name__ == "__main__":
    main()
