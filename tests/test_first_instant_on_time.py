"""The run's first instant is written when it is due, not when the environment starts.

Without SIM_START a new run starts at the next whole second
(``ceil(time.time())``), up to a second ahead of the wall clock. The paced
environment's hot path ("more of the current instant") processed every
event at ``now`` at once, and the first instant is ``now`` before anything
was paced: its events were written up to 1 s early (a new user's run of the
suite saw ``-0.757 >= 0`` in test_producer_starts_now under load, where the
start-up takes long enough for the first second's events to be read).

Here the start instant is made due 0.4 s after the environment starts (a
start second ahead of the wall clock, as ``ceil`` makes it), with events at
that instant and the next; each must be processed at or after its due time.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from producer.live.environment import PacedEnvironment, Waker
from producer.live.pace import WallClock

START = 1_800_000_000
AHEAD = 0.4  # seconds the start instant lies ahead of the wall clock when the run begins


def test_events_at_the_start_instant_wait_until_it_is_due() -> None:
    pace = WallClock(START, 1.0, time.time() + AHEAD)
    waker = Waker()
    env = PacedEnvironment(pace, waker, now=START)
    seen: list[tuple[float, float]] = []  # (simulated time, monotonic time processed)

    def customers() -> Generator[Any, Any, None]:
        for _ in range(3):  # three events at the start instant: the hot path's case
            seen.append((env.now, time.monotonic()))
            yield env.timeout(0)
        yield env.timeout(1)
        seen.append((env.now, time.monotonic()))

    env.process(customers())
    try:
        env.run_to(START + 2)
    finally:
        waker.close()
    assert [t for t, _ in seen] == [START, START, START, START + 1]
    early = [(t, pace.due(t) - at) for t, at in seen if at < pace.due(t)]
    assert not early, f"processed before due (simulated time, seconds early): {early}"


def test_a_restarted_run_whose_start_is_past_goes_at_once() -> None:
    """The other side: an instant already due is not waited for (a restart replays at once)."""
    pace = WallClock(START, 1.0, time.time() - 3600)
    waker = Waker()
    env = PacedEnvironment(pace, waker, now=START)
    seen: list[float] = []

    def customer() -> Generator[Any, Any, None]:
        seen.append(time.monotonic())
        yield env.timeout(0)

    env.process(customer())
    began = time.monotonic()
    try:
        env.run_to(START + 1)
    finally:
        waker.close()
    assert len(seen) == 1
    assert seen[0] >= pace.due(START)
    assert seen[0] - began < 30, "an instant due an hour ago is not waited for"
