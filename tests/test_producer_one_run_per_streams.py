"""One run per pair of streams: a lease, atomic run creation, and a standby that takes over exactly.

Both producers talk to a real redis-server; in the race they do so through a
loopback link that delays every byte by 100 ms, where a read-then-write
check would let both believe they created the run.
"""

from __future__ import annotations

import datetime as dt
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
    # Each through a link of its own, held shut until both producers are connecting: on a busy machine
    # one process may start seconds after the other, and a winner that had finished its day by then
    # left the loser a finished run of another seed to refuse (exit 2), not a lease to lose.
    # The day lasts 10 s of wall time (SPEED 8,640): the loser sees the winner alive only when it renews
    # its lease (every third of LEASE_SECONDS, 5 s). At SPEED 1e6 the winner finished its day in 1.7 s
    # on a quiet machine, before renewing: the loser then took the lease over and refused the stored
    # run of another seed (exit 2).
    links = [SlowLink(redis_server.port, 0.100, gated=True) for _ in range(2)]
    try:
        first = watch_producer(links[0].url, *DAY, "--seed", "1", speed="8640")
        second = watch_producer(links[1].url, *DAY, "--seed", "2", speed="8640")
        wait_for(lambda: all(link.connections for link in links))
        for link in links:
            link.open_gate()
        (_, err1), (_, err2) = first.finish(timeout=180), second.finish(timeout=180)
    finally:
        for link in links:
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
    # Both follow a clock the test moves (CLOCK=redis), so the active producer is mid-run when it is
    # killed however long the standby takes to start on a busy machine (at a SPEED it could finish first).
    client = redis.Redis.from_url(redis_server.url)
    day = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)

    def clock(minutes: int) -> None:
        now = day + dt.timedelta(minutes=minutes)
        client.mset({"sim:now": now.isoformat(), "sim:today": now.date().isoformat()})

    clock(0)
    active = watch_producer(redis_server.url, *DAY, "--seed", "9", clock="redis", lease_seconds="1")
    standby = None
    try:
        active.wait_for_log("on the clock")
        standby = watch_producer(redis_server.url, "--days", "1", "--daily-customers", "6000", clock="redis",
                                 standby="1", lease_seconds="1")
        standby.wait_for_log("standby, waiting to take over")
        clock(12 * 60)  # noon: the day's first 5,000 or so door events are due (seed 9), the run half done
        wait_for(lambda: stream_len(client, DOORS) > 3_000, timeout=120)
        active.proc.send_signal(signal.SIGKILL)
        active.finish(timeout=10)
        clock(24 * 60)  # the day's end: the standby writes the rest and exits
        _, err = standby.finish(timeout=120)
        assert standby.proc.returncode == 0, err
        assert "took over lease" in err and "continued run" in err
    finally:  # a failure leaves no producer waiting for a clock that will not move
        for proc in (active, standby):
            if proc is not None and proc.proc.poll() is None:
                proc.proc.kill()
    sessions, doors = offline(tmp_path, "--start", "2025-11-03", "--days", "1", "--daily-customers", "6000",
                              "--seed", "9")
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
