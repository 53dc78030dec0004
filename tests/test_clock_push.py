"""The pushed clock in-process, against a real redis-server: told of changes, silent while still.

A :class:`~producer.live.pace.FollowedClock` with a
:class:`~producer.live.clock_push.ClockPush` waits the way the paced
environment does (``waker.wait`` until ``wake_at``). While ``sim:now``
stands still it reads Redis at most once per safety interval (polling would
read it every 5 ms); a change set by another client ends the wait and is
taken from the push, already read; a FLUSHALL (every key invalidated) is
told too.
"""

from __future__ import annotations

import datetime as dt
import time

import redis

from producer.live.environment import Waker
from producer.live.pace import POLL, SAFETY, FollowedClock, Pushed
from producer.live.redis_sink import RedisSink
from tests.producer_run import wait_for
from tests.redis_server import RedisServer

START = dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.UTC)


def test_a_still_clock_is_not_polled_and_a_change_ends_the_wait(redis_server: RedisServer) -> None:
    other = redis.Redis.from_url(redis_server.url)
    other.set("sim:now", START.isoformat())
    sink = RedisSink.connect(redis_server.url, "", 0, 0, ("s", "s:realistic"), 100)
    waker = Waker()
    reads = 0
    direct = sink.clock_reader("sim:now", 0)

    def read() -> bytes | str | None:
        nonlocal reads
        reads += 1
        return direct()

    try:
        push = sink.clock_push("sim:now", 0, waker.nudge, "sim:now")
        assert push is not None
        clock = FollowedClock(read, "sim:now", push=push)
        wait_for(lambda: push.live)
        assert clock.wait_first(waker.wait) == START.timestamp()
        later = START.timestamp() + 5

        def wait_once() -> float:
            """One wait of the paced loop for ``later``; returns how long it slept."""
            began = time.monotonic()
            if clock.due(later) is None:
                waker.wait(clock.wake_at(later) - time.monotonic())
            return time.monotonic() - began

        reads = 0
        began = time.monotonic()
        while time.monotonic() - began < 1.5:
            wait_once()
        still = time.monotonic() - began
        assert reads <= 1 + still / SAFETY, f"{reads} reads in {still:.1f} s of a still clock"
        assert reads < still / POLL / 10

        other.set("sim:now", dt.datetime.fromtimestamp(later, dt.UTC).isoformat())
        deadline = time.monotonic() + 30
        while clock.due(later) is None and time.monotonic() < deadline:
            wait_once()
        assert clock.high == later
        due = clock.due(later)
        assert due is not None and due <= time.monotonic()

        other.flushall()  # every key invalidated: told, and read missing
        taken: list[Pushed | None] = []
        # (A change told after the clock had already read it may come first.)
        wait_for(lambda: taken.append(push.take()) or (taken[-1] is not None and taken[-1].raw is None))
        assert taken[-1] is not None and taken[-1].known
        other.set("sim:now", dt.datetime.fromtimestamp(later + 60, dt.UTC).isoformat())
        wait_for(lambda: clock.due(later + 60) is not None)
    finally:
        sink.close()
        waker.close()
    assert not push.live
