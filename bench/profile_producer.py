"""Where the paced loop spends its time: the live producer at a given rate, under pyinstrument.

Runs the producer in real time against a redis-server this script starts
(as ``bench/bench_producer.py`` does) and prints pyinstrument's call tree of
the measured part. Sleeping shows as ``select`` (the waker's wait); what
remains is the work on the paced loop. Needs the ``bench`` extra
(``pip install -e ".[bench]"``)::

    .venv/bin/python bench/profile_producer.py --speed 1000 --rate 40000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_producer import EVENTS_PER_VISIT, MONDAY, open_outbox  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from producer.live.emitter import Emitter  # noqa: E402
from producer.live.environment import IdleGC, PacedEnvironment  # noqa: E402
from producer.live.pace import WallClock  # noqa: E402
from producer.live.run import window  # noqa: E402
from sim.model import StoreModel  # noqa: E402
from sim.run import to_epoch  # noqa: E402
from sim.store import Store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=1_000)
    parser.add_argument("--rate", type=int, default=40_000, help="events per wall second")
    parser.add_argument("--seconds", type=float, default=4.0, help="wall seconds profiled")
    args = parser.parse_args()
    server = RedisServer().start()
    try:
        t0 = to_epoch(f"{MONDAY}T10:00:00")
        daily = int(args.rate * 86_400 / EVENTS_PER_VISIT / args.speed / (20 / 93 * 6))
        pace = WallClock(t0, args.speed, time.time())
        sink, waker, outbox = open_outbox(server.url, pace.due)
        idle_gc = IdleGC()
        env = PacedEnvironment(pace, waker, t0, outlet=outbox, gc=idle_gc)
        StoreModel(env, 1, (Store(daily_customers=daily, variation=0.0),), t0, None, Emitter(outbox),
                   window=window(args.speed))
        env.run(until=t0 + 1)
        idle_gc.start()
        pace.anchor(time.time() - 1 / args.speed)
        env.run_to(t0 + int(args.speed))  # one wall second of warm-up
        outbox.lateness.reset()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        env.run_to(t0 + int(args.speed * (1 + args.seconds)))
        outbox.flush()
        profiler.stop()
        idle_gc.stop()
        late = outbox.lateness
        print(f"SPEED {args.speed:g}, {args.rate:,} events/s: p50 {late.quantile(0.5) * 1e3:.2f} ms, "
              f"p99 {late.quantile(0.99) * 1e3:.2f} ms, max {late.max * 1e3:.2f} ms")
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        sink.close()
        waker.close()
    finally:
        server.close()


if __name__ == "__main__":
    main()
