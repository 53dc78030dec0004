"""A stand-in for the pipeline's clock service, to try ``CLOCK=redis`` without the pipeline.

It keeps ``sim:now`` (an ISO time) and ``sim:today`` (its date) in a Redis, advanced in
steps of ``--step`` simulated seconds at ``--speed`` times wall speed, from ``--start`` until
``--until`` (then it exits 0). A producer started with ``CLOCK=redis`` on the same Redis writes
each event once this clock has passed its time. Base install only (redis-py)::

    python examples/clock_driver.py --redis-url redis://127.0.0.1:6390/0 \\
        --start 2025-11-03T09:00:00 --until 2025-11-03T10:00:00 --speed 600
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import redis


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def drive(client: redis.Redis, start: datetime, until: datetime, step: float, speed: float,
          key: str = "sim:now") -> None:
    """Advance ``key`` from ``start`` to ``until`` in steps of ``step`` simulated seconds, paced at ``speed``."""
    now = start
    began = time.monotonic()
    while True:
        client.set(key, now.isoformat(timespec="seconds"))
        client.set("sim:today", now.date().isoformat())
        if now >= until:
            return
        now = min(now + timedelta(seconds=step), until)
        due = began + (now - start).total_seconds() / speed
        time.sleep(max(0.0, due - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True, help="the Redis holding the clock, redis://HOST:PORT/DB")
    parser.add_argument("--start", type=_utc, required=True, help="the first simulated time (ISO; UTC if no offset)")
    parser.add_argument("--until", type=_utc, required=True, help="the last simulated time: exit when reached")
    parser.add_argument("--step", type=float, default=5.0, help="simulated seconds per step (default 5)")
    parser.add_argument("--speed", type=float, default=300.0, help="simulated seconds per wall second (default 300)")
    parser.add_argument("--key", default="sim:now", help="the clock's key (default sim:now, as CLOCK_KEY)")
    args = parser.parse_args()
    if args.until < args.start or args.step <= 0 or args.speed <= 0:
        parser.error("--until must not be before --start, and --step and --speed must be above 0")
    drive(redis.Redis.from_url(args.redis_url), args.start, args.until, args.step, args.speed, args.key)


if __name__ == "__main__":
    main()
