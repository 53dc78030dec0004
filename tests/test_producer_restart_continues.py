"""A restarted producer continues its run: the same event sequence, nothing twice, nothing skipped.

The run's seed and start live in Redis beside the streams (``<stream>:run``),
so the second producer is started *without* SEED or SIM_START and must find
them; it replays the model from the start, skips what the streams hold and
writes the rest, exits of customers who entered before the crash included.
"""

from __future__ import annotations

import signal
from pathlib import Path

import redis

from tests.producer_run import (
    DOORS,
    SESSIONS,
    offline,
    payloads,
    run_producer,
    start_producer,
    stream_len,
    wait_for,
)
from tests.redis_server import RedisServer

TRAFFIC = ("--daily-customers", "10000")


def test_a_killed_producer_restarted_finishes_the_run_exactly(redis_server: RedisServer, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_server.url)
    first = start_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "1", "--seed", "4",
                           *TRAFFIC, speed="40000")
    wait_for(lambda: stream_len(client, DOORS) > 5_000)
    first.send_signal(signal.SIGKILL)  # a crash: no flush, no goodbye
    first.wait(timeout=10)
    written_before = len(payloads(client, DOORS))
    assert client.hget("foot_traffic:run", "seed") == b"4"

    # Neither SEED nor SIM_START: both come from the stored run.
    second = run_producer(redis_server.url, "--days", "1", *TRAFFIC, speed="40000")
    assert second.returncode == 0, second.stderr
    assert "continued run: seed 4, start 2025-11-03T00:00:00+00:00" in second.stderr
    assert "replaying the model from" in second.stderr, "the model need not replay the whole run"

    sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "1", "--seed", "4", *TRAFFIC)
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
    assert 5_000 < written_before < len(doors)


def test_a_finished_run_extended_writes_only_the_new_days(redis_server: RedisServer, tmp_path: Path) -> None:
    one = run_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "1", "--seed", "9",
                       "--daily-customers", "2000", speed="1e6")
    assert one.returncode == 0, one.stderr
    again = run_producer(redis_server.url, "--days", "1", "--daily-customers", "2000", speed="1e6")
    assert again.returncode == 0, again.stderr
    assert "0 sessions and 0 door events written" in again.stderr, "a finished run is not written twice"
    more = run_producer(redis_server.url, "--days", "3", "--daily-customers", "2000", speed="1e6")
    assert more.returncode == 0, more.stderr
    client = redis.Redis.from_url(redis_server.url)
    sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "3", "--seed", "9",
                              "--daily-customers", "2000")
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
