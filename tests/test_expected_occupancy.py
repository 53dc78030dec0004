"""The analytic expectations of sim.expect match the simulation.

The main test: E[N(t)] = ∫ λ(t − u) G(u) du against the mean number of
customers inside (counted from the door events) at fixed times of the week,
over many simulated weeks. Levels are stated per test; tolerances come from
the distribution, never widened to pass.

Why the statistics are what they are: an infinite-capacity store fed by a
Poisson process is an M_t/G/∞ queue, so with the day-to-day variation off the
number inside at time t is exactly Poisson with mean E[N(t)], and at times
more than the longest dwell (75 min) apart the counts are independent. The
mean over W independent weeks then has variance E[N(t)]/W exactly.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pytest
from scipy import stats

from sim import DEFAULT_DWELL, DEFAULT_PROFILE, MixtureDwell, Simulation, Store, UniformBand
from sim.dwell import DwellBySlot
from sim.expect import (
    expected_arrivals,
    expected_daily_totals,
    expected_occupancy,
    hourly_rate_table,
    rate_curve,
)
from sim.fast import DAY
from sim.sampling import expected_counts as sim_expected_counts

WEEK = 7 * DAY
WEEKS = 100
#: Fixed times of the week: every 2 hours from Monday 00:30. Two hours is more
#: than the longest dwell, so with variation off the counts are independent.
OFFSETS = np.arange(1800, WEEK, 7200)
LEVEL = 0.001  # family-wise level of each test below


@lru_cache(maxsize=4)
def occupancy_samples(store: Store, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Number inside (from the door events) and its expectation, (WEEKS, len(OFFSETS)).

    "Inside at t" counts door events with a time before t: entries minus exits.
    Cached: two tests read the same simulated weeks (do not modify the arrays).
    """
    run = Simulation.of(start="2025-11-03", days=7 * WEEKS, seed=seed, stores=store)
    entries, exits = [], []
    for batch in run.batches("fast", window=WEEK):
        doors = batch.doors
        entries.append(doors.time[doors.event_type == "entry"])
        exits.append(doors.time[doors.event_type == "exit"])
    entry_times, exit_times = np.concatenate(entries), np.concatenate(exits)
    times = run.start + WEEK * np.arange(WEEKS)[:, None] + OFFSETS[None, :]
    inside = np.searchsorted(entry_times, times, "left") - np.searchsorted(exit_times, times, "left")
    return inside, expected_occupancy(store, times, run.start, run.end)


def test_occupancy_matches_the_analytic_curve_without_variation() -> None:
    inside, expected = occupancy_samples(Store(variation=0.0), seed=11)
    mean_sim, mean_exp = inside.mean(axis=0), expected.mean(axis=0)
    # Poisson: the mean of W independent counts has variance mean(E[N])/W.
    z = (mean_sim - mean_exp) / np.sqrt(mean_exp / WEEKS)
    k = z.shape[0]
    # Each time on its own (Bonferroni over the K times, family-wise level LEVEL).
    bound = stats.norm.ppf(1 - LEVEL / (2 * k))
    worst = int(np.argmax(np.abs(z)))
    assert abs(z[worst]) < bound, (
        f"offset {OFFSETS[worst]} s: simulated {mean_sim[worst]:.2f}, analytic {mean_exp[worst]:.2f}, "
        f"z={z[worst]:.2f} beyond ±{bound:.2f}"
    )
    # All times together: sum of z² is chi-square with K degrees of freedom.
    chi2 = float((z**2).sum())
    p = stats.chi2.sf(chi2, k)
    assert p > LEVEL, f"chi-square {chi2:.1f} on {k} dof, p={p:.2g} below {LEVEL}"
    # The curve is not trivially small: the store is really busy at these times.
    assert mean_exp.max() > 30


def test_occupancy_mean_is_unchanged_by_daily_variation() -> None:
    inside, expected = occupancy_samples(Store(variation=0.3), seed=12)
    mean_sim, mean_exp = inside.mean(axis=0), expected.mean(axis=0)
    # The uniform day factor has mean 1 but adds variance: use the sample's
    # own standard error. Times of one day now share a factor, so only the
    # Bonferroni bound (valid under any dependence) is used, at level LEVEL.
    se = inside.std(axis=0, ddof=1) / np.sqrt(WEEKS)
    z = (mean_sim - mean_exp) / se
    bound = stats.t.ppf(1 - LEVEL / (2 * z.shape[0]), WEEKS - 1)
    worst = int(np.argmax(np.abs(z)))
    assert abs(z[worst]) < bound, f"offset {OFFSETS[worst]} s: z={z[worst]:.2f} beyond ±{bound:.2f}"


def test_the_comparison_has_power() -> None:
    """The check above can fail: a model whose dwell is one minute longer is rejected.

    Same simulated data, same statistic, but the expectation computed for a
    dwell shifted by +1 minute (about λ·60 s ≈ 0.7 more customers inside):
    the chi-square test must reject it at the same level.
    """
    inside, _ = occupancy_samples(Store(variation=0.0), seed=11)
    longer = MixtureDwell(
        shares=DEFAULT_DWELL.shares,
        bands=tuple(UniformBand(b.low + 1, b.high + 1) for b in DEFAULT_DWELL.bands),
    )
    run = Simulation.of(start="2025-11-03", days=7 * WEEKS, seed=11)
    times = run.start + WEEK * np.arange(WEEKS)[:, None] + OFFSETS[None, :]
    wrong = expected_occupancy(Store(variation=0.0, dwell=longer), times, run.start, run.end)
    mean_exp = wrong.mean(axis=0)
    z = (inside.mean(axis=0) - mean_exp) / np.sqrt(mean_exp / WEEKS)
    assert stats.chi2.sf(float((z**2).sum()), z.shape[0]) < LEVEL


