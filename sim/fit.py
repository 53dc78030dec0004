"""Fitting a profile to observed traffic: slot weights, baseline and dwell.

Pure numpy on plain arrays; reading files and time zones is the command
line's job (``producer/profile_cmd.py``). Days are proleptic Gregorian
ordinals (``date.toordinal()``) of the store's *local* calendar and times of
day are local minutes after midnight.

The estimators:

- **weights**: for each weekday and slot, the mean count per observed day of
  that weekday; on a daylight-saving day a slot counts as the fraction of an
  ordinary slot it really was (counts over exposure, the Poisson maximum
  likelihood), so a 23- or 25-hour day is neither short nor long. Scaled so that an average day of the week sums to 100, each
  weight is then "percent of an average day's customers", and a weekday's
  sum over 100 is its weekday factor, exactly as :class:`~sim.profile.Profile`
  reads them. Days without a single entry are taken as closures and left out;
  a weekday without any entry on any of its days is closed (weights 0).
  The calendar (closures, special days, seasonality) is fitted on top of
  these in :mod:`sim.fit_calendar`.
- **baseline**: the mean over the seven weekdays of the mean daily count,
  i.e. the customers of an average day of the week (what
  ``BASE_DAILY_CUSTOMERS`` means), robust to a window of unequal weekdays.
- **dwell median**: observed minutes ``D = ceil(X)`` give the CDF of ``X`` at
  whole minutes, P(D <= m) = F(m); the median is interpolated linearly
  between the two whole minutes around one half.
- **dwell spread** (standard deviation / mean of ``X``): moments of ``D``
  corrected for the rounding up, mean(X) = mean(D) - 1/2 and
  var(X) = var(D) - 1/12 (Sheppard's correction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.calendar import Calendar
from sim.dwell import Dwell, DwellError, GammaDwell, HistogramDwell, LognormalDwell
from sim.errors import ProfileError
from sim.profile import WEEKDAYS, Profile

DWELL_KINDS = ("lognormal", "gamma", "histogram")


class FitError(ValueError):
    """The observed data cannot give a profile (too little or malformed)."""


def weekday_of(ordinal: np.ndarray | int) -> np.ndarray:
    """Weekday (0 = Monday) of proleptic ordinals (day 1 was a Monday)."""
    return (np.asarray(ordinal) + 6) % 7


def slot_of(minute: np.ndarray, starts: Sequence[int]) -> np.ndarray:
    """Slot index of each local minute after midnight."""
    return np.searchsorted(np.asarray(starts), np.asarray(minute), side="right") - 1


def day_slot_counts(
    day: np.ndarray, minute: np.ndarray, starts: Sequence[int], first: int, last: int,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Counts per (day, slot) for days ``first..last`` (ordinals, both included).

    ``weight`` counts each row that many times (hourly counts); rows outside
    the days are not counted.
    """
    day, minute = np.asarray(day, dtype=np.int64), np.asarray(minute, dtype=np.int64)
    inside = (day >= first) & (day <= last)
    n_days, n_slots = last - first + 1, len(starts)
    index = (day[inside] - first) * n_slots + slot_of(minute[inside], starts)
    w = None if weight is None else np.asarray(weight, dtype=float)[inside]
    return np.bincount(index, weights=w, minlength=n_days * n_slots).reshape(n_days, n_slots)


@dataclass(frozen=True)
class WeeklyFit:
    """Fitted weights (percent of an average day), baseline and what they rest on."""

    weights: tuple[tuple[float, ...], ...]
    baseline: float
    days_per_weekday: tuple[int, ...]  #: observed open days of each weekday
    closed_days: int  #: days without any entry, left out


def weekday_rates(
    counts: np.ndarray, weekdays: np.ndarray, exposure: np.ndarray, use: np.ndarray,
) -> np.ndarray:
    """Expected count per nominal slot, weekday x slot: counts over exposure on the used days.

    ``exposure[i, j]`` is how much of an ordinary slot day *i*'s slot *j*
    was (its real length over its nominal one, times any calendar
    multiplier): the Poisson maximum-likelihood rate with that exposure. On
    ordinary days it is the plain mean count per day.
    """
    rates = np.zeros((7, counts.shape[1]))
    for d in range(7):
        rows = use & (weekdays == d)
        if rows.any():
            ex = exposure[rows].sum(axis=0)
            rates[d] = np.divide(counts[rows].sum(axis=0), ex, out=np.zeros_like(ex), where=ex > 0)
    return rates


def weekly_from_rates(rates: np.ndarray, used: Sequence[int], closed_days: int) -> WeeklyFit:
    """Weights (percent of an average day) and baseline from rates per weekday x slot."""
    baseline = float(rates.sum(axis=1).mean())
    if baseline <= 0:
        raise FitError("no entries on any of the days to fit")
    return WeeklyFit(
        weights=tuple(tuple(float(w) for w in row) for row in 100.0 * rates / baseline),
        baseline=baseline,
        days_per_weekday=tuple(int(u) for u in used),
        closed_days=closed_days,
    )


