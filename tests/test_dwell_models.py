"""Dwell models: sample mean and median match the parameters; survival matches the samples.

Each model draws N = 100,000 whole minutes from a fixed seed.
- mean: within z = 4 standard errors (sample sd / sqrt(N)) of ``mean_minutes()``;
- median (lognormal, gamma): P(dwell <= median) = 1/2 exactly for a whole
  ``median`` (a draw x becomes ceil(x) minutes), checked within z = 4 binomial
  standard errors sqrt(1/4 / N);
- survival: the Kolmogorov-Smirnov distance between the sample's CDF and
  1 - survival(m), taken at whole minutes (both are step functions that jump
  only there), must not reject at level 0.01. The continuous KS distribution
  is conservative for a discrete law (it rejects at most that often).
And the KS check has power: the lognormal's samples against the gamma with
the same median and spread are rejected.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from sim.dwell import (
    DEFAULT_DWELL,
    Dwell,
    DwellBySlot,
    GammaDwell,
    HistogramDwell,
    LognormalDwell,
    sample_day,
)
from sim.profile import DEFAULT_PROFILE
from sim.sampling import draw_day
from sim.store import Store

N = 100_000
Z = 4.0
ALPHA = 0.01

MODELS: dict[str, Dwell] = {
    "default mixture": DEFAULT_DWELL,
    "lognormal 25/0.6": LognormalDwell(25, 0.6),
    "lognormal 3/0.3": LognormalDwell(3, 0.3),
    "gamma 25/0.6": GammaDwell(25, 0.6),
    "gamma 12/1.5": GammaDwell(12, 1.5),
    "histogram": HistogramDwell((1, 5, 15, 30, 31, 90), (2.0, 10.0, 5.0, 0.0, 3.0)),
}


def ks_distance(sample: np.ndarray, model: Dwell) -> float:
    """sup over m of |F_n(m) - F(m)|, both right-continuous steps at whole minutes."""
    grid = np.arange(0, int(sample.max()) + 2)
    empirical = np.searchsorted(np.sort(sample), grid, side="right") / sample.size
    return float(np.max(np.abs(empirical - (1 - model.survival(grid)))))


def draw(model: Dwell, seed: int = 2024) -> np.ndarray:
    return model.sample(np.random.default_rng(seed), N)


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_mean_matches_the_models_mean(name: str) -> None:
    model = MODELS[name]
    x = draw(model)
    assert x.dtype == np.int64 and x.min() >= 1
    se = x.std(ddof=1) / math.sqrt(N)
    assert abs(x.mean() - model.mean_minutes()) < Z * se, (x.mean(), model.mean_minutes())


@pytest.mark.parametrize("name", list(MODELS))
def test_survival_matches_the_sample(name: str) -> None:
    model = MODELS[name]
    d = ks_distance(draw(model), model)
    p = stats.kstwo.sf(d, N)
    assert p > ALPHA, f"KS distance {d:.5f}, p = {p:.2g}"


@pytest.mark.parametrize("name", ["lognormal 25/0.6", "lognormal 3/0.3", "gamma 25/0.6", "gamma 12/1.5"])
def test_median_is_the_given_median(name: str) -> None:
    model = MODELS[name]
    assert isinstance(model, (LognormalDwell, GammaDwell))
    share = float(np.mean(draw(model) <= model.median))
    assert abs(share - 0.5) < Z * math.sqrt(0.25 / N), share
    assert float(model.survival(np.array([model.median]))[0]) == pytest.approx(0.5, abs=1e-12)


def test_the_ks_check_tells_lognormal_from_gamma() -> None:
    lognormal, gamma = LognormalDwell(25, 0.6), GammaDwell(25, 0.6)
    assert stats.kstwo.sf(ks_distance(draw(lognormal), gamma), N) < ALPHA


@pytest.mark.parametrize("name", list(MODELS))
def test_mean_is_the_sum_of_the_survival_function(name: str) -> None:
    """E[D] = sum over m >= 0 of P(D > m) for whole minutes D; survival is 1 below 1 minute."""
    model = MODELS[name]
    grid = np.arange(0, 20_000, dtype=float)
    assert math.fsum(model.survival(grid)) == pytest.approx(model.mean_minutes(), rel=1e-6)
    assert model.survival(np.array([-3.0, 0.0, 0.5]))[0] == 1.0
    # Between whole minutes survival is flat: P(D > 7.5) = P(D > 7).
    assert model.survival(np.array([7.5]))[0] == model.survival(np.array([7.0]))[0]


def test_histogram_never_draws_an_empty_bin() -> None:
    x = draw(MODELS["histogram"])
    assert not np.any(x == 30) and x.max() <= 89


def test_dwell_by_slot_draws_each_slots_model() -> None:
    weekend_lunch = GammaDwell(60, 0.3)
    grid = [[LognormalDwell(20, 0.5)] * 6 for _ in range(7)]
    grid[5][2] = weekend_lunch
    dwell = DwellBySlot(default=LognormalDwell(20, 0.5), grid=tuple(tuple(r) for r in grid))
    store = Store(profile=DEFAULT_PROFILE, dwell=dwell, baseline=20_000)
    saturday = draw_day(9, store, 0, dt.date(2025, 11, 29))
    lunch = saturday.slot == 2
    # Medians within z = 4 binomial SEs: P(D <= median) = 1/2 in each group.
    for mask, median in ((lunch, 60), (~lunch, 20)):
        share = float(np.mean(saturday.minutes[mask] <= median))
        assert abs(share - 0.5) < Z * math.sqrt(0.25 / mask.sum()), (median, share)
    # On a Friday no rule applies: every slot uses the default.
    friday = draw_day(9, store, 0, dt.date(2025, 11, 28))
    assert abs(np.mean(friday.minutes <= 20) - 0.5) < Z * math.sqrt(0.25 / len(friday))


def test_a_single_model_is_drawn_in_one_call() -> None:
    """sample_day leaves plain models' draws as they were: one sample(rng, n) call."""
    counts = np.array([3, 0, 5, 2])
    a = sample_day(DEFAULT_DWELL, np.random.default_rng(1), 4, counts)
    b = DEFAULT_DWELL.sample(np.random.default_rng(1), 10)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("median,spread", [(25, 0.6), (3, 0.3), (1, 2.0), (1440, 0.05)])
def test_the_lognormal_needs_no_scipy_and_agrees_with_it(median: float, spread: float) -> None:
    # survival() is erfc from the standard library (scipy is an extra); scipy's lognorm is the reference.
    model = LognormalDwell(median, spread)
    m = np.array([-1, 0, 1, 2, median - 1, median, median + 1, 5 * median, 40 * median], dtype=float)
    ref = stats.lognorm.sf(np.floor(m), s=model.sigma, scale=median)
    np.testing.assert_allclose(model.survival(m), ref, rtol=1e-12, atol=1e-300)
    top = int(np.ceil(stats.lognorm.isf(1e-12, s=model.sigma, scale=median))) + 1
    ref_mean = float(np.sum(stats.lognorm.sf(np.arange(top, dtype=float), s=model.sigma, scale=median)))
    assert model.mean_minutes() == pytest.approx(ref_mean, rel=1e-12)
