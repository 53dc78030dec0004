"""Benchmark of the live producer against a redis-server this script starts itself.

(a) Lateness: the producer runs in real time at SPEED=1 and at speed-ups of
    1,000 and more, at rising event rates, and reports lateness (time an
    entry was written minus its due time) p50/p99/max per run, after a
    warm-up, until p99 passes 10 ms. Target: p99 <= 10 ms up to 40,000 events/s at
    SPEED 1,000 and 10,000.
(c) Followed clock (``CLOCK=redis``): another process advances ``sim:now``
    in 5-second steps at 300 and 3,000 times wall speed (the pipeline's
    clock service) and says when it set each value; lateness is an entry's
    reply minus the instant its time was set (before the MSET was sent), for
    the clock polled every 5 ms and for the clock pushed by Redis (client
    tracking), in the same run. Then each one's CPU while the clock stands
    still, in percent of a core. Targets: pushed p50 <= 1 ms, idle CPU <= 1%.
(b) Backfill: the producer as fast as it goes (every event already due),
    with the vectorized engine (producer/live/backfill.py), beside
    ``redis-benchmark -P 64`` XADD (Redis's own ceiling for the same
    command), the SimPy model catching up, a redis-py pipeline, and a naive
    loop of one XADD per event (what the old producer did); then a store
    with a capacity (queue with patience; the exact engine), and a store with
    a door sensor (five streams), each backfilled beside the SimPy model
    catching up on it. Target: backfill >= 1/3 of redis-benchmark.

Run from the repository root::

    .venv/bin/python bench/bench_producer.py            # the full table (~3 minutes)
    .venv/bin/python bench/bench_producer.py --quick    # fewer points

The machine's other load shows in every figure; the ratios to the
references measured in the same run are the numbers to compare.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from producer.live.backfill import backfill  # noqa: E402
from producer.live.emitter import Emitter  # noqa: E402
from producer.live.environment import IdleGC, PacedEnvironment, Waker  # noqa: E402
from producer.live.layout import StreamLayout  # noqa: E402
from producer.live.metrics import Lateness  # noqa: E402
from producer.live.outbox import Outbox  # noqa: E402
from producer.live.pace import FollowedClock, WallClock  # noqa: E402
from producer.live.redis_sink import RedisSink  # noqa: E402
from producer.live.run import window  # noqa: E402
from producer.live.sensor_pump import attach  # noqa: E402
from sim.batch import texts  # noqa: E402
from sim.model import StoreModel  # noqa: E402
from sim.profile import DEFAULT_PROFILE  # noqa: E402
from sim.run import Simulation, to_epoch  # noqa: E402
from sim.sensor import Sensor  # noqa: E402
from sim.store import Store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

EVENTS_PER_VISIT = 3  # a session, an entry, an exit
MONDAY = "2025-11-03"


def open_sink(url: str, layout: StreamLayout | None = None) -> tuple[RedisSink, Waker]:
    """Empty bench streams (a pair, or the layout's), and a waker."""
    sink = RedisSink.connect(url, "", 0, 0, (layout or StreamLayout(("bench",))).streams, 20_000)
    sink.delete_streams()
    return sink, Waker()


def outbox_on(sink: RedisSink, waker: Waker, due: Callable[[float], float | None] | None = None) -> Outbox:
    """An outbox on the bench streams, connected; ``due``: the run's pace (for lateness)."""
    outbox = Outbox(sink, waker, buffer_max=1_000_000, due=due)
    outbox.connect(5)
    return outbox


def open_outbox(url: str, due: Callable[[float], float | None] | None = None,
                layout: StreamLayout | None = None) -> tuple[RedisSink, Waker, Outbox]:
    """Empty bench streams (a pair, or the layout's) and an outbox on them, connected."""
    sink, waker = open_sink(url, layout)
    return sink, waker, outbox_on(sink, waker, due)


def producer_run(url: str, speed: float, daily: int, start: str, warm: float, measure: float) -> dict[str, float]:
    """Produce in real time: ``warm`` wall seconds unmeasured, then ``measure`` wall seconds measured."""
    t0 = to_epoch(start)
    # The model and its first day's draw are built before the clock starts.
    pace = WallClock(t0, speed, time.time())
    sink, waker, outbox = open_outbox(url, pace.due)
    idle_gc = IdleGC()  # as the producer does
    env = PacedEnvironment(pace, waker, t0, outlet=outbox, gc=idle_gc)
    emitter = Emitter(outbox)
    StoreModel(env, 1, (Store(daily_customers=daily, variation=0.0),), t0, None, emitter, window=window(speed))
    env.run(until=t0 + 1)  # draws the day (not measured)
    idle_gc.start()
    pace.anchor(time.time() - 1 / speed)
    result = measured(env, outbox, t0 + int(warm * speed), t0 + int((warm + measure) * speed))
    idle_gc.stop()
    sink.close()
    waker.close()
    return {**result, "lag": env.lag()}


def measured(env: PacedEnvironment, outbox: Outbox, warm_until: int, until: int) -> dict[str, float]:
    """Run unmeasured to ``warm_until``, then measured to ``until``: rate, lateness quantiles, CPU per event."""
    env.run_to(warm_until)
    outbox.flush()
    outbox.lateness.reset()
    written0 = sum(outbox.written)
    cpu0, wall0 = time.process_time(), time.monotonic()
    env.run_to(until)
    outbox.flush()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    n = sum(outbox.written) - written0
    late = outbox.lateness
    return {"rate": n / wall, "n": n, "p50": late.quantile(0.5), "p99": late.quantile(0.99),
            "max": late.max, "cpu_us": 1e6 * cpu / max(n, 1)}


#: The pipeline's clock service, as a process of its own: ``sim:now`` in steps of STEP at MULTIPLIER x wall.
#: It prints each value set and the monotonic instant (system-wide on Linux) just before it was sent.
#: (To a file: a pipe that filled up would stop the clock.)
CLOCK_DRIVER = """
import datetime as dt, sys, time
import redis
url, value, step, multiplier = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
client, t0, k = redis.Redis.from_url(url), time.monotonic(), 0
while True:
    k += 1
    value += step
    now = dt.datetime.fromtimestamp(value, dt.UTC).isoformat()
    before = time.monotonic()
    client.mset({"sim:now": now, "sim:today": now[:10]})
    print(value, before, flush=True)
    time.sleep(max(0.0, t0 + k * step / multiplier - time.monotonic()))
"""


class Written:
    """Stands in for the outbox's lateness: each write's simulated time, reply instant and count, kept.

    The outbox measures lateness as reply - ``due(t)``; with ``due`` returning
    0 the reply instant itself is what it adds. Each is timed afterwards from
    the clock driver's own record of when it set each value, and from the
    producer's pace (what its lateness metric says).
    """

    def __init__(self, pace: FollowedClock) -> None:
        self.pace = pace
        self.t, self.own = 0.0, 0.0
        self.rows: list[tuple[float, float, float, int]] = []  # (time, reply, the pace's due, count)
        self.max = 0.0

    def due(self, t: float) -> float:
        self.t, self.own = t, self.pace.due(t) or 0.0
        return 0.0

    def add(self, seconds: float, count: int = 1) -> None:
        self.rows.append((self.t, seconds, self.own, count))

    def reset(self) -> None:
        self.rows.clear()

    def quantile(self, q: float) -> float:
        return 0.0

    def timed(self, driver_log: Path) -> tuple[Lateness, Lateness]:
        """(reply - the instant the driver began setting a value >= t, reply - the pace's due time)."""
        values, befores = [], []
        for line in driver_log.read_text().splitlines():
            value, before = line.split()
            values.append(float(value))
            befores.append(float(before))
        true, own = Lateness(), Lateness()
        for t, reply, due, count in self.rows:
            i = bisect.bisect_left(values, t)
            if i == len(values):  # the driver's last set, killed before it said so: not timed
                continue
            true.add(reply - befores[i], count)
            own.add(reply - due, count)
        return true, own


def followed_clock(sink: RedisSink, waker: Waker, push: bool) -> FollowedClock:
    """The producer's followed clock on ``sim:now``: pushed by Redis, or polled every 5 ms."""
    pushed = sink.clock_push("sim:now", 0, waker.nudge, "sim:now") if push else None
    clock = FollowedClock(sink.clock_reader("sim:now", 0), "sim:now", push=pushed)
    deadline = time.monotonic() + 10
    while pushed is not None and not pushed.live and time.monotonic() < deadline:
        time.sleep(0.01)
    return clock


@dataclass
class Following:
    """A producer's parts following ``sim:now`` (CLOCK=redis) on empty bench streams, the clock set to ``start``."""

    sink: RedisSink
    waker: Waker
    outbox: Outbox
    clock: FollowedClock
    idle_gc: IdleGC
    env: PacedEnvironment
    t0: int

    @classmethod
    def open(cls, url: str, start: str, push: bool,
             due_of: Callable[[FollowedClock], Callable[[float], float | None]]) -> Following:
        """``due_of``: the outbox's lateness reference, given the clock."""
        sink, waker = open_sink(url)
        t0 = to_epoch(start)
        sink.client.set("sim:now", f"{start}+00:00")
        clock = followed_clock(sink, waker, push)
        clock.wait_first(waker.wait)
        outbox = outbox_on(sink, waker, due_of(clock))
        idle_gc = IdleGC()
        env = PacedEnvironment(clock, waker, t0, outlet=outbox, gc=idle_gc)
        return cls(sink, waker, outbox, clock, idle_gc, env, t0)


def followed_run(url: str, multiplier: float, daily: int, start: str, warm: float, measure: float,
                 push: bool, step: float = 5) -> dict[str, float]:
    """Produce following a clock driven by another process (CLOCK=redis): lateness from each clock change."""
    made: dict[str, Written] = {}
    f = Following.open(url, start, push, lambda clock: made.setdefault("written", Written(clock)).due)
    sink, waker, outbox, idle_gc, env, t0 = f.sink, f.waker, f.outbox, f.idle_gc, f.env, f.t0
    written = made["written"]
    emitter = Emitter(outbox)
    StoreModel(env, 1, (Store(daily_customers=daily, variation=0.0),), t0, None, emitter,
               window=window(multiplier))
    env.prime()  # the day's draw, before the clock moves
    idle_gc.start()
    outbox.lateness = written  # type: ignore[assignment]  # lateness from each clock change
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as said:
        driver = subprocess.Popen([sys.executable, "-c", CLOCK_DRIVER, url, str(t0), str(step), str(multiplier)],
                                  stdout=said)
        try:
            result = measured(env, outbox, t0 + int(warm * multiplier), t0 + int((warm + measure) * multiplier))
        finally:
            driver.kill()
            driver.wait()
            idle_gc.stop()
            sink.close()
            waker.close()
        true, own = written.timed(Path(said.name))
    return {**result, "p50": true.quantile(0.5), "p99": true.quantile(0.99), "max": true.max,
            "own_p50": own.quantile(0.5)}


def idle_cpu(url: str, push: bool, seconds: float) -> float:
    """Percent of a core the producer uses while the clock it follows stands still (all its threads)."""
    f = Following.open(url, f"{MONDAY}T10:00:00", push, lambda clock: clock.due)
    sink, waker, outbox, idle_gc, env, t0 = f.sink, f.waker, f.outbox, f.idle_gc, f.env, f.t0
    StoreModel(env, 1, (Store(daily_customers=2_000, variation=0.0),), t0, None, Emitter(outbox), window=10)
    env.run_to(t0 + 1)  # the day's draw and the first instant, before measuring
    idle_gc.start()
    used: list[float] = []
    mover = redis.Redis.from_url(url)

    def move() -> None:  # the clock moves after ``seconds``, ending the run
        used.append(time.process_time() - cpu0)
        mover.set("sim:now", dt.datetime.fromtimestamp(t0 + 60, dt.UTC).isoformat())

    cpu0 = time.process_time()
    timer = threading.Timer(seconds, move)
    timer.start()
    try:
        env.run_to(t0 + 60)
    finally:
        timer.join()
        idle_gc.stop()
        sink.close()
        waker.close()
    return 100 * used[0] / seconds


def followed_table(url: str, quick: bool) -> None:
    print("\n(c) CLOCK=redis: reply from Redis - instant sim:now was set to the event's time (by another process,"
          " 5 s steps),\n    the clock polled every 5 ms beside the clock pushed by Redis (client tracking); own p50: "
          "what the producer's\n    lateness metric says (from the read before the change when polled, from the push"
          " when pushed)")
    ref = wakeup_reference()
    print(f"reference, a bare loop waking every 1 ms: p50 {ref.quantile(0.5) * 1e3:.2f} ms, "
          f"p99 {ref.quantile(0.99) * 1e3:.2f} ms, max {ref.max * 1e3:.2f} ms (how busy the machine is now)")
    print(f"{'clock':>7} {'x wall':>8} {'target ev/s':>12} {'measured ev/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'CPU us/ev':>10} {'own p50 ms':>11}")
    plans = [(300.0, [30, 300, 3_000] if not quick else [300]), (3_000.0, [3_000, 10_000] if not quick else [])]
    p50: dict[bool, list[float]] = {False: [], True: []}
    for multiplier, rates in plans:
        for rate in rates:
            daily = int(rate * 86_400 / EVENTS_PER_VISIT / multiplier / (20 / 93 * 6))
            for push in (False, True):
                r = followed_run(url, multiplier, daily, f"{MONDAY}T10:00:00", 1.0, 4.0, push)
                p50[push].append(r["p50"])
                print(f"{'pushed' if push else 'polled':>7} {multiplier:>8,.0f} {rate:>12,} {r['rate']:>14,.0f} "
                      f"{r['p50'] * 1e3:>8.2f} {r['p99'] * 1e3:>8.2f} {r['max'] * 1e3:>8.2f} "
                      f"{r['cpu_us']:>10.1f} {r['own_p50'] * 1e3:>11.2f}", flush=True)
    seconds = 3.0 if quick else 10.0
    polled, pushed = idle_cpu(url, False, seconds), idle_cpu(url, True, seconds)
    print(f"idle, the clock standing still for {seconds:g} s: polled {polled:.2f}% of a core, pushed "
          f"{pushed:.2f}% (target <= 1%)")
    print(f"pushed p50 {max(p50[True]) * 1e3:.2f} ms at worst (target <= 1 ms), polled "
          f"{max(p50[False]) * 1e3:.2f} ms, in the same run")


def wakeup_reference(seconds: float = 2.0, every: float = 0.001) -> Lateness:
    """The floor: how late a bare loop wakes from the same wait (select) on this machine, now."""
    waker, late = Waker(), Lateness()
    due = time.monotonic()
    end = due + seconds
    while due < end:
        due += every
        waker.wait(due - time.monotonic())
        late.add(time.monotonic() - due)
    waker.close()
    return late


def lateness_table(url: str, quick: bool) -> None:
    print("\n(a) lateness: time written - time due, after a warm-up (10:00 on a Monday, no day change)")
    ref = wakeup_reference()
    print(f"reference, a bare loop waking every 1 ms: p50 {ref.quantile(0.5) * 1e3:.2f} ms, "
          f"p99 {ref.quantile(0.99) * 1e3:.2f} ms, max {ref.max * 1e3:.2f} ms")
    print(f"{'SPEED':>8} {'target ev/s':>12} {'measured ev/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'CPU us/ev':>10}")
    plans: list[tuple[float, list[int], float]] = [
        (1, [3, 30, 100] if not quick else [30], 4.0),
        (1_000, [1_000, 5_000, 10_000, 20_000, 40_000, 80_000] if not quick else [20_000, 40_000], 4.0),
        (10_000, [1_000, 5_000, 10_000, 20_000, 40_000, 80_000] if not quick else [20_000, 40_000], 3.0),
        (100_000, [20_000, 40_000], 0.4),
    ]
    at_40k: dict[float, float] = {}
    for speed, rates, measure in plans:
        over = 0
        for rate in rates:
            # The 10:00-14:00 slot of a Monday gets 20/93 of the day in 4 of its 24 hours.
            daily = int(rate * 86_400 / EVENTS_PER_VISIT / speed / (20 / 93 * 6))
            warm = min(1.0, 3_600 / speed) if speed > 1 else 2.0
            r = producer_run(url, speed, daily, f"{MONDAY}T10:00:00", warm, measure)
            print(f"{speed:>8,.0f} {rate:>12,} {r['rate']:>14,.0f} {r['p50'] * 1e3:>8.2f} {r['p99'] * 1e3:>8.2f} "
                  f"{r['max'] * 1e3:>8.2f} {r['cpu_us']:>10.1f}", flush=True)
            if rate == 40_000:
                at_40k[speed] = r["p99"]
            # Stop once p99 passes 10 ms at two rates in a row (one can be another process's noise).
            over = over + 1 if r["p99"] > 0.010 else 0
            if over == 2:
                break
    shown = ", ".join(f"SPEED {speed:,.0f} {p99 * 1e3:.1f} ms" for speed, p99 in at_40k.items() if speed in (1_000, 10_000))
    print(f"p99 at 40,000 events/s: {shown or 'not reached'} (target <= 10 ms; the bare loop's p99 "
          f"{ref.quantile(0.99) * 1e3:.2f} ms, max {ref.max * 1e3:.2f} ms, in the same run)")


def model_backfill(
    url: str, daily: int, stores: tuple[Store, ...] | None = None, layout: StreamLayout | None = None,
) -> tuple[float, float, int]:
    """The SimPy model with every event already due (the catch-up without backfill): (events/s, CPU us, n)."""
    t0 = to_epoch(MONDAY)
    pace = WallClock(t0, 1e12, time.time())
    sink, waker, outbox = open_outbox(url, pace.due, layout)
    idle_gc = IdleGC()
    env = PacedEnvironment(pace, waker, t0, outlet=outbox, gc=idle_gc)
    stores = stores or (Store(daily_customers=daily, variation=0.0),)
    emitter = (attach(env, outbox, 1, stores, t0, t0 + 86_400, 900, t0, True, pace, layout)
               if layout is not None and layout.sensor else Emitter(outbox, rejected=True))
    StoreModel(env, 1, stores, t0, t0 + 86_400, emitter, window=3600)
    idle_gc.start()
    cpu0, wall0 = time.process_time(), time.monotonic()
    env.run_to(t0 + 86_400)
    outbox.flush()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    idle_gc.stop()
    n = sum(outbox.written)
    sink.close()
    waker.close()
    return n / wall, 1e6 * cpu / n, n


def fast_backfill(
    url: str, daily: int, stores: tuple[Store, ...] | None = None, layout: StreamLayout | None = None,
) -> tuple[float, float, int]:
    """A producer a day behind its clock: the backfill path (vectorized or exact engine, pipelines). (events/s, CPU us, n)"""
    sink, waker, outbox = open_outbox(url, layout=layout)
    t0 = to_epoch(MONDAY)
    pace = WallClock(t0, 1.0, time.time() - 86_400 - 10)  # a day and a bit behind
    stores = stores or (Store(daily_customers=daily, variation=0.0),)
    cpu0, wall0 = time.process_time(), time.monotonic()
    n = backfill(1, stores, t0, t0 + 86_400, pace, sink, outbox, layout, rejected=True, interval=900)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    sink.close()
    waker.close()
    return n / wall, 1e6 * cpu / max(n, 1), n


#: A sensor with every kind of error (tests/test_producer_sensor.py's, shorter delays).
SENSOR = Sensor(miss_in=0.05, miss_out=0.08, double_in=0.04, double_out=0.03, delay_median=20, delay_sigma=1.5,
                duplicate=0.05, outages_per_day=6, outage_minutes=45)
SENSOR_LAYOUT = StreamLayout(("bench",), sensor=True)


def sensor_store(daily: int) -> tuple[Store, ...]:
    """A store with a door sensor (five streams)."""
    return (Store(daily_customers=daily, variation=0.0, profile=dataclasses.replace(DEFAULT_PROFILE, sensor=SENSOR)),)


def capacity_store(daily: int) -> tuple[Store, ...]:
    """A store whose capacity binds at its peaks (queue with a 10-minute patience): some wait, some give up."""
    return (Store(daily_customers=daily, variation=0.0, capacity=daily // 30, patience=600),)


def sample_events(n: int) -> list[tuple[bytes, bytes]]:
    """``n`` real (data, key) pairs from the offline engine."""
    out: list[tuple[bytes, bytes]] = []
    for batch in Simulation.of(MONDAY, days=1, seed=1, stores=Store(daily_customers=n)).batches():
        ids = texts(batch.doors.customer_id)
        out += [(line, cid.encode()) for line, cid in zip(batch.doors.json_lines(), ids, strict=True)]
    return out[:n]


def naive_loop(url: str, events: list[tuple[bytes, bytes]]) -> float:
    client = redis.Redis.from_url(url)
    client.delete("naive")
    began = time.monotonic()
    for data, key in events:
        client.xadd("naive", {"data": data, "key": key}, maxlen=20_000, approximate=True)
    return len(events) / (time.monotonic() - began)


def redispy_pipeline(url: str, events: list[tuple[bytes, bytes]]) -> float:
    client = redis.Redis.from_url(url)
    client.delete("pipe")
    began = time.monotonic()
    for i in range(0, len(events), 1000):
        pipe = client.pipeline(transaction=False)
        for j, (data, key) in enumerate(events[i:i + 1000], start=i):
            pipe.xadd("pipe", {"data": data, "key": key}, id=f"{1_700_000_000_000 + j}-0",
                      maxlen=20_000, approximate=True)
        pipe.execute()
    return len(events) / (time.monotonic() - began)


def redis_benchmark(port: int, data: bytes, key: bytes, n: int) -> float:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return float("nan")
    out = subprocess.run(
        [exe, "-p", str(port), "-P", "64", "-n", str(n), "-c", "1", "-q",
         "XADD", "rb", "MAXLEN", "~", "20000", "*", "data", data.decode(), "key", key.decode()],
        capture_output=True, text=True, check=True).stdout
    found = re.findall(r"([\d.]+) requests per second", out)
    return float(found[-1]) if found else float("nan")


def backfill_table(url: str, port: int, quick: bool) -> None:
    print("\n(b) backfill: events/s into Redis, as fast as possible (XADD MAXLEN ~ 20000, one client)")
    daily = 60_000 if quick else 200_000
    rate, cpu_us, n = model_backfill(url, daily)
    fast, fast_cpu, fast_n = fast_backfill(url, daily)
    cap_model, cap_model_cpu, cap_model_n = model_backfill(url, daily, capacity_store(daily))
    cap, cap_cpu, cap_n = fast_backfill(url, daily, capacity_store(daily))
    sen_model, sen_model_cpu, sen_model_n = model_backfill(url, daily, sensor_store(daily), SENSOR_LAYOUT)
    sen, sen_cpu, sen_n = fast_backfill(url, daily, sensor_store(daily), SENSOR_LAYOUT)
    events = sample_events(30_000 if quick else 60_000)
    naive = naive_loop(url, events[:10_000 if quick else 20_000])
    pipe = redispy_pipeline(url, events)
    rb = redis_benchmark(port, events[0][0], events[0][1], 200_000 if quick else 500_000)
    print(f"{'producer backfill (vectorized engine, pipelines)':<52} {fast:>10,.0f}  ({fast_n:,} events, "
          f"{fast_cpu:.1f} us CPU per event)")
    print(f"{'producer catching up with the SimPy model':<52} {rate:>10,.0f}  ({n:,} events, "
          f"{cpu_us:.1f} us CPU per event)")
    print(f"{'redis-benchmark -P 64 XADD (Redis ceiling)':<52} {rb:>10,.0f}")
    print(f"{'redis-py pipeline, 1000 XADD per round trip':<52} {pipe:>10,.0f}")
    print(f"{'naive loop, one XADD per event (old producer)':<52} {naive:>10,.0f}")
    print(f"{'capacity store: backfill (exact engine, pipelines)':<52} {cap:>10,.0f}  ({cap_n:,} events, "
          f"{cap_cpu:.1f} us CPU per event)")
    print(f"{'capacity store: catching up with the SimPy model':<52} {cap_model:>10,.0f}  ({cap_model_n:,} events, "
          f"{cap_model_cpu:.1f} us CPU per event)")
    print(f"{'sensor (5 streams): backfill (pipelines)':<52} {sen:>10,.0f}  ({sen_n:,} entries, "
          f"{sen_cpu:.1f} us CPU per entry)")
    print(f"{'sensor (5 streams): catching up with the SimPy model':<52} {sen_model:>10,.0f}  ({sen_model_n:,} "
          f"entries, {sen_model_cpu:.1f} us CPU per entry)")
    print(f"ratios: backfill / redis-benchmark = {fast / rb:.2f} (target >= 0.33), "
          f"backfill / redis-py pipeline = {fast / pipe:.2f}, SimPy catch-up / redis-benchmark = {rate / rb:.2f}, "
          f"backfill / naive = {fast / naive:.1f}x")
    print(f"capacity store: backfill / redis-benchmark = {cap / rb:.2f}, SimPy catch-up / redis-benchmark = "
          f"{cap_model / rb:.2f}, backfill / SimPy catch-up = {cap / cap_model:.1f}x (before: the catch-up was the model)")
    print(f"sensor: backfill / redis-benchmark = {sen / rb:.2f}, SimPy catch-up / redis-benchmark = "
          f"{sen_model / rb:.2f}, backfill / SimPy catch-up = {sen / sen_model:.1f}x (before: the catch-up was the model)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer points")
    parser.add_argument("--only", choices=["lateness", "backfill", "followed"], default=None)
    args = parser.parse_args()
    server = RedisServer().start()
    try:
        print(f"redis-server on port {server.port} (no persistence); Python {sys.version.split()[0]}")
        if args.only in (None, "backfill"):
            backfill_table(server.url, server.port, args.quick)
        if args.only in (None, "lateness"):
            lateness_table(server.url, args.quick)
        if args.only in (None, "followed"):
            followed_table(server.url, args.quick)
    finally:
        server.close()


if __name__ == "__main__":
    main()
