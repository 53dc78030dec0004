"""Arrivals are a Poisson process with a rate constant inside each slot.

All tests use fixed seeds and test statistics with a stated level: a
correct engine fails each of them with probability about alpha = 0.001.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from sim import DEFAULT_PROFILE, Simulation, Store, to_epoch
from sim.sampling import expected_counts
from tests.helpers import columns, day_slot_counts

ALPHA = 0.001
WEEKS = 52
START = "2024-01-01"  # a Monday


def _year(seed: int, variation: float = 0.0, **store: object) -> tuple[Simulation, np.ndarray]:
    run = Simulation.of(START, days=7 * WEEKS, seed=seed, stores=Store(variation=variation, **store))  # type: ignore[arg-type]
    sessions, _ = columns(run)
    counts = day_slot_counts(sessions.entry, run.start, 7 * WEEKS, DEFAULT_PROFILE.starts)
    return run, counts


def _expected(store: Store) -> np.ndarray:
    """Expected arrivals per (weekday, slot)."""
    start = dt.date.fromisoformat(START)
    return np.array([expected_counts(store, store.day_plan(start + dt.timedelta(days=d))) for d in range(7)])


@pytest.fixture(scope="module")
def year() -> np.ndarray:
    return _year(seed=20251103)[1]


def test_mean_counts_per_weekday_and_slot_match_the_profile(year: np.ndarray) -> None:
    # 42 cells, each the sum of 52 independent Poisson counts: Pearson chi-square with 42 d.o.f.
    observed = year.reshape(WEEKS, 7, -1).sum(axis=0)
    expected = WEEKS * _expected(Store(variation=0.0))
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    p = stats.chi2.sf(chi2, df=observed.size)
    assert p > ALPHA, f"chi-square {chi2:.1f} on {observed.size} d.o.f., p={p:.2g}"
    # And the weekday totals scale with the weekday weight sums (SPEC.md).
    weekday_mean = observed.sum(axis=1) / WEEKS
    factors = np.array([DEFAULT_PROFILE.weekday_factor(d) for d in range(7)])
    z = (weekday_mean - 1000 * factors) / np.sqrt(1000 * factors / WEEKS)
    assert np.abs(z).max() < stats.norm.isf(ALPHA / 2 / 7), z


def test_counts_have_poisson_dispersion(year: np.ndarray) -> None:
    # Index of dispersion: per cell, sum((c - mean)^2)/mean ~ chi2(W-1) for Poisson counts;
    # summed over the 42 independent cells ~ chi2(42 (W-1)). Two-sided test at ALPHA.
    cells = year.reshape(WEEKS, 7, -1)
    mean = cells.mean(axis=0)
    dispersion = float((((cells - mean) ** 2).sum(axis=0) / mean).sum())
    df = 42 * (WEEKS - 1)
    p = stats.chi2.sf(dispersion, df)
    assert ALPHA / 2 < p < 1 - ALPHA / 2, f"variance/mean = {dispersion / df:.3f}, p={p:.3g}"


def test_daily_variation_overdisperses_the_counts() -> None:
    # The same statistic must reject Poisson when the day-to-day noise is on (p = 0.10):
    # proof that the dispersion test above can fail.
    _, counts = _year(seed=7, variation=0.10)
    cells = counts.reshape(WEEKS, 7, -1)
    mean = cells.mean(axis=0)
    dispersion = float((((cells - mean) ** 2).sum(axis=0) / mean).sum())
    assert stats.chi2.sf(dispersion, 42 * (WEEKS - 1)) < ALPHA


def test_arrivals_are_uniform_inside_each_slot_including_its_last_minute() -> None:
    run = Simulation.of(START, days=7 * WEEKS, seed=99, stores=Store(variation=0.0))
    sessions, _ = columns(run)
    second_of_day = (sessions.entry - run.start) % 86400
    starts = np.asarray(DEFAULT_PROFILE.starts) * 60
    ends = np.asarray(DEFAULT_PROFILE.ends) * 60
    slot = np.searchsorted(starts, second_of_day, side="right") - 1
    for i, (lo, hi) in enumerate(zip(starts, ends)):
        inside = second_of_day[slot == i]
        # Every second of the slot is equally likely: KS against U(0, 1) at the centre of
        # each second (Bonferroni over the 6 slots).
        u = (inside - lo + 0.5) / (hi - lo)
        p = stats.kstest(u, "uniform").pvalue
        assert p > ALPHA / len(starts), f"slot {i}: KS p={p:.2g}"
        # The last minute gets its share (the old producer's slots ended at hh:59:00).
        last = int(((inside >= hi - 60)).sum())
        expected = inside.size * 60 / (hi - lo)
        assert abs(last - expected) < stats.norm.isf(ALPHA / 2) * np.sqrt(expected), (i, last, expected)
        assert inside.max() == hi - 1 or last > 0


def test_a_fixed_daily_total_gives_exactly_that_many_each_day_spread_by_weight() -> None:
    store = Store(daily_customers=500)
    run = Simulation.of(START, days=7 * WEEKS, seed=5, stores=store)
    sessions, _ = columns(run)
    counts = day_slot_counts(sessions.entry, run.start, 7 * WEEKS, DEFAULT_PROFILE.starts)
    assert (counts.sum(axis=1) == 500).all()
    # Multinomial by weight: per weekday, slot totals against 52 * 500 * share (chi-square, 5 d.o.f.).
    by_weekday = counts.reshape(WEEKS, 7, -1).sum(axis=0)
    for d in range(7):
        w = np.asarray(DEFAULT_PROFILE.weights[d])
        expected = WEEKS * 500 * w / w.sum()
        chi2 = float(((by_weekday[d] - expected) ** 2 / expected).sum())
        assert stats.chi2.sf(chi2, len(w) - 1) > ALPHA / 7, (d, chi2)


def test_multiplier_and_baseline_scale_the_daily_mean() -> None:
    # TRAFFIC_MULTIPLIER defaults to 1.0: the baseline means what it says.
    store = Store(baseline=400, multiplier=0.5, variation=0.0)
    run = Simulation.of(START, days=7 * WEEKS, seed=11, stores=store)
    sessions, _ = columns(run)
    days = 7 * WEEKS
    mean, expected = len(sessions) / days, 200.0
    assert abs(mean - expected) < stats.norm.isf(ALPHA / 2) * np.sqrt(expected / days)


def test_start_may_be_any_instant_and_the_window_only_selects_events() -> None:
    # A run over [a, b) is the same events as the matching part of a longer run.
    long = Simulation.of("2025-11-03", days=3, seed=3)
    part = Simulation(seed=3, stores=long.stores, start=to_epoch("2025-11-04T09:30:00"),
                      end=to_epoch("2025-11-05T17:00:00"))
    ls, _ = columns(long)
    ps, _ = columns(part)
    keep = (ls.entry >= part.start) & (ls.entry < part.end)
    assert (ps.entry == ls.entry[keep]).all()
    assert (ps.customer_id == ls.customer_id[keep]).all()
