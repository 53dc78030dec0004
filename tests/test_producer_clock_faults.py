"""``CLOCK=redis`` meets a clock that is garbage or far ahead, a Redis that restarts or refuses the push.

Each test runs the real producer (``python -m producer``) following a
``sim:now`` the test sets itself, on a redis-server of its own:

- values no run can reach (year 1 at +14:00, year 9999 at -14:00), text that
  is no time (``abc``, empty) and a key of the wrong type (a list) are each
  held with one warning, nothing is written past the time held, the clock is
  followed again once it is good, and the streams end equal to the offline
  run, with no traceback anywhere;
- on an open-ended run, ``sim:now`` set to 9999-12-31T23:59:59+00:00 (outside
  the supported dates) and then ten days ahead (beyond ``CLOCK_MAX_JUMP``, a
  day by default) writes nothing beyond the intended window; when the clock
  comes back the run goes on, an exact prefix of the offline run;
- redis-server restarted mid-run: the pushed clock is back (the server lists
  a tracking connection again) and the run ends exact;
- an ACL user that may not SUBSCRIBE: one warning, the clock is polled, and
  the run ends exact; given ``+subscribe &__redis__:invalidate`` (what
  docs/clock.md says), the clock is pushed;
- Redis frozen (SIGSTOP): the push finds it silent, and a stop is not held up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.producer_run import DOORS, SESSIONS, Watched, offline, payloads, wait_for, watch_producer
from tests.redis_server import RedisServer

START = dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.UTC)
TRAFFIC = ("--seed", "12", "--daily-customers", "12000")


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def last_time(client: redis.Redis, stream: str) -> float:
    """The simulated time of a stream's newest entry (0 when empty): its id is the event time in ms."""
    newest = client.xrevrange(stream, count=1)
    return int(newest[0][0].split(b"-")[0]) / 1000 if newest else 0.0


def latest_event(client: redis.Redis) -> float:
    """The latest event time in either stream (a session's end is its exit, a door event's its time)."""
    high = 0.0
    for _, fields in client.xrevrange(DOORS, count=1):
        high = max(high, dt.datetime.fromisoformat(json.loads(fields[b"data"])["time"]).timestamp())
    return max(high, last_time(client, SESSIONS), last_time(client, DOORS))


def wait_for_count(proc: Watched, text: str, n: int) -> None:
    wait_for(lambda: proc.stderr.count(text) >= n or proc.proc.poll() is not None, timeout=60)
    assert proc.stderr.count(text) >= n, proc.stderr


def tracking_clients(client: redis.Redis) -> list[dict[str, object]]:
    """The server's connections with client tracking on in broadcasting mode (flags t and B)."""
    return [c for c in client.client_list() if "t" in str(c["flags"]) and "B" in str(c["flags"])]


@contextlib.contextmanager
def own_server(*extra: str) -> Iterator[RedisServer]:
    """A redis-server of the test's own (one it restarts), closed on the way out."""
    server = RedisServer(extra=list(extra)).start()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def producer(url: str, *args: str, **settings: object) -> Iterator[Watched]:
    """A watched producer, killed on the way out if it still runs: a failed assertion leaves no producer behind."""
    proc = watch_producer(url, *args, **settings)
    try:
        yield proc
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(timeout=10)


def assert_exact(client: redis.Redis, tmp_path: Path, end: dt.datetime) -> None:
    """The streams hold exactly the offline run's events from START to ``end``."""
    sessions, doors = offline(tmp_path, "--start", iso(START), "--until", iso(end), *TRAFFIC)
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors


