"""SIGTERM (and SIGINT, SIGHUP) end the producer within seconds, exit 0, with nothing due left unwritten.

The producer runs with no end at a pace where events are due continuously;
after a stop each stream must be an exact prefix of the offline run (in
order, nothing doubled), and the two streams must agree on where the run
stopped: every door event up to the last session written is there, and
every session up to the last door event.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, start_producer, stream_len, wait_for
from tests.redis_server import RedisServer

ARGS = ("--seed", "8", "--daily-customers", "20000")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_signal_flushes_what_is_due_and_exits_0(
    redis_server: RedisServer, tmp_path: Path, sig: signal.Signals,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    proc = start_producer(redis_server.url, "--sim-start", "2025-11-05", *ARGS, speed="3600")
    wait_for(lambda: stream_len(client, SESSIONS) > 200)
    proc.send_signal(sig)
    began = time.monotonic()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    assert time.monotonic() - began < 10  # the timeout above is the real bound
    assert "stopped at" in err and "NOT written" not in err

    sessions, doors = offline(tmp_path, "--start", "2025-11-05", "--days", "1", *ARGS)
    got_sessions, got_doors = payloads(client, SESSIONS), payloads(client, DOORS)
    assert 200 < len(got_sessions) < len(sessions)
    assert got_sessions == sessions[: len(got_sessions)]
    assert got_doors == doors[: len(got_doors)]
    # Both streams stop at the same simulated instant (give or take that instant's events).
    last_session = orjson.loads(got_sessions[-1])["entry_time"]
    last_door = orjson.loads(got_doors[-1])["time"]
    door_times = [orjson.loads(d)["time"] for d in doors]
    session_times = [orjson.loads(s)["entry_time"] for s in sessions]
    assert got_doors == doors[: sum(1 for t in door_times if t <= max(last_session, last_door))]
    assert got_sessions == sessions[: sum(1 for t in session_times if t <= max(last_session, last_door))]


@pytest.mark.parametrize("second", [False, True], ids=["SIGTERM", "SIGTERM-then-SIGINT-twice"])
def test_a_frozen_redis_does_not_hold_up_a_stop(redis_server: RedisServer, second: bool) -> None:
    """Redis SIGSTOPped mid-run: SIGTERM still ends the producer within 5 s (exit 1: entries left for a restart);
    a second SIGINT ends it at once with 130."""
    client = redis.Redis.from_url(redis_server.url)
    proc = start_producer(redis_server.url, "--sim-start", "2025-11-05", *ARGS, speed="3600")
    wait_for(lambda: stream_len(client, SESSIONS) > 200)
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # writes are now hanging on a server that answers nothing
        began = time.monotonic()
        if second:
            proc.send_signal(signal.SIGINT)
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("the producer did not end within 5 s of the stop signal") from None
        took = time.monotonic() - began
        if second:
            assert proc.returncode == 130, err
            assert "received SIGINT again: exiting at once" in err and took < 2.5
        else:
            assert proc.returncode == 1, err
            assert "not written" in err and "a restart with the same settings writes them" in err
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
