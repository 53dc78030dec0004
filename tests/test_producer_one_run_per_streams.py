"""One run per pair of streams: a lease, atomic run creation, and a standby that takes over exactly.

Both producers talk to a real redis-server; in the race they do so through a
loopback link that delays every byte by 100 ms, where a read-then-write
check would let both believe they created the run.
"""

from __future__ import annotations

import signal
from pathlib import Path

import redis

from tests.producer_run import (
    DOORS,
    SESSIONS,
    offline,
    one_line,
    payloads,
    stream_len,
    wait_for,
    watch_producer,
)
from tests.redis_server import RedisServer
from tests.slow_link import SlowLink

DAY = ("--sim-start", "2025-11-03", "--days", "1", "--daily-customers", "6000")


def test_two_producers_started_together_make_one_run(redis_server: RedisServer, tmp_path: Path) -> None:
    link = SlowLink(redis_server.port, 0.100)
    try:
        first = watch_producer(link.url, *DAY, "--seed", "1", speed="1e6")
        second = watch_producer(link.url, *DAY, "--seed", "2", speed="1e6")
        (_, err1), (_, err2) = first.finish(timeout=180), second.finish(timeout=180)
    finally:
        link.close()
    codes = sorted([first.proc.returncode, second.proc.returncode])
    assert codes == [0, 1], (err1, err2)
    winner_seed = "1" if first.proc.returncode == 0 else "2"
    loser_err = err2 if winner_seed == "1" else err1
    assert "another producer" in one_line(loser_err) and "STANDBY=1" in one_line(loser_err)
    client = redis.Redis.from_url(redis_server.url)
    sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "1", "--daily-customers", "6000",
                              "--seed", winner_seed)
    assert payloads(client, SESSIONS) == sessions and payloads(client, DOORS) == doors
    assert client.hget("foot_traffic:run", "seed") == winner_seed.encode()
    assert not client.exists("foot_traffic:lease"), "released at exit"


def test_a_standby_takes_over_a_killed_producer_exactly(redis_server: RedisServer, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_server.url)
    active = watch_producer(redis_server.url, *DAY, "--seed", "9", speed="15000", lease_seconds="1")
    active.wait_for_log("on the clock")
    standby = watch_producer(redis_server.url, "--days", "1", "--daily-customers", "6000", speed="15000",
                             standby="1", lease_seconds="1")
    standby.wait_for_log("standby, waiting to take over")
    wait_for(lambda: stream_len(client, DOORS) > 3_000)
    active.proc.send_signal(signal.SIGKILL)
    active.finish(timeout=10)
    _, err = standby.finish(timeout=120)
    assert standby.proc.returncode == 0, err
    assert "took over lease" in err and "continued run" in err
    sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "1", "--daily-customers", "6000",
                              "--seed", "9")
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
