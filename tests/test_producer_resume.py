"""Where a restarted run's model starts: late enough to skip the past, early enough to be exact."""

from __future__ import annotations

import numpy as np

from producer.live.resume import MARGIN, longest_dwell, model_start
from sim.dwell import DEFAULT_DWELL, DwellBySlot, MixtureDwell, UniformBand
from sim.store import Store

DAY = 86_400


class Unbounded:
    """A dwell with no longest value (geometric tail)."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.geometric(0.05, n).astype(np.int64)

    def mean_minutes(self) -> float:
        return 20.0

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        return np.power(0.95, np.asarray(minutes, dtype=float))


def test_the_default_dwell_is_at_most_75_minutes() -> None:
    assert longest_dwell([Store()]) == 75 * 60
    assert DEFAULT_DWELL.survival(np.array([74, 75]))[1] == 0 < DEFAULT_DWELL.survival(np.array([74]))[0]


def test_the_model_starts_a_dwell_and_a_margin_before_the_earlier_stream_end() -> None:
    start = 1_762_128_000
    ends = [((start + 2 * DAY) * 1000, 3), ((start + DAY) * 1000, 0)]
    assert model_start(start, ends, [Store()]) == start + DAY - 75 * 60 - MARGIN


def test_no_shortcut_without_a_bound_or_before_the_start() -> None:
    start = 1_762_128_000
    ends = [((start + 2 * DAY) * 1000, 0)] * 2
    assert model_start(start, ends, [Store(dwell=Unbounded())]) == start
    assert model_start(start, [(0, 0), ((start + DAY) * 1000, 0)], [Store()]) == start
    assert model_start(start, [((start + 60) * 1000, 0)] * 2, [Store()]) == start


def test_a_dwell_by_slot_is_bounded_by_its_longest_model() -> None:
    long = MixtureDwell(shares=(1.0,), bands=(UniformBand(100, 200),))
    grid = tuple(tuple(long if (d, s) == (5, 3) else DEFAULT_DWELL for s in range(6)) for d in range(7))
    assert longest_dwell([Store(dwell=DwellBySlot(default=DEFAULT_DWELL, grid=grid))]) == 200 * 60
