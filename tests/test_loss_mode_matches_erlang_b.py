"""Loss mode: the share of customers turned away is Erlang B's.

A store with ``capacity`` places, Poisson arrivals at rate lambda (a flat
profile, no day-to-day noise) and any dwell distribution of mean 1/mu is an
M/G/c/c loss system: the share of arrivals that find it full is Erlang B's
formula for the offered load A = lambda / mu, whatever the dwell's shape.
So it is checked for three (capacity, load) pairs and two dwell distributions
with the same 30-minute mean: a fixed 30 minutes and uniform 1..59 minutes.

Estimate: the run's first day is a warm-up (the store opens empty) and is
dropped; the other days are batches. The share is the ratio of sums over
days, its standard error from the spread of the daily batches (ratio
estimator, delta method). Accepted within 4 standard errors: two-sided level
6.3e-5 per check, below 4e-4 for the six checks together (Bonferroni).
Each check runs on the exact event engine and on the SimPy model: they
write the same events, so these are the same six checks twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from sim import DoorEvent, MixtureDwell, Profile, Session, Simulation, Store, UniformBand

DAY = 86_400
DAYS = 61  # 1 warm-up day + 60 batches
WARM_UP = 1
MEAN_DWELL_S = 30 * 60

FLAT = Profile(starts=(0,), weights=((1.0,),) * 7, name="flat")
FIXED_30 = MixtureDwell(shares=(1.0,), bands=(UniformBand(30, 30),))
UNIFORM_1_59 = MixtureDwell(shares=(1.0,), bands=(UniformBand(1, 59),))
PAIRS = [(2, 1.5), (6, 5.0), (15, 12.0)]  # (capacity, offered load in Erlangs)


def erlang_b(capacity: int, load: float) -> float:
    """Erlang B by its stable recursion B(0) = 1, B(c) = A B(c-1) / (c + A B(c-1))."""
    b = 1.0
    for c in range(1, capacity + 1):
        b = load * b / (c + load * b)
    return b


@dataclass
class DailyTally:
    """Arrivals and turned-away customers per day of arrival."""

    start: int
    arrivals: np.ndarray = field(default_factory=lambda: np.zeros(DAYS, dtype=np.int64))
    lost: np.ndarray = field(default_factory=lambda: np.zeros(DAYS, dtype=np.int64))

    def on_session(self, session: Session) -> None:
        self.arrivals[(session.entry - session.queue_seconds - self.start) // DAY] += 1

    def on_entry(self, event: DoorEvent) -> None:
        pass

    def on_exit(self, event: DoorEvent) -> None:
        pass

    def on_turned_away(self, event: DoorEvent) -> None:
        day = (event.time - self.start) // DAY
        self.arrivals[day] += 1
        self.lost[day] += 1


@pytest.mark.parametrize("engine", ["exact", "simpy"])
@pytest.mark.parametrize("dwell", [FIXED_30, UNIFORM_1_59], ids=["fixed-30", "uniform-1-59"])
@pytest.mark.parametrize(("capacity", "load"), PAIRS)
def test_share_turned_away_is_erlang_b(capacity: int, load: float, dwell: MixtureDwell, engine: str) -> None:
    assert dwell.mean_minutes() * 60 == MEAN_DWELL_S
    per_day = load / MEAN_DWELL_S * DAY  # lambda = A * mu
    store = Store(
        profile=FLAT, baseline=per_day, variation=0, dwell=dwell, capacity=capacity, capacity_mode="loss",
    )
    run = Simulation.of(start="2025-01-06", days=DAYS, seed=1000 + capacity, stores=store)
    tally = DailyTally(run.start)
    run.run(tally, engine=engine)  # type: ignore[arg-type]
    n, x = tally.arrivals[WARM_UP:], tally.lost[WARM_UP:]
    share = x.sum() / n.sum()
    residual = x - share * n
    se = np.sqrt(np.sum(residual**2) / (len(n) * (len(n) - 1))) / n.mean()
    expected = erlang_b(capacity, load)
    assert tally.lost.sum() > 0
    assert abs(share - expected) < 4 * se, (share, expected, se)
