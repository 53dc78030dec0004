"""The vectorized engine and the SimPy model give the very same events."""

from __future__ import annotations

import pytest

from sim import Collector, Profile, Simulation, Store, to_epoch
from sim.dwell import MixtureDwell, UniformBand
from sim.sampling import ArrivalFeed
from tests.helpers import json_lines
from tests.scenario_cases import TRAFFIC

ODD = Profile(
    starts=(0, 8 * 60 + 30, 12 * 60, 18 * 60 + 45, 22 * 60 + 10),
    weights=tuple((w, 3.0, 5.0, 0.0, 1.0) for w in (1.0, 2.0, 0.5, 1.0, 4.0, 2.0, 0.0)),
    name="odd",
)
# Short dwells give many exits at the same second as entries: the tie rules are exercised.
SHORT = MixtureDwell(shares=(0.5, 0.5), bands=(UniformBand(1, 2), UniformBand(3, 3)))

CASES = [
    ("default", 1, Store()),
    ("busy-short", 2, Store(baseline=30_000, dwell=SHORT)),
    ("odd-profile", 3, Store(profile=ODD, baseline=3_000, variation=0.3)),
    ("fixed-total", 4, Store(daily_customers=2_500, dwell=SHORT)),
    ("two-stores", 5, (Store(store_id="a", dwell=SHORT, baseline=5000),
                       Store(store_id="b", profile=ODD, baseline=5000, dwell=SHORT))),
    ("scenarios", 6, (Store(store_id="a", baseline=5000, timezone="Europe/Rome", scenarios=TRAFFIC),
                      Store(store_id="b", profile=ODD, baseline=3000, dwell=SHORT, scenarios=TRAFFIC[2:]))),
]


@pytest.mark.parametrize("name,seed,stores", CASES, ids=[c[0] for c in CASES])
def test_fast_and_simpy_engines_write_identical_events(name: str, seed: int, stores: object) -> None:
    stores = stores if isinstance(stores, tuple) else (stores,)
    run = Simulation(seed=seed, stores=stores, start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    fast = json_lines(run, "fast")
    slow = json_lines(run, "simpy")
    assert len(fast[1]) > 1000
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]


def test_observers_see_the_same_sequence_from_both_engines() -> None:
    run = Simulation.of("2025-11-03", days=2, seed=6, stores=Store(baseline=20_000, dwell=SHORT))
    a, b = Collector(), Collector()
    run.run(a, engine="fast")
    run.run(b, engine="simpy")
    assert a.sessions == b.sessions
    assert a.doors == b.doors


def test_the_batch_window_cuts_batches_but_never_changes_events() -> None:
    run = Simulation.of("2025-11-03T05:00:00", days=2, seed=12, stores=Store(baseline=20_000, dwell=SHORT))
    reference = json_lines(run, "fast")
    for window in (60, 3_600, 86_400):
        for engine in ("fast", "simpy"):
            lines: tuple[list[bytes], list[bytes]] = ([], [])
            for batch in run.batches(engine, window=window):  # type: ignore[arg-type]
                lines[0].extend(batch.sessions.json_lines())
                lines[1].extend(batch.doors.json_lines())
            assert lines == reference, (window, engine)


def test_prefetching_the_next_day_changes_nothing() -> None:
    stores = (Store(store_id="a", baseline=5000, timezone="Europe/Rome"), Store(store_id="b", dwell=SHORT))
    start, end = to_epoch("2025-03-29T13:07:00"), to_epoch("2025-04-02T02:00:00")
    plain = ArrivalFeed(1, stores, start, end)
    ahead = ArrivalFeed(1, stores, start, end, prefetch=True)
    for until in range(start + 1800, end + 1800, 1800):
        a, b = plain.take(until), ahead.take(until)
        assert (a.entry == b.entry).all() and (a.customer_id == b.customer_id).all()
        assert (a.exit == b.exit).all() and (a.store == b.store).all()
