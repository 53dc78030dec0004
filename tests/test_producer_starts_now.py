"""Without SIM_START the simulated start is the instant the producer's clock starts.

At ``SPEED=1`` an event dated T must then be written at wall time T (plus
its lateness), however long the first day's draw takes: the first day is
drawn before the start is fixed. Before, the start was fixed first and the
clock anchored after the draw, so every event was written that much late
(2.4 s for 3,000,000 customers a day). Half a million customers a day take
about a second to draw here, ten times the bound below.

The first instant was once written early: the start is the next whole
second, up to 1 s ahead of the wall clock, and its events went out at once
(tests/test_first_instant_on_time.py). The second test reads every XADD as
Redis executed it (``MONITOR``, started before the producer), the first
second's included, against the entry's id (its event's second).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time

import redis

from tests.monitored import monitor_xadds
from tests.producer_run import DOORS, SESSIONS, watch_producer
from tests.redis_server import RedisServer


def test_speed_one_without_a_start_writes_each_event_at_its_own_time(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    proc = watch_producer(redis_server.url, "--daily-customers", "500000", "--seed", "2")
    try:
        proc.wait_for_log("on the clock")
        run = client.hgetall("foot_traffic:run")
        assert float(run[b"wall_start"]) == float(run[b"sim_start"]), "the start is the clock's first instant"
        delays, last = [], {SESSIONS: "$", DOORS: "$"}
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline or len(delays) < 20:
            reply = client.xread(last, block=1000)  # type: ignore[arg-type]
            seen = time.time()
            for name, entries in reply or []:
                for eid, fields in entries:
                    event = json.loads(fields[b"data"])
                    when = event.get("time") or event["entry_time"]
                    delays.append(seen - dt.datetime.fromisoformat(when).timestamp())
                    last[name.decode()] = eid.decode()
            assert time.monotonic() < deadline + 60, "events keep coming"
    finally:
        proc.proc.terminate()
        _, err = proc.finish(timeout=30)
    assert proc.proc.returncode == 0, err
    assert min(delays) >= 0, "nothing is written before its time"
    assert statistics.median(delays) < 0.1, f"written late by a median {statistics.median(delays):.3f} s"


def test_no_entry_reaches_redis_before_its_second(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    # (server time executed, the entry's second), and the XADDs whose id could not be read (asserted empty below)
    adds, unread = monitor_xadds(client)
    proc = watch_producer(redis_server.url, "--daily-customers", "500000", "--seed", "3")
    try:
        proc.wait_for_log("on the clock")
        deadline = time.monotonic() + 60
        while len(adds) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.proc.terminate()
        _, err = proc.finish(timeout=30)
    assert proc.proc.returncode == 0, err
    assert not unread, unread
    assert len(adds) >= 40, f"only {len(adds)} entries written in a minute"
    first = min(second for _, second in adds)
    early = [(second - first, second - at) for at, second in adds if at < second]
    assert not early, f"written before their second (second of the run, seconds early): {early[:5]}"
