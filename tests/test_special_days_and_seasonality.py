"""Special days scale a day's (or some slots') mean by their multiplier; seasonality scales months.

Expectations are computed here from the profile table itself: the daily mean
is baseline x (weekday weight sum / mean weekday weight sum) x calendar
multiplier, split over slots by weight. With day-to-day variation p, a
slot's count is Poisson with a mean multiplied by U ~ uniform(1 - p, 1 + p),
so its variance is mu + mu^2 p^2 / 3. Each mean is checked within z = 4
standard errors (two-sided level about 6e-5 per check, under 1e-3 for all of
a test's checks together); seeds are fixed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from sim.profile import DEFAULT_WEIGHTS, WEEKDAYS
from sim.sampling import draw_day
from sim.store import Store
from tests.profiles import make_profile

Z = 4.0
SEEDS = range(300)
FRIDAY = dt.date(2025, 11, 28)
BASELINE = 1000.0


def weekday_mean(weekday: int, baseline: float = BASELINE) -> float:
    sums = [math.fsum(DEFAULT_WEIGHTS[d]) for d in WEEKDAYS]
    return baseline * sums[weekday] / (sum(sums) / 7)


def slot_shares(weekday: int) -> np.ndarray:
    w = np.array(DEFAULT_WEIGHTS[WEEKDAYS[weekday]], dtype=float)
    return w / w.sum()


def slot_counts(store: Store, day: dt.date) -> np.ndarray:
    """Counts per slot of ``day`` for every seed, shape (seeds, slots)."""
    return np.array([np.bincount(draw_day(s, store, 0, day).slot, minlength=6) for s in SEEDS])


def assert_means(counts: np.ndarray, expected: np.ndarray, p: float) -> None:
    var = expected + expected**2 * p**2 / 3
    se = np.sqrt(var / counts.shape[0])
    z = (counts.mean(axis=0) - expected) / np.where(se > 0, se, 1)
    assert np.all(np.abs(z) < Z), f"means {counts.mean(axis=0)} vs expected {expected}: z = {z}"


@pytest.mark.parametrize("variation", [0.1, 0.0])
def test_a_special_day_mean_is_scaled_by_its_multiplier(tmp_path: Path, variation: float) -> None:
    profile = make_profile(tmp_path, tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2.5\n')
    store = Store(profile=profile, baseline=BASELINE, variation=variation)
    counts = slot_counts(store, FRIDAY)
    expected = 2.5 * weekday_mean(4) * slot_shares(4)
    assert_means(counts, expected, variation)
    # The whole day's total, too (one more check, on the sum).
    day_mu = expected.sum()
    day_se = math.sqrt((day_mu + day_mu**2 * variation**2 / 3) / len(SEEDS))
    assert abs(counts.sum(axis=1).mean() - day_mu) < Z * day_se


def test_a_multiplier_restricted_to_slots_scales_only_those(tmp_path: Path) -> None:
    """A half day: the evening slots at 0.5, the others as usual."""
    profile = make_profile(
        tmp_path, tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 0.5\nslots = ["17:00", "20:00"]\n'
    )
    store = Store(profile=profile, baseline=BASELINE)
    expected = weekday_mean(4) * slot_shares(4) * np.array([1, 1, 1, 1, 0.5, 0.5])
    assert_means(slot_counts(store, FRIDAY), expected, 0.1)


def test_with_a_fixed_daily_total_the_calendar_scales_the_total(tmp_path: Path) -> None:
    profile = make_profile(
        tmp_path, top='closures = ["2025-11-27"]',
        tables=(
            '[[special]]\ndate = "2025-11-28"\nmultiplier = 2.5\n'
            '[[special]]\ndate = "2025-11-29"\nmultiplier = 0.5\nslots = ["17:00", "20:00"]\n'
        ),
    )
    store = Store(profile=profile, daily_customers=800)
    assert all(len(draw_day(s, store, 0, dt.date(2025, 11, 27))) == 0 for s in range(20))
    assert all(len(draw_day(s, store, 0, FRIDAY)) == 2000 for s in range(20))
    saturday = slot_shares(5)
    total = round(800 * (1 - 0.5 * saturday[4:].sum()))
    counts = slot_counts(store, dt.date(2025, 11, 29))
    assert (counts.sum(axis=1) == total).all()
    # Multinomial split in proportion to the scaled shares (binomial SE per slot).
    p = saturday * np.array([1, 1, 1, 1, 0.5, 0.5])
    p /= p.sum()
    se = np.sqrt(total * p * (1 - p) / len(SEEDS))
    assert np.all(np.abs(counts.mean(axis=0) - total * p) < Z * se)


SEASON = [0.5, 0.7, 0.8, 1.0, 1.0, 1.2, 1.5, 1.5, 1.0, 0.9, 1.1, 2.0]


def test_seasonality_scales_each_months_mean(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, top=f"seasonality = {SEASON}")
    baseline, p = 300.0, 0.1
    store = Store(profile=profile, baseline=baseline, variation=p)
    for month in range(1, 13):
        days = [dt.date(2025, month, d) for d in range(1, calendar.monthrange(2025, month)[1] + 1)]
        observed = sum(len(draw_day(7, store, 0, day)) for day in days)
        mus = [SEASON[month - 1] * weekday_mean(day.weekday(), baseline) for day in days]
        expected = sum(mus)
        se = math.sqrt(sum(mu + mu**2 * p**2 / 3 for mu in mus))
        assert abs(observed - expected) < Z * se, (month, observed, expected, se)


def test_seasonality_with_a_fixed_daily_total(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, top=f"seasonality = {SEASON}")
    store = Store(profile=profile, daily_customers=400)
    for month in range(1, 13):
        assert len(draw_day(1, store, 0, dt.date(2025, month, 15))) == round(400 * SEASON[month - 1])
