"""The backfill's batches (producer.live.catchup): whole seconds, and quiet instants a model may start at.

A quiet instant is one at which every store with a capacity is empty: the
claim is that a run started there makes exactly the full run's events from
then on. It is checked here on the exact engine (equal to the SimPy model,
tests/test_exact_engine.py), for every quiet instant found, on stores in
queue (with and without patience), loss mode and with groups.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from producer.live.catchup import QuietTimes, due_batches, whole_seconds
from sim.batch import Batch
from sim.exact import exact_batches
from sim.groups import Groups
from sim.profile import DEFAULT_PROFILE
from sim.run import to_epoch
from sim.store import Store

START = to_epoch("2025-11-03T08:00:00")
END = START + 2 * 86_400
#: Closed from midnight to 07:00: the stores empty at night.
NIGHTS = dataclasses.replace(DEFAULT_PROFILE, weights=tuple((0.0, *w[1:]) for w in DEFAULT_PROFILE.weights))
GROUPED = dataclasses.replace(NIGHTS, groups=Groups(sizes=(0.5, 0.3, 0.2), spread=5, together=0.7))
CASES = {
    "queue, patience": (Store(profile=NIGHTS, daily_customers=3000, capacity=30, patience=240),),
    "queue, no patience": (Store(profile=NIGHTS, daily_customers=1500, capacity=50),),
    "loss": (Store(profile=NIGHTS, daily_customers=3000, capacity=30, capacity_mode="loss"),),
    "groups, two stores": (Store(store_id="a", profile=GROUPED, daily_customers=2000, capacity=20, patience=120),
                           Store(store_id="b", profile=NIGHTS, daily_customers=1500, capacity=15,
                                 capacity_mode="loss")),
}


def _rows(batches: list[Batch], since: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The sessions and door events at or after ``since``, as rows."""
    sessions, doors = [], []
    for b in batches:
        s, d = b.sessions, b.doors
        sessions += [r for r in zip(s.customer_id.tolist(), s.entry.tolist(), s.exit.tolist(),
                                    s.queue_seconds.tolist(), strict=True) if r[1] >= since]
        doors += [r for r in zip(d.event_type.tolist(), d.time.tolist(), d.customer_id.tolist(),
                                 strict=True) if r[1] >= since]
    return sessions, doors


@pytest.mark.parametrize("case", list(CASES))
def test_a_run_started_at_a_quiet_instant_makes_the_full_runs_events(case: str) -> None:
    stores = CASES[case]
    quiet = QuietTimes(stores, START)
    full = list(due_batches(7, stores, START, END, True, [], quiet))
    spans = [q for q in (quiet.latest(START + h * 3600) for h in range(1, 48)) if q is not None and q > START]
    assert len(set(spans)) >= 2, "the stores empty every night"
    for q in sorted(set(spans)):
        later = list(exact_batches(7, stores, q, END, 3600, True))
        assert _rows(later, q) == _rows(full, q), q
    rejected = sum(b.turned_away + b.gave_up for b in full)
    waited = sum(int((b.sessions.queue_seconds > 0).sum()) for b in full)
    assert rejected + waited > 0, "the capacity binds"


def test_a_busy_instant_is_not_quiet() -> None:
    """Just before a quiet instant's span the stores are not empty: a run started inside it differs."""
    stores = CASES["queue, patience"]
    quiet = QuietTimes(stores, START)
    full = list(due_batches(7, stores, START, END, True, [], quiet))
    noon = START + 28 * 3600  # the second day at noon: busy
    q = quiet.latest(noon)
    assert q is not None and q < noon - 3600
    later = list(exact_batches(7, stores, noon, END, 3600, True))
    assert _rows(later, noon) != _rows(full, noon)


def test_whole_seconds_keep_every_event_and_never_split_a_second() -> None:
    stores = CASES["queue, patience"]
    made = list(exact_batches(7, stores, START, END, 900, True))
    cut = list(whole_seconds(iter(made)))
    assert _rows(cut, 0) == _rows(made, 0)
    for a, b in zip(cut, cut[1:], strict=False):
        for x, y in ((a.doors.time, b.doors.time), (a.sessions.entry, b.sessions.entry)):
            if len(x) and len(y):
                assert x[-1] < y[0]
    assert sum(b.turned_away + b.gave_up for b in cut) == sum(b.turned_away + b.gave_up for b in made)


def test_without_a_capacity_any_instant_is_quiet_and_the_run_end_once_written() -> None:
    quiet = QuietTimes((Store(daily_customers=100),), START)
    assert quiet.latest(START + 500) == START + 500
    capped = QuietTimes(CASES["loss"], START)
    list(due_batches(7, CASES["loss"], START, END, False, [], capped))
    assert capped.latest(END) is not None and capped.latest(END) < END
    capped.written_to_end(END)
    assert capped.latest(START + 10) == END


def test_batches_below_every_top_are_left_out() -> None:
    stores = CASES["loss"]
    top = (START + 30 * 3600) * 1000
    kept = list(due_batches(7, stores, START, END, False, [(top, 0), (top + 5000, 0)]))
    every = list(due_batches(7, stores, START, END, False, []))
    assert len(kept) < len(every)
    newest_kept = [max(np.r_[b.doors.time, b.sessions.entry]) for b in kept if len(b)]
    assert min(newest_kept) * 1000 >= top
    assert _rows(kept, top // 1000) == _rows(every, top // 1000)