def test_hourly_and_daily_expectations_agree() -> None:
    store = Store(baseline=1000, multiplier=0.8)
    start = int(dt.datetime(2025, 11, 3, tzinfo=dt.UTC).timestamp())
    days = [dt.date(2025, 11, 3) + dt.timedelta(days=i) for i in range(7)]
    hourly = expected_arrivals(store, start, start + WEEK).reshape(7, 24)
    np.testing.assert_allclose(hourly.sum(axis=1), expected_daily_totals(store, days), rtol=1e-12)
    # SPEC: daily mean = baseline x (weekday sum / mean weekday sum) x multiplier.
    sums = np.array([sum(DEFAULT_PROFILE.weights[d]) for d in range(7)])
    np.testing.assert_allclose(expected_daily_totals(store, days), 1000 * 0.8 * sums / sums.mean())
    # Monday 00:00-06:59: 16 of Monday's 93 weight, spread over 7 hours.
    monday = 1000 * 0.8 * sums[0] / sums.mean()
    assert hourly_rate_table(store)[0, 0] == pytest.approx(monday * 16 / 93 / 7)
    np.testing.assert_allclose(hourly[0, :7], monday * 16 / 93 / 7)


def test_a_daylight_saving_day_keeps_the_hourly_rate() -> None:
    """On a 25-hour local day the rate per hour is the profile's, the total grows."""
    store = Store(timezone="Europe/Berlin", variation=0.0)
    day = dt.date(2025, 10, 26)  # clocks go back: 02:00-03:00 happens twice
    plan = store.day_plan(day)
    assert plan.end - plan.begin == 25 * 3600
    curve = rate_curve(store, plan.begin, plan.end)
    total = expected_daily_totals(store, [day])[0]
    assert curve.between(plan.begin, plan.end) == pytest.approx(total)
    # The night slot (00:00-06:59 local) is 8 real hours at the nominal rate.
    per_hour = hourly_rate_table(store)[day.weekday(), 0]
    night = curve.between(plan.starts[0], plan.ends[0])
    assert night == pytest.approx(8 * per_hour)


def test_fixed_daily_totals_give_the_multinomial_means() -> None:
    store = Store(daily_customers=500)
    days = [dt.date(2025, 11, 3) + dt.timedelta(days=i) for i in range(7)]
    np.testing.assert_allclose(expected_daily_totals(store, days), 500.0)


def _weekend_long_store() -> Store:
    """Weekend visits last 80-110 minutes, weekday ones the default (a dwell per slot)."""
    long = MixtureDwell(shares=(1.0,), bands=(UniformBand(80, 110),))
    grid = tuple(tuple(long if day >= 5 else DEFAULT_DWELL for _ in DEFAULT_PROFILE.starts) for day in range(7))
    return Store(variation=0.0, dwell=DwellBySlot(default=DEFAULT_DWELL, grid=grid))


def test_occupancy_with_a_dwell_per_slot_uses_each_slots_model() -> None:
    # Longest dwell 110 min < 2 h between the times: still independent Poisson counts.
    store = _weekend_long_store()
    inside, expected = occupancy_samples(store, seed=13)
    mean_sim, mean_exp = inside.mean(axis=0), expected.mean(axis=0)
    z = (mean_sim - mean_exp) / np.sqrt(mean_exp / WEEKS)
    chi2 = float((z**2).sum())
    assert stats.chi2.sf(chi2, z.shape[0]) > LEVEL, f"chi-square {chi2:.1f} on {z.shape[0]} dof"
    # The default model alone (what a per-slot dwell's survival() describes) is rejected.
    run = Simulation.of(start="2025-11-03", days=7 * WEEKS, seed=13)
    times = run.start + WEEK * np.arange(WEEKS)[:, None] + OFFSETS[None, :]
    default_only = expected_occupancy(Store(variation=0.0), times, run.start, run.end).mean(axis=0)
    z_wrong = (mean_sim - default_only) / np.sqrt(default_only / WEEKS)
    assert stats.chi2.sf(float((z_wrong**2).sum()), z.shape[0]) < LEVEL


def test_a_slot_split_by_the_repeated_hour_keeps_its_own_rate() -> None:
    """Slots 00:00-02:29 and 02:30-...: on the fall-back day 02:00-02:30 comes twice, so the
    first slot is two stretches of time with part of the second slot between them."""
    from sim.profile import WEEKDAYS, profile_from_mapping

    profile = profile_from_mapping({"slots": ["00:00", "02:30", "12:00"],
                                    "weights": {d: [10, 30, 60] for d in WEEKDAYS}})
    store = Store(profile=profile, timezone="Europe/Berlin", variation=0.0)
    day = dt.date(2025, 10, 26)
    plan = store.day_plan(day)
    curve = rate_curve(store, plan.begin, plan.end)
    counts = sim_expected_counts(store, plan)
    rates = counts / plan.lengths
    # 00:30 UTC is 02:30 CEST (the second slot); 01:15 UTC is 02:15 CET, the first slot again.
    utc = dt.datetime(2025, 10, 26, tzinfo=dt.UTC).timestamp()
    assert curve.rate(utc + 30 * 60 + 1) == pytest.approx(rates[1])
    assert curve.rate(utc + 75 * 60) == pytest.approx(rates[0])
    assert curve.between(plan.begin, plan.end) == pytest.approx(counts.sum())
