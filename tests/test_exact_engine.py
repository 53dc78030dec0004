"""The exact event engine writes what the SimPy model writes, byte for byte.

Batches are compared one by one (their JSON lines and their counts of
customers who never got in), so the cuts between batches must agree too:
the Parquet row groups depend on them. Files are compared byte for byte
through the command line for every format.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.cli import main
from sim import Profile, Simulation, Store, to_epoch
from sim.dwell import MixtureDwell, UniformBand
from sim.exact import COLLECT, EventLoop, exact_batches
from sim.fast import fast_batches
from sim.groups import Groups
from sim.profile import DEFAULT_PROFILE
from tests.scenario_cases import TRAFFIC

FLAT = Profile(starts=(0,), weights=((1.0,),) * 7, name="flat")
SHORT = MixtureDwell(shares=(0.5, 0.5), bands=(UniformBand(1, 2), UniformBand(3, 3)))
GROUPED = dataclasses.replace(DEFAULT_PROFILE, groups=Groups(sizes=(0.5, 0.3, 0.2), spread=5, together=0.7))
BUSY = dict(profile=FLAT, baseline=400, variation=0)

CASES = [
    ("queue", (Store(**BUSY, capacity=4),)),  # type: ignore[arg-type]
    ("patience", (Store(**BUSY, capacity=3, patience=300),)),  # type: ignore[arg-type]
    ("loss", (Store(**BUSY, capacity=3, capacity_mode="loss"),)),  # type: ignore[arg-type]
    # Short dwells: many exits, entries and give-ups at the same second (the tie rules).
    ("busy-short-patience", (Store(baseline=20_000, dwell=SHORT, capacity=30, patience=90),)),
    ("dst-queue", (Store(timezone="Europe/Rome", baseline=3_000, capacity=25, patience=600),)),
    ("dst-loss", (Store(timezone="Europe/London", baseline=3_000, capacity=20, capacity_mode="loss"),)),
    ("groups", (Store(profile=GROUPED, baseline=4_000, capacity=20, patience=120),)),
    ("fixed-total", (Store(daily_customers=2_500, dwell=SHORT, capacity=12),)),
    ("scenarios-queue", (Store(**BUSY, capacity=4, patience=600, scenarios=TRAFFIC),)),  # type: ignore[arg-type]
    ("scenarios-groups", (Store(profile=GROUPED, baseline=4_000, capacity=20, timezone="Europe/Rome",
                                scenarios=TRAFFIC),)),
    ("three-stores", (
        Store(store_id="a", dwell=SHORT, baseline=5_000, capacity=10, patience=60, timezone="Europe/Rome"),
        Store(store_id="b", dwell=SHORT, baseline=5_000),
        Store(store_id="c", dwell=SHORT, baseline=5_000, capacity=8, capacity_mode="loss",
              timezone="America/New_York"),
    )),
]


def batches(run: Simulation, engine: str, rejected: bool, window: int | None = None) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (b.sessions.json_lines(), b.doors.json_lines(), b.turned_away, b.gave_up)
        for b in run.batches(engine, window=window, rejected=rejected)  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("rejected", [False, True], ids=["quiet", "rejected"])
@pytest.mark.parametrize("name,stores", CASES, ids=[c[0] for c in CASES])
def test_the_exact_engine_writes_the_simpy_models_batches(name: str, stores: tuple[Store, ...], rejected: bool) -> None:
    # Across the spring change in Europe (March 30th, 2025).
    run = Simulation(seed=11, stores=stores, start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    exact, simpy = batches(run, "exact", rejected), batches(run, "simpy", rejected)
    assert sum(len(b[1]) for b in simpy) > 500
    assert exact == simpy


def test_waits_and_give_ups_are_exercised() -> None:
    """The cases above hold late entries (relabelled), give-ups and turned-away customers."""
    run = Simulation(seed=11, stores=CASES[3][1], start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    got = list(run.batches("exact", rejected=True))
    assert sum(b.gave_up for b in got) > 100
    assert sum(int((b.sessions.queue_seconds > 0).sum()) for b in got) > 1_000


@pytest.mark.parametrize("window", [60, 3_600, 86_400])
def test_the_batch_window_cuts_the_same_batches(window: int) -> None:
    run = Simulation.of("2025-11-03T05:00:00", days=2, seed=12,
                        stores=Store(baseline=20_000, dwell=SHORT, capacity=25, patience=120))
    assert batches(run, "exact", True, window) == batches(run, "simpy", True, window)


def test_a_busy_window_is_cut_where_the_collector_cuts_it() -> None:
    """More door events in a window than the SimPy run's collector holds: cut at the same event."""
    run = Simulation.of("2025-11-03", days=2, seed=13, stores=Store(baseline=40_000, dwell=SHORT, capacity=60))
    exact = batches(run, "exact", False, 2 * 86_400)
    assert len(exact) > 1 and len(exact[0][1]) == COLLECT
    assert exact == batches(run, "simpy", False, 2 * 86_400)


