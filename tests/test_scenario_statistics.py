"""Scenarios do what their labels say, as statistics: fixed seeds, bounds from the distributions.

- a surge's extra visitors are Poisson with the label's expected effect as mean (a dip's missing ones too):
  within 4 standard errors (a two-sided level of 6e-5);
- a closure admits no one from its time to the day's end, and those inside still leave;
- a blocked door counts nothing in its direction over its window (and the other direction as usual);
- a counter offline loses (or holds) exactly the crossings in its window;
- a slow checkout lengthens exactly the visits that start in its window;
- occurrences drawn at a rate: Poisson counts per month and uniform starts, chi-square at level 0.001.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
from scipy import stats

from sim import Simulation, Store, to_epoch
from sim.events import ENTRY, EXIT
from sim.labels import run_labels
from sim.profile import DEFAULT_PROFILE
from sim.sampling import draw_day
from sim.scenario_draw import occurrences
from sim.sensor import Sensor
from sim.sensor_stream import SensorLayer
from tests.scenario_cases import scenarios

LEVEL = 0.001
SIGMAS = 4
START = dt.date(2025, 1, 1)
DAYS = 120


def _day_bounds(store: Store) -> tuple[int, int]:
    return store.day_plan(START).begin, store.day_plan(START + dt.timedelta(days=DAYS)).begin


def _customers(seed: int, store: Store) -> int:
    return sum(len(draw_day(seed, store, 0, START + dt.timedelta(days=d))) for d in range(DAYS))


def _extra_and_expected(factor: float) -> tuple[int, float]:
    plain = Store(store_id="s", baseline=1500, variation=0.0, timezone="Europe/Rome")
    surged = dataclasses.replace(plain, scenarios=scenarios(
        {"kind": "surge", "factor": factor, "per_month": 6, "minutes": 150}))
    lo, hi = _day_bounds(plain)
    labels = run_labels(5, [surged], lo, hi)
    assert len(labels) > 15 and set(labels.effect.tolist()) == {"extra_visitors"}
    return _customers(5, surged) - _customers(5, plain), float(labels.expected.sum())


def test_a_surges_extra_visitors_match_the_expected_effect() -> None:
    extra, expected = _extra_and_expected(2.0)
    assert expected > 1000
    assert abs(extra - expected) <= SIGMAS * math.sqrt(expected), (extra, expected)


def test_a_dips_missing_visitors_match_the_expected_effect() -> None:
    extra, expected = _extra_and_expected(0.6)
    assert expected < -1000
    assert abs(extra - expected) <= SIGMAS * math.sqrt(-expected), (extra, expected)


def test_a_surges_extra_visitors_arrive_inside_its_window() -> None:
    plain = Store(store_id="s", baseline=1500)
    surged = dataclasses.replace(plain, scenarios=scenarios(
        {"kind": "surge", "factor": 4, "start": "2025-01-02T11:00", "end": "2025-01-02T13:30"}))
    day = dt.date(2025, 1, 2)
    base, more = draw_day(1, plain, 0, day), draw_day(1, surged, 0, day)
    new = ~np.isin(more.customer_id, base.customer_id)
    assert set(base.customer_id.tolist()) <= set(more.customer_id.tolist())
    entry = more.entry[new]
    assert len(entry) > 100
    assert entry.min() >= to_epoch("2025-01-02T11:00:00") and entry.max() < to_epoch("2025-01-02T13:30:00")
    assert np.all(np.diff(more.entry) >= 0)


def test_a_closure_admits_no_one_after_its_time_and_those_inside_leave() -> None:
    store = Store(store_id="s", baseline=3000, timezone="America/New_York", capacity=40, patience=600,
                  scenarios=scenarios({"kind": "early_closure", "start": "2025-01-03T15:00"}))
    run = Simulation(seed=2, stores=(store,), start=to_epoch("2025-01-02T00:00:00"),
                     end=to_epoch("2025-01-05T00:00:00"))
    closes, day_end = to_epoch("2025-01-03T20:00:00"), to_epoch("2025-01-04T05:00:00")
    for engine in ("exact", "simpy"):
        doors = [d for b in run.batches(engine) for d in b.doors]  # type: ignore[arg-type]
        entries = [d.time for d in doors if d.kind == ENTRY]
        assert not [t for t in entries if closes + (store.patience or 0) <= t < day_end]
        assert len([t for t in entries if t < closes]) > 1000 and [t for t in entries if t >= day_end]
        late_exits = [d.time for d in doors if d.kind == EXIT and closes <= d.time < day_end]
        assert late_exits and max(late_exits) < closes + (store.longest_visit or 0)


def _sensor_run(store: Store, seed: int = 4) -> tuple[list, list, object]:  # type: ignore[type-arg]
    run = Simulation(seed=seed, stores=(store,), start=to_epoch("2025-01-06T00:00:00"),
                     end=to_epoch("2025-01-09T00:00:00"))
    layer = SensorLayer(run.seed, run.stores, run.start, run.end, interval=900)
    records, counts, truth = [], [], []
    for batch in run.batches():
        got, c = layer.process(batch.doors)
        records.append(got)
        counts.append(c)
        truth.append(batch.doors)
    got, c = layer.close()
    return [*records, got], [*counts, c], truth


def test_a_blocked_door_counts_nothing_in_that_direction() -> None:
    profile = dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor(miss_in=0.02, miss_out=0.02))
    store = Store(store_id="s", baseline=4000, profile=profile, scenarios=scenarios(
        {"kind": "door_blocked", "direction": "in", "start": "2025-01-07T10:00", "end": "2025-01-07T14:00"}))
    lo, hi = to_epoch("2025-01-07T10:00:00"), to_epoch("2025-01-07T14:00:00")
    records, counts, truth = _sensor_run(store)
    kinds = np.concatenate([r.event_type for r in records]).astype(str)
    times = np.concatenate([r.time for r in records])
    inside = (times >= lo) & (times < hi)
    assert not np.any(inside & (kinds == ENTRY))
    true_exits = sum(int(((d.time >= lo) & (d.time < hi) & (d.event_type == EXIT)).sum()) for d in truth)
    assert true_exits > 500
    counted_exits = int(np.sum(inside & (kinds == EXIT)))  # each exit missed with 2%, doubled never
    assert abs(counted_exits - 0.98 * true_exits) <= SIGMAS * math.sqrt(true_exits * 0.02 * 0.98)
    start = np.concatenate([c.interval_start for c in counts])
    entries = np.concatenate([c.entries for c in counts])
    exits = np.concatenate([c.exits for c in counts])
    window = (start >= lo) & (start < hi)
    assert window.sum() == 16 and not entries[window].any() and exits[window].sum() == counted_exits
    assert entries[~window].sum() > 1000


def test_a_counter_offline_loses_or_holds_the_crossings_in_its_window() -> None:
    lo, hi = to_epoch("2025-01-07T09:00:00"), to_epoch("2025-01-07T10:30:00")
    offline = scenarios({"kind": "counter_offline", "start": "2025-01-07T09:00", "end": "2025-01-07T10:30"})
    for mode in ("lose", "hold"):
        profile = dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor(outage_mode=mode))
        records, _, truth = _sensor_run(Store(store_id="s", baseline=4000, profile=profile, scenarios=offline))
        times = np.concatenate([r.time for r in records])
        sent = np.concatenate([r.sent_at for r in records])
        inside = (times >= lo) & (times < hi)
        crossings = sum(int(((d.time >= lo) & (d.time < hi)).sum()) for d in truth)
        assert crossings > 300
        if mode == "lose":
            assert not inside.any()
        else:
            assert inside.sum() == crossings and np.all(sent[inside] >= hi * 1000)
        assert (~inside).sum() > 5000


def test_a_slow_checkout_lengthens_exactly_the_visits_that_start_in_its_window() -> None:
    plain = Store(store_id="s", baseline=2000)
    slow = dataclasses.replace(plain, scenarios=scenarios(
        {"kind": "slow_checkout", "factor": 1.7, "start": "2025-01-02T12:00", "end": "2025-01-02T15:00"}))
    day = dt.date(2025, 1, 2)
    base, slowed = draw_day(8, plain, 0, day), draw_day(8, slow, 0, day)
    assert np.array_equal(base.customer_id, slowed.customer_id) and np.array_equal(base.entry, slowed.entry)
    inside = (base.entry >= to_epoch("2025-01-02T12:00:00")) & (base.entry < to_epoch("2025-01-02T15:00:00"))
    assert inside.sum() > 200
    assert np.array_equal(slowed.minutes[inside], np.ceil(base.minutes[inside] * 1.7 - 1e-9).astype(np.int64))
    assert np.array_equal(slowed.minutes[~inside], base.minutes[~inside])
    assert np.array_equal(slowed.exit - slowed.entry, 60 * slowed.minutes)
    assert int((slowed.exit - slowed.entry).max()) <= (slow.longest_visit or 0)


def test_occurrences_drawn_at_a_rate_are_poisson_a_month_and_uniform_in_it() -> None:
    rate = 3.0
    store = Store(store_id="s", timezone="Asia/Tokyo", scenarios=scenarios(
        {"kind": "counter_offline", "per_month": rate, "minutes": 30}),
        profile=dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor()))
    months = 600
    first = dt.date(1990, 1, 1)
    bounds = []
    day = first
    for _ in range(months + 1):
        bounds.append(store.day_plan(day).begin)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    found = occurrences(11, store, bounds[0], bounds[-1])
    starts = np.array([o.start for o in found])
    edges = np.array(bounds)
    per_month = np.bincount(np.searchsorted(edges, starts, side="right") - 1, minlength=months)[:months]
    top = 8  # counts 0..7 and 8 or more
    observed = np.bincount(np.minimum(per_month, top), minlength=top + 1)
    pmf = stats.poisson.pmf(np.arange(top), rate)
    expected = months * np.r_[pmf, 1 - pmf.sum()]
    assert stats.chisquare(observed, expected).pvalue > LEVEL
    month = np.searchsorted(edges, starts, side="right") - 1
    where = (starts - edges[month]) / (edges[month + 1] - edges[month])  # place in its month, 0 to 1
    assert stats.chisquare(np.bincount((where * 20).astype(int), minlength=20)).pvalue > LEVEL
    again = occurrences(11, store, bounds[100], bounds[101])  # any span draws the same months
    assert [o.start for o in again if o.start >= bounds[100]] == [
        o.start for o in found if bounds[100] <= o.start < bounds[101]]