def test_values_no_run_can_reach_are_held_with_one_warning_each(tmp_path: Path) -> None:
    with own_server() as server:
        clock = redis.Redis.from_url(server.url)
        end = START + dt.timedelta(hours=3)
        clock.set("sim:now", iso(START))
        with producer(server.url, "--until", iso(end), *TRAFFIC, clock="redis") as proc:
            proc.wait_for_log("on the clock")
            held = START
            bad: list[tuple[str | None, str]] = [
                ("0001-01-01T00:00:00+14:00", "is outside the supported dates"),
                ("9999-12-31T23:59:59-14:00", "is outside the supported dates"),
                ("abc", "is not an ISO time"),
                ("", "is not an ISO time"),
                (None, "cannot be read (WRONGTYPE"),  # a list where the time should be
            ]
            seen: dict[str, int] = {}
            for i, (value, warning) in enumerate(bad, start=1):
                held += dt.timedelta(minutes=20)
                clock.set("sim:now", iso(held))
                if value is None:
                    clock.delete("sim:now")
                    clock.rpush("sim:now", iso(end))
                else:
                    clock.set("sim:now", value)
                seen[warning] = seen.get(warning, 0) + 1
                wait_for_count(proc, warning, seen[warning])
                assert latest_event(clock) <= held.timestamp(), f"written past the time held at {value!r}"
                clock.set("sim:now", iso(held + dt.timedelta(seconds=30)))
                wait_for_count(proc, "following it again", i)
            clock.set("sim:now", iso(end))
            _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        for warning, n in seen.items():
            assert err.count(warning) == n, err  # one warning each, however often it was read
        assert "Traceback" not in err, err
        assert_exact(clock, tmp_path, end)


def test_a_far_jump_is_held_and_the_run_goes_on_exact(tmp_path: Path) -> None:
    with own_server() as server:
        clock = redis.Redis.from_url(server.url)
        clock.set("sim:now", iso(START))
        with producer(server.url, *TRAFFIC, clock="redis") as proc:  # open-ended: no --days, no --until
            proc.wait_for_log("on the clock")
            held = START + dt.timedelta(minutes=30)
            clock.set("sim:now", iso(held))
            wait_for(lambda: latest_event(clock) >= held.timestamp() - 600)  # an event in the last ten minutes: written up to about there
            clock.set("sim:now", "9999-12-31T23:59:59+00:00")
            proc.wait_for_log("is outside the supported dates")
            far = START + dt.timedelta(days=10)
            clock.set("sim:now", iso(far))
            proc.wait_for_log("CLOCK_MAX_JUMP=86400")
            assert iso(far) in proc.stderr
            assert latest_event(clock) <= held.timestamp(), "nothing beyond the intended window"
            back = held + dt.timedelta(minutes=30)
            clock.set("sim:now", iso(back))
            wait_for(lambda: latest_event(clock) >= back.timestamp() - 600)  # an event in the last ten minutes: written up to about there
            proc.proc.terminate()
            _, err = proc.finish(timeout=60)
        assert proc.proc.returncode == 0, err
        assert err.count("is outside the supported dates") == 1 and err.count("more than CLOCK_MAX_JUMP") == 1, err
        assert "Traceback" not in err, err
        assert latest_event(clock) <= back.timestamp()
        sessions, doors = offline(tmp_path, "--start", iso(START), "--until", iso(back + dt.timedelta(hours=2)),
                                  *TRAFFIC)
        got_sessions, got_doors = payloads(clock, SESSIONS), payloads(clock, DOORS)
        assert len(got_doors) > 100 and got_doors == doors[:len(got_doors)]
        assert got_sessions == sessions[:len(got_sessions)]


def test_the_pushed_clock_comes_back_after_redis_restarts(tmp_path: Path) -> None:
    with own_server("--appendonly", "yes", "--appendfsync", "always") as server:
        clock = redis.Redis.from_url(server.url)
        end = START + dt.timedelta(hours=2)
        clock.set("sim:now", iso(START))
        with producer(server.url, "--until", iso(end), *TRAFFIC, clock="redis") as proc:
            proc.wait_for_log("on the clock")
            wait_for(lambda: len(tracking_clients(clock)) == 1)
            half = START + dt.timedelta(hours=1)
            clock.set("sim:now", iso(half))
            wait_for(lambda: latest_event(clock) >= half.timestamp() - 600)  # an event in the last ten minutes: written up to about there
            server.restart(down_for=0.5)
            proc.wait_for_log("the push connection is back")
            clock = redis.Redis.from_url(server.url)
            assert len(tracking_clients(clock)) == 1
            clock.set("sim:now", iso(end))
            _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        assert "Traceback" not in err, err
        assert_exact(clock, tmp_path, end)


