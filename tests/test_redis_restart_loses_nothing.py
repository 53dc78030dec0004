"""Redis killed and restarted mid-run: every event reaches the streams exactly once.

The server runs with an append-only file fsynced on every write, as a
production Redis that must not forget would; the test SIGKILLs it (a crash)
while the producer is writing at a high SPEED, keeps it down for a moment and
starts it again on the same port. The producer buffers meanwhile (or, with a
small buffer, pauses the simulation: back-pressure), reconnects, skips what
Redis already holds and writes the rest. Afterwards both streams must equal
the offline run line for line: nothing lost, nothing doubled, in order.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from tests.producer_run import (
    DOORS,
    SESSIONS,
    offline,
    payloads,
    start_producer,
    stream_len,
    wait_for,
    watch_producer,
)
from tests.redis_server import RedisServer

PERSISTENT = ["--appendonly", "yes", "--appendfsync", "always"]
SPAN = ("--days", "1", "--seed", "21", "--daily-customers", "12000")


@pytest.mark.parametrize("buffer_max", ["1000000", "500"], ids=["buffered", "back-pressure"])
def test_redis_crash_mid_run_loses_and_doubles_nothing(tmp_path: Path, buffer_max: str) -> None:
    server = RedisServer(extra=PERSISTENT).start()
    try:
        client = redis.Redis.from_url(server.url)
        # ~36,000 entries over a simulated day in about 1.5 s of wall time.
        proc = start_producer(server.url, "--sim-start", "2025-11-03", *SPAN, speed="60000", buffer_max=buffer_max, log_level="INFO")
        wait_for(lambda: stream_len(client, DOORS) > 8_000)
        server.stop()  # SIGKILL
        time.sleep(0.5)
        server.start()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "lost Redis" in err
        if buffer_max == "500":
            assert "the buffer is full" in err, "the simulation waited for Redis"
        sessions, doors = offline(tmp_path, "--start", "2025-11-03", *SPAN)
        client = redis.Redis.from_url(server.url)
        got_sessions, got_doors = payloads(client, SESSIONS), payloads(client, DOORS)
        assert len(got_sessions) == len(sessions) and len(got_doors) == len(doors)
        assert got_sessions == sessions
        assert got_doors == doors
    finally:
        server.close()


def test_redis_not_there_yet_at_start_the_simulation_waits(tmp_path: Path) -> None:
    server = RedisServer()  # a free port, nothing listening yet
    try:
        proc = watch_producer(server.url, "--sim-start", "2025-11-03", "--days", "0.5", "--seed", "3",
                              "--daily-customers", "2000", speed="1e6")
        proc.wait_for_log("retrying in")  # it tried, found nothing, and keeps trying
        assert proc.proc.poll() is None, "it keeps trying"
        server.start()
        _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        assert "is unreachable" in err
        sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "0.5", "--seed", "3",
                                  "--daily-customers", "2000")
        client = redis.Redis.from_url(server.url)
        assert payloads(client, SESSIONS) == sessions
        assert payloads(client, DOORS) == doors
    finally:
        server.close()
