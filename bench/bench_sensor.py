"""Benchmark of the sensor layer: an offline run with and without a sensor.

Runs the same simulation (the fast engine, several stores, a few weeks) to
JSONL files three ways, in one process and one run so that the machine's
load is the same for all:

- reference: no sensor (sessions and door events, the files a run has always written);
- sensor: the same with a ``[sensor]`` table (misses, double counts, delays,
  duplicates, outages): the true door file plus the sensor's records and
  interval counts and registers;
- layer only: the sensor layer fed the run's door events, nothing written;
- records wire / records arrow: the sensor records' JSONL text made by the
  numpy wire encoder (sim.wire) and by the Arrow one, nothing else timed.

Reports events/s and the ratio of each to the reference (best of
``--repeat``). Run from the repository root::

    .venv/bin/python bench/bench_sensor.py            # 10 stores x 28 days
    .venv/bin/python bench/bench_sensor.py --quick    # 5 stores x 7 days
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from producer.sinks.files import DOORS_NAME, FileSink  # noqa: E402
from producer.sinks.sensor_files import TRUE_DOORS_NAME, SensorFileSink  # noqa: E402
from sim import DEFAULT_PROFILE, Simulation, Store  # noqa: E402
from sim.counter_feed import Registers  # noqa: E402
from sim.sensor import Sensor  # noqa: E402
from sim.sensor_stream import CountColumns, SensorColumns, SensorLayer  # noqa: E402

SENSOR = Sensor(miss_in=0.02, miss_out=0.04, double_in=0.01, double_out=0.01, delay_median=2, delay_sigma=1.2,
                duplicate=0.005, outages_per_day=0.5, outage_minutes=30)


def _run(stores: int, days: int, sensor: bool) -> Simulation:
    profile = dataclasses.replace(DEFAULT_PROFILE, sensor=SENSOR if sensor else None)
    return Simulation.of("2025-11-03", days=days, seed=1,
                         stores=[Store(store_id=f"s{i}", baseline=5_000, profile=profile) for i in range(stores)])


def reference(run: Simulation, out: Path) -> int:
    sink = FileSink(out, "jsonl", DOORS_NAME)
    for batch in run.batches():
        sink.write(batch)
    sink.close()
    return sink.rows[1]


def with_sensor(run: Simulation, out: Path) -> int:
    sink, sensed = FileSink(out, "jsonl", TRUE_DOORS_NAME), SensorFileSink(out, "jsonl")
    layer = SensorLayer(run.seed, run.stores, run.start, run.end)
    registers = Registers(run.stores, run.start, layer.interval, 0)

    def put(records: SensorColumns, counts: CountColumns) -> None:
        sensed.write(records, counts, registers.add(counts))

    for batch in run.batches():
        sink.write(batch)
        put(*layer.process(batch.doors))
    put(*layer.close())
    sink.close()
    sensed.close()
    return sink.rows[1]


def layer_only(run: Simulation, _: Path) -> int:
    batches = list(run.batches())
    layer = SensorLayer(run.seed, run.stores, run.start, run.end)
    began = time.perf_counter()
    n = 0
    for batch in batches:
        layer.process(batch.doors)
        n += len(batch.doors)
    layer.close()
    layer_only.seconds = time.perf_counter() - began  # type: ignore[attr-defined]
    return n


def _records_text(run: Simulation, arrow: bool) -> tuple[int, float]:
    """The sensor records' JSONL text through one encoder (``arrow``: the Arrow one, else sim.wire's),
    the layer's work untimed: whether the Arrow path of the sensor file still wins."""
    from producer.formats.jsonl import encoder

    layer = SensorLayer(run.seed, run.stores, run.start, run.end)
    records = [layer.process(batch.doors)[0] for batch in run.batches()]
    to_text = encoder("sensor", arrow=arrow)
    began = time.perf_counter()
    for r in records:
        to_text(r)
    return sum(len(r) for r in records), time.perf_counter() - began


def records_wire(run: Simulation, _: Path) -> int:
    n, records_wire.seconds = _records_text(run, arrow=False)  # type: ignore[attr-defined]
    return n


def records_arrow(run: Simulation, _: Path) -> int:
    n, records_arrow.seconds = _records_text(run, arrow=True)  # type: ignore[attr-defined]
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stores, days = (5, 7) if args.quick else (10, 28)
    plain, sensed = _run(stores, days, False), _run(stores, days, True)
    best: dict[str, float] = {}
    events = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, fn, run in (("reference", reference, plain), ("sensor", with_sensor, sensed),
                                  ("layer only", layer_only, sensed)):
                began = time.perf_counter()
                events = fn(run, Path(tmp) / name)
                took = time.perf_counter() - began
                if name == "layer only":
                    took = layer_only.seconds  # type: ignore[attr-defined]
                best[name] = min(best.get(name, took), took)
            for name, fn in (("records wire", records_wire), ("records arrow", records_arrow)):
                records = fn(sensed, Path(tmp))
                best[name] = min(best.get(name, fn.seconds), fn.seconds)  # type: ignore[attr-defined]
    print(f"{stores} stores x {days} days, {events:,} door events, best of {args.repeat}")
    for name, took in best.items():
        if name.startswith("records"):
            print(f"{name:13s} {took:7.2f} s  {records / took:12,.0f} records/s  (sensor file's JSONL encoder only)")
            continue
        print(f"{name:13s} {took:7.2f} s  {events / took:12,.0f} events/s  {took / best['reference']:5.2f} x reference")
    print(f"records wire / records arrow = {best['records arrow'] / best['records wire']:.2f} "
          "(below 1: the Arrow path of the sensor file still wins)")


if __name__ == "__main__":
    main()