def _acl_user(admin: redis.Redis, port: int, *more: str) -> str:
    """The README's minimal ACL user (plus ``more`` rules); the producer's URL as that user."""
    from tests.test_redis_auth import ACL_COMMANDS

    admin.execute_command("ACL", "SETUSER", "producer", "on", ">pw-123", "resetkeys", "~foot_traffic*", "~sim:*",
                          *ACL_COMMANDS.split(), *more)
    return f"redis://producer:pw-123@127.0.0.1:{port}/0"


def test_a_server_that_refuses_the_push_is_polled(tmp_path: Path, redis_server: RedisServer) -> None:
    """An ACL user without SUBSCRIBE (the README's minimal ACL): one warning, the clock polled, the run exact."""
    admin = redis.Redis.from_url(redis_server.url)
    url = _acl_user(admin, redis_server.port)
    end = START + dt.timedelta(hours=1)
    admin.set("sim:now", iso(START))
    with producer(url, "--until", iso(end), *TRAFFIC, clock="redis") as proc:
        proc.wait_for_log("on the clock")  # started at START
        proc.wait_for_log("refuses client tracking")
        assert not tracking_clients(admin)
        half = START + dt.timedelta(minutes=30)
        admin.set("sim:now", iso(half))
        try:
            wait_for(lambda: latest_event(admin) >= half.timestamp() - 600)  # followed by polling
        except AssertionError:
            raise AssertionError(f"the clock was not followed:\n{proc.stderr}") from None
        admin.set("sim:now", iso(end))
        _, err = proc.finish(timeout=120)
    assert proc.proc.returncode == 0, err
    assert err.count("refuses client tracking") == 1 and "Traceback" not in err, err
    assert_exact(admin, tmp_path, end)


def test_a_malformed_clock_max_jump_is_one_line(redis_server: RedisServer) -> None:
    from tests.producer_run import one_line, run_producer

    done = run_producer(redis_server.url, "--days", "1", clock="redis", clock_max_jump="-5")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "CLOCK_MAX_JUMP" in line and "0 to 34,712,668,800" in line, line


def test_the_acl_docs_clock_md_gives_is_enough_for_the_push(tmp_path: Path, redis_server: RedisServer) -> None:
    """The README's ACL plus ``+subscribe &__redis__:invalidate`` (docs/clock.md): the clock is pushed."""
    admin = redis.Redis.from_url(redis_server.url)
    url = _acl_user(admin, redis_server.port, "+subscribe", "resetchannels", "&__redis__:invalidate")
    end = START + dt.timedelta(hours=1)
    admin.set("sim:now", iso(START))
    with producer(url, "--until", iso(end), *TRAFFIC, clock="redis") as proc:
        proc.wait_for_log("on the clock")
        wait_for(lambda: len(tracking_clients(admin)) == 1)
        admin.set("sim:now", iso(end))
        _, err = proc.finish(timeout=120)
    assert proc.proc.returncode == 0, err
    assert "refuses" not in err and "Traceback" not in err, err
    assert_exact(admin, tmp_path, end)


def test_a_frozen_redis_ends_the_push_and_does_not_hold_up_a_stop(redis_server: RedisServer) -> None:
    """Redis SIGSTOPped: the push's probe finds it silent (said once); SIGTERM still ends the producer in 5 s."""
    client = redis.Redis.from_url(redis_server.url)
    client.set("sim:now", iso(START))
    assert redis_server.proc is not None
    with producer(redis_server.url, *TRAFFIC, clock="redis") as proc:
        try:
            proc.wait_for_log("on the clock")
            wait_for(lambda: len(tracking_clients(client)) == 1)
            redis_server.proc.send_signal(signal.SIGSTOP)
            proc.wait_for_log("the push connection is lost")  # no reply to its probe
            began = time.monotonic()
            proc.proc.send_signal(signal.SIGTERM)
            wait_for(lambda: proc.proc.poll() is not None, timeout=5)
            took = time.monotonic() - began
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
    _, err = proc.finish(timeout=10)
    assert proc.proc.returncode in (0, 1) and took < 5, err
    assert err.count("the push connection is lost") == 1 and "Traceback" not in err, err
