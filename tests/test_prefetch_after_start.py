"""The arrival feed draws a store's next day ahead, but not while a live run's clock waits for its first step.

A live run's first hand-out is made before its clock starts. With the next
day drawn ahead from the first hand-out on, a chain's start drew two days per
store (2,000 next days in the background beside the 2,000 first ones: the
start took twice as long). Now the next day is drawn from :data:`AHEAD`
simulated seconds before the day ends, on the thread ahead, never in the first
hand-out; and what is drawn ahead is used: the main thread draws each day once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sim import sampling
from sim.run import to_epoch
from sim.sampling import AHEAD, ArrivalFeed
from sim.store import Store


def test_the_next_days_are_drawn_ahead_only_after_the_first_hand_out(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[tuple[str, int]] = []  # (thread, store index) of every day drawn
    real = sampling.draw_day

    def counted(seed: int, store: Store, index: int, day: Any) -> Any:
        draws.append((threading.current_thread().name, index))
        return real(seed, store, index, day)

    monkeypatch.setattr(sampling, "draw_day", counted)
    stores = tuple(Store(store_id=f"s{i}", baseline=3000) for i in range(3))
    noon = to_epoch("2025-11-03T12:00:00")
    midnight = to_epoch("2025-11-04T00:00:00")
    feed = ArrivalFeed(1, stores, noon, noon + 3 * 86_400, prefetch=True)
    feed.take(midnight - 12 * 3600 + 10)
    assert [thread for thread, _ in draws] == ["MainThread"] * 3, "the first hand-out draws the first days only"
    feed.take(midnight - AHEAD - 10)
    assert len(draws) == 3, "nothing is drawn ahead before the day's last AHEAD seconds"
    feed.take(midnight - AHEAD + 10)
    deadline = time.monotonic() + 60
    while len(draws) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(index for thread, index in draws[3:] if thread.startswith("draw")) == [0, 1, 2]
    feed.take(midnight + 3600)
    assert [thread for thread, _ in draws].count("MainThread") == 3, "the days drawn ahead are the ones used"
