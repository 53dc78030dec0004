"""The live producer keeps its promise under Redis's refusals, foreign writers and lost data.

Each test runs the producer against a real redis-server that the test
misconfigures, restarts or writes to, and ends by comparing both streams
with the offline run for the same seed: nothing lost, nothing doubled, in
order. Where continuing would lose events, the producer must stop with one
line and exit 1 instead.
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
    one_line,
    payloads,
    run_producer,
    stream_len,
    wait_for,
    watch_producer,
)
from tests.redis_server import RedisServer

SPAN = ("--sim-start", "2025-11-03", "--days", "1", "--seed", "31", "--daily-customers", "12000")
OFFLINE = ("--start", "2025-11-03", "--days", "1", "--seed", "31", "--daily-customers", "12000")


def assert_complete(url: str, tmp_path: Path) -> None:
    sessions, doors = offline(tmp_path, *OFFLINE)
    client = redis.Redis.from_url(url)
    got_sessions, got_doors = payloads(client, SESSIONS), payloads(client, DOORS)
    assert len(got_sessions) == len(sessions) and len(got_doors) == len(doors)
    assert got_sessions == sessions and got_doors == doors


@pytest.mark.parametrize("refusal,speed", [("OOM", "20000"), ("READONLY", "20000"), ("OOM", "1e6")],
                         ids=["OOM", "READONLY", "OOM-while-catching-up"])
def test_a_refusal_for_now_is_waited_out(tmp_path: Path, refusal: str, speed: str) -> None:
    """maxmemory reached, or a replica: the producer buffers and retries, then writes everything.

    Catching up (every event already due), batches are left in flight unconfirmed: the refusal
    shows only in the replies, and must still count as Redis refusing, once, with backoff.
    """
    server = RedisServer(extra=["--maxmemory-policy", "noeviction"]).start()
    try:
        admin = redis.Redis.from_url(server.url)
        if refusal == "OOM":
            admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 2_000_000)
        proc = watch_producer(server.url, *SPAN, speed=speed)
        if refusal == "READONLY":
            wait_for(lambda: stream_len(admin, DOORS) > 4_000)
            admin.replicaof("127.0.0.1", "1")  # a replica of nothing: read-only, data kept
        proc.wait_for_log("refuses writes for now")
        time.sleep(5)  # the condition lasts 5 s (the test's choice, not a guess at the producer)
        assert proc.proc.poll() is None, proc.stderr
        if refusal == "OOM":
            admin.config_set("maxmemory", 0)
        else:
            admin.replicaof("no", "one")
        _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        assert err.count("refuses writes for now") == 1, "once per episode"
        assert ("OOM" if refusal == "OOM" else "READONLY") in err
        assert_complete(server.url, tmp_path)
    finally:
        server.close()


def test_a_foreign_entry_mid_run_stops_the_run_with_one_line(redis_server: RedisServer) -> None:
    """Another program appends with XADD *: its id is above the run's, so the run must not go on."""
    client = redis.Redis.from_url(redis_server.url)
    proc = watch_producer(redis_server.url, *SPAN, speed="20000")
    wait_for(lambda: stream_len(client, SESSIONS) > 2_000)
    foreign = client.xadd(SESSIONS, {"data": '{"event_type": "foot_traffic"}', "key": "old-producer"}).decode()
    _, err = proc.finish(timeout=60)
    assert proc.proc.returncode == 1, err
    line = one_line(err)
    assert f"stream {SESSIONS} holds entry" in line and "--fresh" in line
    assert foreign in line or "not this run's" in line


def test_a_foreign_top_is_found_at_start(redis_server: RedisServer) -> None:
    """A run continued over streams whose newest entry another program wrote: one line, exit 1."""
    client = redis.Redis.from_url(redis_server.url)
    short = ("--sim-start", "2025-11-03", "--days", "0.25", "--seed", "31", "--daily-customers", "2000")
    assert run_producer(redis_server.url, *short, speed="1e6").returncode == 0
    foreign = client.xadd(DOORS, {"data": "{}", "key": "x"}).decode()
    again = run_producer(redis_server.url, "--days", "0.5", "--daily-customers", "2000", speed="1e6")
    assert again.returncode == 1, again.stderr
    line = one_line(again.stderr)
    assert f"stream {DOORS} holds entry {foreign}" in line and "not its event's time" in line


@pytest.mark.parametrize("snapshot", ["older", "empty"])
def test_entries_redis_lost_are_written_again(tmp_path: Path, snapshot: str) -> None:
    """Redis restarted from an older snapshot, or empty: the lost entries come back, in order."""
    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url)
        proc = watch_producer(server.url, *SPAN, speed="20000")
        wait_for(lambda: stream_len(client, DOORS) > 5_000)
        if snapshot == "older":
            client.save()  # dump.rdb as of now ...
        wait_for(lambda: stream_len(client, DOORS) > 15_000)  # ... then more is acknowledged
        server.stop()
        if snapshot == "empty":
            (server.dir / "dump.rdb").unlink(missing_ok=True)
        server.start()  # loads dump.rdb if there is one
        _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        assert "lost entries of stream" in err and "writing them again" in err
        assert_complete(server.url, tmp_path)
        assert redis.Redis.from_url(server.url).hget("foot_traffic:run", "seed") == b"31", "the run record too"
    finally:
        server.close()


def test_flipping_write_rejected_on_restart_is_refused(redis_server: RedisServer) -> None:
    """WRITE_REJECTED shifts the door stream's ids: a restart that flips it would skip or mix events."""
    capped = ("--sim-start", "2025-11-03", "--days", "0.25", "--seed", "3", "--daily-customers", "3000",
              "--store-capacity", "5", "--capacity-mode", "loss")
    assert run_producer(redis_server.url, *capped, speed="1e6").returncode == 0
    again = run_producer(redis_server.url, *capped[2:], "--write-rejected", speed="1e6")
    assert again.returncode == 2
    line = one_line(again.stderr)
    assert "WRITE_REJECTED=true differs from the stored run's WRITE_REJECTED=false" in line and "--fresh" in line