def test_dropping_the_customers_no_event_needs_changes_nothing() -> None:
    """The loop drops old customers as it goes (here after every window): the events stay the same."""
    stores = (Store(store_id="a", baseline=6_000, dwell=SHORT, capacity=12, patience=240, timezone="Europe/Rome"),
              Store(store_id="b", baseline=3_000, capacity=6, capacity_mode="loss"), Store(store_id="c"))
    run = Simulation(seed=17, stores=stores, start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    loop = EventLoop(run.seed, run.stores, run.start, run.end, rejected=True, forget_at=1)
    dropping = [(b.sessions.json_lines(), b.doors.json_lines(), b.turned_away, b.gave_up)
                for b in loop.batches(3_600)]
    assert loop.base > 10_000  # it did drop them
    assert dropping == batches(run, "simpy", True, 3_600)


def test_auto_picks_the_exact_engine_for_a_capacity() -> None:
    capped = Simulation.of("2025-11-03", days=1, seed=1, stores=Store(capacity=5))
    free = Simulation.of("2025-11-03", days=1, seed=1, stores=Store())
    assert capped.pick_engine() == "exact"
    assert free.pick_engine() == "fast"
    assert free.pick_engine("exact") == "exact"
    with pytest.raises(ValueError, match="'fast' cannot model a capacity"):
        capped.pick_engine("fast")


def test_without_a_capacity_the_exact_engine_writes_the_vectorized_events() -> None:
    stores = (Store(store_id="a", dwell=SHORT, baseline=5_000), Store(store_id="b", timezone="Asia/Tokyo"))
    run = Simulation(seed=3, stores=stores, start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    one_window = 3 * 86_400

    def flat(engine: str) -> tuple[list[bytes], list[bytes]]:
        got = list(run.batches(engine, window=one_window))  # type: ignore[arg-type]
        return ([x for b in got for x in b.sessions.json_lines()], [x for b in got for x in b.doors.json_lines()])

    assert flat("exact") == flat("fast") == flat("simpy")


def test_exact_batches_covers_what_fast_batches_covers_and_capacities() -> None:
    """The backfill's entry point: fast_batches' signature, any stores."""
    start, end = to_epoch("2025-03-29T13:07:00"), to_epoch("2025-03-31T02:00:00")
    free = (Store(store_id="a", baseline=3_000),)

    def lines(got: object) -> list[bytes]:
        return [x for b in got for x in b.sessions.json_lines() + b.doors.json_lines()]  # type: ignore[attr-defined]

    assert lines(exact_batches(5, free, start, end, 3_600)) == lines(fast_batches(5, free, start, end, 3_600))
    capped = (Store(store_id="a", baseline=3_000, capacity=15, patience=300),)
    run = Simulation(seed=5, stores=capped, start=start, end=end)
    assert lines(exact_batches(5, capped, start, end, 3_600)) == lines(run.batches("simpy", window=3_600))
    with_rejected = list(exact_batches(5, capped, start, end, 3_600, rejected=True))
    assert lines(with_rejected) == lines(run.batches("simpy", window=3_600, rejected=True))
    assert sum(b.gave_up for b in with_rejected) > 0


def simulate(out: Path, engine: str, fmt: str, *extra: str) -> dict[str, bytes]:
    args = ["simulate", "--quiet", "--start", "2025-03-29", "--days", "3", "--seed", "21", "--timezone",
            "Europe/Rome", "--store-capacity", "12", "--format", fmt, "--engine", engine, "--out", str(out), *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "run.json"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("extra", [("--patience-minutes", "5", "--write-rejected"), ("--capacity-mode", "loss")],
                         ids=["queue", "loss"])
def test_simulate_writes_byte_identical_files(tmp_path: Path, fmt: str, extra: tuple[str, ...]) -> None:
    auto = simulate(tmp_path / "auto", "auto", fmt, *extra)
    reference = simulate(tmp_path / "simpy", "simpy", fmt, *extra)
    assert len(auto) >= 2 and all(len(data) > 1_000 for data in auto.values())
    assert auto == reference


ZONES = ("UTC", "Europe/Rome", "America/New_York", "Australia/Lord_Howe")


@st.composite
def small_stores(draw: st.DrawFn) -> tuple[Store, ...]:
    stores = []
    for i in range(draw(st.integers(1, 3))):
        capacity = draw(st.none() | st.integers(1, 8))
        mode = draw(st.sampled_from(["queue", "loss"]))
        patience = draw(st.none() | st.integers(1, 1_800)) if capacity is not None and mode == "queue" else None
        stores.append(Store(
            store_id=f"s{i}", baseline=draw(st.integers(20, 4_000)), capacity=capacity, capacity_mode=mode,
            patience=patience, timezone=draw(st.sampled_from(ZONES)),
            profile=draw(st.sampled_from([DEFAULT_PROFILE, FLAT, GROUPED])),
            dwell=draw(st.sampled_from([SHORT, Store().dwell])),
        ))
    return tuple(stores)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stores=small_stores(), seed=st.integers(0, 2**32), begin=st.integers(0, 400 * 86_400),
    hours=st.integers(1, 60), window=st.sampled_from([60, 900, 3_600, 86_400]), rejected=st.booleans(),
)
def test_random_small_stores_give_the_same_batches_on_both_engines(
    stores: tuple[Store, ...], seed: int, begin: int, hours: int, window: int, rejected: bool,
) -> None:
    start = to_epoch("2024-10-01") + begin
    run = Simulation(seed=seed, stores=stores, start=start, end=start + hours * 3_600)
    assert batches(run, "exact", rejected, window) == batches(run, "simpy", rejected, window)
