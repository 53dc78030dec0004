"""The wall clock's anchor on the monotonic clock survives a stall between its two readings.

Under load the producer once wrote every event 0.9 s before its time: the
thread stalled between reading the monotonic clock and the wall clock, so the
anchor was off by the stall. A stall is made here by a wall clock that jumps
0.9 s between two readings, once (the real clocks, read by the code as
always, around it).
"""

from __future__ import annotations

import time

import pytest

from producer.live import pace
from producer.live.pace import WallClock, wall_to_monotonic


def test_the_anchor_is_the_wall_instant_on_the_monotonic_clock() -> None:
    wall = time.time() + 5.0
    got = wall_to_monotonic(wall)
    expected = time.monotonic() + (wall - time.time())
    assert abs(got - expected) < 0.005


def test_a_stall_between_the_readings_does_not_move_the_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_time = time.time

    def stalled() -> float:  # the second reading comes 0.9 s late, once
        calls["n"] += 1
        return real_time() + (0.9 if calls["n"] == 2 else 0.0)

    monkeypatch.setattr(pace.time, "time", stalled)
    start = real_time()
    clock = WallClock(sim_start=1_000, speed=1.0, wall_start=start)
    monkeypatch.undo()
    assert calls["n"] > 2  # the stalled pair was read again
    due_now = clock.due(1_000)  # sim_start is due at wall_start, i.e. about now
    assert abs(due_now - (time.monotonic() - (time.time() - start))) < 0.005
