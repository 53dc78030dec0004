"""The default dwell reproduces the old producer's mixture (SPEC.md)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.dwell import DEFAULT_DWELL

ALPHA = 0.001
BANDS = [(10, 29, 0.35), (30, 44, 0.39), (45, 75, 0.26)]


def test_three_shares_ranges_and_uniformity_inside_each_band() -> None:
    minutes = DEFAULT_DWELL.sample(np.random.default_rng(2024), 200_000)
    assert minutes.dtype == np.int64
    assert minutes.min() == 10 and minutes.max() == 75
    band = np.select([minutes <= 29, minutes <= 44], [0, 1], 2)
    observed = np.bincount(band, minlength=3)
    expected = np.array([s for *_, s in BANDS]) * minutes.size
    assert stats.chisquare(observed, expected).pvalue > ALPHA
    for i, (lo, hi, _) in enumerate(BANDS):
        inside = minutes[band == i]
        counts = np.bincount(inside - lo, minlength=hi - lo + 1)
        assert counts.size == hi - lo + 1  # nothing outside the band
        assert stats.chisquare(counts).pvalue > ALPHA / 3, (lo, hi)


def test_mean_and_survival_agree_with_samples() -> None:
    minutes = DEFAULT_DWELL.sample(np.random.default_rng(1), 200_000)
    se = minutes.std() / np.sqrt(minutes.size)
    assert abs(minutes.mean() - DEFAULT_DWELL.mean_minutes()) < stats.norm.isf(ALPHA / 2) * se
    grid = np.arange(0, 80)
    empirical = (minutes[None, :] > grid[:, None]).mean(axis=1)
    # DKW inequality: sup |F_n - F| <= sqrt(ln(2/alpha) / (2n)) with probability 1 - alpha.
    bound = np.sqrt(np.log(2 / ALPHA) / (2 * minutes.size))
    assert np.abs(empirical - DEFAULT_DWELL.survival(grid)).max() < bound
