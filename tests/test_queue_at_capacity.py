"""Queue mode: a full store makes customers wait at the door, first come first served.

Each check compares the capped run with the uncapped run of the same seed:
the same customers arrive at the same times with the same dwell (capacity
only delays entries), so a capped session's arrival (entry - queue_seconds)
and dwell must be the uncapped session's entry and dwell.
"""

from __future__ import annotations

import orjson
import pytest

from sim import Collector, DoorEvent, Profile, Simulation, Store
from sim.batch import concat_columns
from sim.events import ENTRY, EXIT, GAVE_UP, TURNED_AWAY

FLAT = Profile(starts=(0,), weights=((1.0,),) * 7, name="flat")
# Mean dwell about 36 min; 200 arrivals a day is an offered load of about 5.
BUSY = dict(profile=FLAT, baseline=200, variation=0)
#: Every engine that models a capacity: the exact event engine and the SimPy model (the reference).
ENGINES = ["exact", "simpy"]


def collect(store: Store, days: float = 10, seed: int = 5, engine: str = "auto") -> tuple[Simulation, Collector]:
    run = Simulation.of(start="2025-03-03", days=days, seed=seed, stores=store)
    seen = Collector()
    run.run(seen, engine=engine)  # type: ignore[arg-type]
    return run, seen


def uncapped(store: Store, days: float = 10, seed: int = 5) -> dict[str, tuple[int, int]]:
    """customer id -> (arrival, dwell seconds) from the same run without a capacity."""
    free = Store(**{**BUSY, "store_id": store.store_id})
    _, seen = collect(free, days, seed)
    return {s.customer_id: (s.entry, s.exit - s.entry) for s in seen.sessions}


def check_door_order(doors: list[DoorEvent]) -> None:
    """Time order; at equal times exits before entries."""
    rank = {EXIT: 0, ENTRY: 1}
    keys = [(d.time, rank.get(d.kind, 1)) for d in doors]
    assert keys == sorted(keys)


@pytest.mark.parametrize("engine", ENGINES)
def test_occupancy_never_exceeds_capacity_and_the_queue_is_fifo(engine: str) -> None:
    capacity = 4
    store = Store(**BUSY, capacity=capacity)
    _, seen = collect(store, engine=engine)
    inside = peak = 0
    exit_times = set()
    for door in seen.doors:
        inside += 1 if door.kind == ENTRY else -1
        peak = max(peak, inside)
        if door.kind == EXIT:
            exit_times.add(door.time)
    assert peak == capacity  # reached, never exceeded
    check_door_order(seen.doors)
    waited = [s for s in seen.sessions if s.queue_seconds > 0]
    assert len(waited) > 100
    # First come, first served: entries happen in arrival order.
    arrivals = [s.entry - s.queue_seconds for s in seen.sessions]
    assert arrivals == sorted(arrivals)
    # Nobody waits while a place is free: a queued customer enters when someone leaves.
    assert all(s.entry in exit_times for s in waited)
    # Capacity only delays: same arrivals, same dwell, the exit is entry + dwell.
    free = uncapped(store)
    for s in seen.sessions:
        assert (s.entry - s.queue_seconds, s.exit - s.entry) == free[s.customer_id]
    exits = {d.customer_id: d.time for d in seen.exits}
    assert all(exits[s.customer_id] == s.exit for s in seen.sessions if s.customer_id in exits)
    # The customers never seen entered are the last arrivals, still queued when the run ends.
    missing = sorted(free[c][0] for c in set(free) - {s.customer_id for s in seen.sessions})
    assert not missing or missing[0] >= arrivals[-1]


@pytest.mark.parametrize("engine", ENGINES)
def test_nobody_waits_longer_than_the_patience(engine: str) -> None:
    patience = 300
    store = Store(**BUSY, capacity=3, patience=patience)
    run, seen = collect(store, engine=engine)
    free = uncapped(store)
    assert max(s.queue_seconds for s in seen.sessions) <= patience
    assert any(s.queue_seconds > 0 for s in seen.sessions)
    assert len(seen.gave_up) > 50
    for event in seen.gave_up:
        assert event.time - free[event.customer_id][0] == patience
    # Every customer is seen once: entered or gave up (or still waiting at the end).
    ids = [s.customer_id for s in seen.sessions] + [e.customer_id for e in seen.gave_up]
    assert len(ids) == len(set(ids))
    still_waiting = set(free) - set(ids)
    assert all(free[c][0] > run.end - patience for c in still_waiting)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("mode", "kind"), [("queue", GAVE_UP), ("loss", TURNED_AWAY)])
def test_rejected_customers_are_counted_and_written_when_asked(mode: str, kind: str, engine: str) -> None:
    patience = 600 if mode == "queue" else None
    store = Store(**BUSY, capacity=3, capacity_mode=mode, patience=patience)
    run = Simulation.of(start="2025-03-03", days=5, seed=8, stores=store)
    quiet = list(run.batches(engine))  # type: ignore[arg-type]
    loud = list(run.batches(engine, rejected=True))  # type: ignore[arg-type]
    counted = sum(getattr(b, kind) for b in quiet)
    assert counted > 20 and counted == sum(getattr(b, kind) for b in loud)
    assert not any(k == kind for b in quiet for k in b.doors.event_type)
    doors = concat_columns([b.doors for b in loud])
    written = [orjson.loads(line) for line in doors.json_lines() if kind.encode() in line]
    assert len(written) == counted
    assert all(w["event_type"] == kind and w["store_id"] == store.store_id for w in written)
    # Sessions and entries/exits are the same with or without the rejected events.
    same = [e for e in doors if e.kind in (ENTRY, EXIT)]
    assert same == list(concat_columns([b.doors for b in quiet]))
    check_door_order(list(doors))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_capacity_never_reached_changes_nothing(engine: str) -> None:
    """A capped store (on each engine that models a capacity) next to an uncapped one writes,
    byte for byte, what the vectorized engine writes with no cap at all."""
    base = [Store(store_id="a", baseline=800), Store(store_id="b", baseline=500)]
    capped = [Store(store_id="a", baseline=800, capacity=100_000), base[1]]

    def lines(stores: list[Store], engine: str, window: int) -> list[bytes]:
        run = Simulation.of(start="2025-03-28", days=4, seed=9, stores=stores)
        out: list[bytes] = []
        for b in run.batches(engine, window=window):  # type: ignore[arg-type]
            out += b.sessions.json_lines() + b.doors.json_lines()
        return out

    # One window for the whole run: both engines then batch identically.
    expected = lines(base, "fast", 4 * 86_400)
    assert lines(capped, engine, 4 * 86_400) == expected
    assert all(orjson.loads(x).get("queue_seconds", 0) == 0 for x in expected)
    assert b'"store_id":"a","queue_seconds":0}' in expected[0]