def open_days(counts: np.ndarray, first: int, observed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weekday of each day and which observed days had an entry; every weekday must be observed."""
    weekdays = weekday_of(first + np.arange(counts.shape[0]))
    seen = np.ones(counts.shape[0], bool) if observed is None else np.asarray(observed, bool)
    for d in range(7):
        if not np.any(seen & (weekdays == d)):
            raise FitError(f"the data covers no {WEEKDAYS[d]} entirely; need at least one whole day of every weekday (a whole week)")
    return weekdays, seen & (counts.sum(axis=1) > 0)


def fit_weekly(
    counts: np.ndarray, first: int, ratios: np.ndarray | None = None, observed: np.ndarray | None = None,
) -> WeeklyFit:
    """Weights and baseline from counts per (day, slot), days from ordinal ``first``.

    ``ratios`` are the slots' real lengths over their nominal ones (daylight
    saving; default all 1); ``observed`` marks the days to use (default all).
    Observed days without any entry are taken as closures and left out.
    """
    counts = np.asarray(counts, dtype=float)
    weekdays, open_day = open_days(counts, first, observed)
    exposure = np.ones_like(counts) if ratios is None else np.asarray(ratios, dtype=float)
    rates = weekday_rates(counts, weekdays, exposure, open_day)
    used = [int(np.sum(open_day & (weekdays == d))) for d in range(7)]
    seen = np.ones(counts.shape[0], bool) if observed is None else np.asarray(observed, bool)
    return weekly_from_rates(rates, used, int(np.sum(seen & ~open_day)))


def _minutes(minutes: np.ndarray) -> np.ndarray:
    m = np.asarray(minutes)
    if m.size < 2:
        raise FitError("need at least two observed durations to fit a dwell model")
    if not np.issubdtype(m.dtype, np.integer) or m.min() < 1:
        raise FitError("durations must be whole minutes >= 1")
    return m.astype(np.int64)


def fit_median(minutes: np.ndarray) -> float:
    """The continuous median of X from whole minutes D = ceil(X)."""
    m = _minutes(minutes)
    values, freq = np.unique(m, return_counts=True)
    cdf = np.cumsum(freq) / m.size  # P(D <= values[k])
    k = int(np.searchsorted(cdf, 0.5, side="left"))
    upper = int(values[k])
    below = float(cdf[k - 1]) if k > 0 else 0.0  # every value <= upper - 1 is in values[:k]
    # F(upper - 1) = below < 1/2 <= F(upper) = cdf[k]; linear in between.
    return (upper - 1) + (0.5 - below) / (float(cdf[k]) - below)


def fit_spread(minutes: np.ndarray) -> float:
    """Standard deviation / mean of X from whole minutes D = ceil(X)."""
    m = _minutes(minutes).astype(float)
    mean = m.mean() - 0.5
    var = m.var(ddof=1) - 1.0 / 12.0
    if mean <= 0 or var <= 0:
        raise FitError("durations too concentrated to estimate a spread; use --dwell histogram")
    return float(math.sqrt(var) / mean)


def fit_histogram(minutes: np.ndarray, width: int) -> HistogramDwell:
    """Bins of ``width`` whole minutes from 1 to past the longest visit, weights = counts."""
    if width < 1:
        raise FitError(f"bin width {width}: expected whole minutes >= 1")
    m = _minutes(minutes)
    top = int(m.max()) + 1
    edges = np.arange(1, top + width, width)
    counts = np.bincount((m - 1) // width, minlength=len(edges) - 1)[: len(edges) - 1]
    return HistogramDwell(tuple(int(e) for e in edges), tuple(float(c) for c in counts))


def fit_dwell(minutes: np.ndarray, kind: str = "lognormal", width: int = 5) -> Dwell:
    """A dwell model of ``kind`` fitted to observed whole minutes."""
    if kind not in DWELL_KINDS:
        raise FitError(f"dwell kind {kind!r}: expected one of {', '.join(DWELL_KINDS)}")
    try:
        if kind == "histogram":
            return fit_histogram(minutes, width)
        median, spread = round(fit_median(minutes), 3), round(fit_spread(minutes), 4)
        return LognormalDwell(median, spread) if kind == "lognormal" else GammaDwell(median, spread)
    except DwellError as exc:
        raise FitError(f"fitted dwell is out of range ({exc})") from None


def build_profile(
    weekly: WeeklyFit, starts: Sequence[int], name: str = "fitted",
    calendar: Calendar | None = None, dwell: Dwell | None = None,
) -> Profile:
    """The profile file's content: rounded weights and baseline, the calendar and dwell as given."""
    try:
        return Profile(
            starts=tuple(int(s) for s in starts),
            weights=tuple(tuple(round(w, 4) for w in row) for row in weekly.weights),
            name=name,
            baseline=round(weekly.baseline, 3),
            calendar=Calendar() if calendar is None else calendar,
            dwell=dwell,
        )
    except ProfileError as exc:
        raise FitError(str(exc)) from None
