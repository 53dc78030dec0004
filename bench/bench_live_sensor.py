"""Benchmark of the live producer with a door sensor, against the same producer without one.

Against a redis-server this script starts itself, in one run (so the
machine's load is the same for both):

(a) catch-up: the SimPy model with every event already due (as a restarted
    producer far behind its clock with a sensor catches up: the backfill
    knows no sensor), one store and one day, without a sensor (sessions and
    door events) and with one (sessions, the sensor's records, the true
    door events, the interval counts): entries written per second, CPU per
    entry, and the ratio;
(b) real time at SPEED 1,000 and 40,000 or 400,000 people a day (about
    1,200 or 12,000 entries/s with the sensor, the night's quiet hours): the
    lateness of every entry (the sensor's records against their ``sent_at``),
    p50 / p99 / max, with and without.

Run from the repository root::

    .venv/bin/python bench/bench_live_sensor.py
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from producer.live.emitter import Emitter  # noqa: E402
from producer.live.environment import IdleGC, PacedEnvironment, Waker  # noqa: E402
from producer.live.layout import StreamLayout  # noqa: E402
from producer.live.outbox import Outbox  # noqa: E402
from producer.live.pace import WallClock  # noqa: E402
from producer.live.redis_sink import RedisSink  # noqa: E402
from producer.live.run import window  # noqa: E402
from producer.live.sensor_pump import attach  # noqa: E402
from sim import DEFAULT_PROFILE, Store  # noqa: E402
from sim.model import StoreModel  # noqa: E402
from sim.run import to_epoch  # noqa: E402
from sim.sensor import Sensor  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

MONDAY = "2025-11-03"
SENSOR = Sensor(miss_in=0.02, miss_out=0.04, double_in=0.01, double_out=0.01, delay_median=2, delay_sigma=1.2,
                duplicate=0.005, outages_per_day=0.5, outage_minutes=30)


def _store(daily: int, sensor: bool) -> Store:
    profile = dataclasses.replace(DEFAULT_PROFILE, sensor=SENSOR if sensor else None)
    return Store(daily_customers=daily, variation=0.0, profile=profile)


def run(url: str, daily: int, sensor: bool, speed: float, seconds: int) -> dict[str, float]:
    """Produce ``seconds`` simulated seconds at ``speed``: rate, CPU per entry, lateness."""
    streams = StreamLayout(("bench",), sensor=sensor).streams
    sink = RedisSink.connect(url, "", 0, 0, streams, 200_000)
    sink.delete_streams()
    waker = Waker()
    t0 = to_epoch(MONDAY)
    pace = WallClock(t0, speed, time.time())
    outbox = Outbox(sink, waker, buffer_max=1_000_000, due=pace.due)
    outbox.connect(5)
    idle_gc = IdleGC()
    env = PacedEnvironment(pace, waker, t0, outlet=outbox, gc=idle_gc)
    stores = (_store(daily, sensor),)
    emitter = (attach(env, outbox, 1, stores, t0, t0 + seconds, 900, t0, False, pace)
               if sensor else Emitter(outbox))
    StoreModel(env, 1, stores, t0, t0 + seconds, emitter, window=window(min(speed, 1e6)))
    env.prime()
    idle_gc.start()
    pace.anchor(time.time())
    cpu0, wall0 = time.process_time(), time.monotonic()
    env.run_to(t0 + seconds)
    outbox.flush()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    idle_gc.stop()
    n = sum(outbox.written)
    late = outbox.lateness
    sink.close()
    waker.close()
    return {"rate": n / wall, "n": n, "cpu_us": 1e6 * cpu / max(n, 1), "p50": late.quantile(0.5),
            "p99": late.quantile(0.99), "max": late.max}


def main() -> None:
    server = RedisServer().start()
    try:
        print(f"redis-server on port {server.port} (no persistence); Python {sys.version.split()[0]}")
        print("\n(a) catch-up (every event due), one store, one day of 200,000 people: entries/s into Redis")
        plain = run(server.url, 200_000, False, 1e12, 86_400)
        with_sensor = run(server.url, 200_000, True, 1e12, 86_400)
        for name, r in (("no sensor (2 streams)", plain), ("sensor (5 streams)", with_sensor)):
            print(f"  {name:<24} {r['rate']:>10,.0f} entries/s  ({r['n']:,.0f} entries, {r['cpu_us']:.1f} us CPU each)")
        print(f"  ratio sensor / no sensor: {with_sensor['rate'] / plain['rate']:.2f} (entries/s), "
              f"{with_sensor['cpu_us'] / plain['cpu_us']:.2f} (CPU per entry)")
        for daily in (40_000, 400_000):
            print(f"\n(b) real time, SPEED 1,000, {daily:,} people a day, the first 2 simulated hours of a Monday")
            for sensor in (False, True):
                r = run(server.url, daily, sensor, 1_000, 7_200)
                print(f"  {'sensor' if sensor else 'no sensor':<10} {r['rate']:>8,.0f} entries/s  lateness p50 "
                      f"{r['p50'] * 1e3:.2f} ms p99 {r['p99'] * 1e3:.2f} ms max {r['max'] * 1e3:.2f} ms")
    finally:
        server.close()


if __name__ == "__main__":
    main()
