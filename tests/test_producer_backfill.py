"""A producer far behind its clock backfills with the vectorized engine: the same entries, byte for byte.

A run is produced for two simulated hours, stopped, and continued after a
pause of a few wall seconds at a high SPEED: the continued run starts
hours behind its clock, writes that stretch with the vectorized engine in
pipelines (``producer.live.backfill``), and hands over to the model. The
streams must equal ``foot-traffic simulate``'s JSONL files for the whole
span, and their ids must be the emitter's ``<ms>-<seq>``.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, read_stream, run_producer
from tests.redis_server import RedisServer

START = "2025-11-03T08:00:00"
ARGS = ("--seed", "5", "--daily-customers", "4000")


def test_a_producer_behind_backfills_the_same_events(redis_server: RedisServer, tmp_path: Path) -> None:
    first = run_producer(redis_server.url, "--sim-start", START, "--until", "2025-11-03T10:00:00", *ARGS,
                         speed="20000")
    assert first.returncode == 0, first.stderr
    assert "backfilled" not in first.stderr
    # The run's clock goes on while no producer runs: 3 wall s are 60,000 simulated seconds at SPEED 20,000.
    time.sleep(3)
    second = run_producer(redis_server.url, "--sim-start", START, "--until", "2025-11-04T12:00:00", *ARGS,
                          speed="20000")
    assert second.returncode == 0, second.stderr
    assert "backfilled" in second.stderr, second.stderr
    assert "continued run" in second.stderr, second.stderr
    sessions, doors = offline(tmp_path, "--start", START, "--until", "2025-11-04T12:00:00", *ARGS)
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 3000
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
    for name in (SESSIONS, DOORS):
        ids = [tuple(int(x) for x in eid.split(b"-")) for eid, _ in read_stream(client, name)]
        expected, previous = [], None
        for ms, _ in ids:
            expected.append((ms, 0 if ms != previous else expected[-1][1] + 1))
            previous = ms
        assert ids == expected, f"{name}: ids are <event ms>-<seq within the ms>"


def test_speed_max_writes_the_span_as_fast_as_redis_takes_it(redis_server: RedisServer, tmp_path: Path) -> None:
    """``--speed max`` (SPEED=1e9): the whole span is due at once, and the backfill writes it; the same events."""
    span = ("--sim-start", "2025-11-03T20:00:00", "--days", "1.5", "--seed", "8", "--daily-customers", "3000")
    done = run_producer(redis_server.url, *span[:4], "--speed", "max", *span[4:])
    assert done.returncode == 0, done.stderr
    assert "backfilled" in done.stderr, done.stderr
    sessions, doors = offline(tmp_path, "--start", *span[1:2], *span[2:])
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 3000
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors


def test_speed_max_needs_an_end(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--speed", "max")
    assert done.returncode == 2, done.stderr
    assert "SPEED=max" in done.stderr and "--days or --until" in done.stderr, done.stderr
