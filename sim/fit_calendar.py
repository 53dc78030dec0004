"""Fitting a profile's calendar: closures, special days and monthly seasonality.

The model behind the profile: day *i*'s count in slot *j* is Poisson with
mean ``U_i · rate[weekday(i), j] · ratio[i, j] · season[month(i)] · special[i, j]``,
where ``ratio`` is the slot's real length over its nominal one (daylight
saving) and ``U_i`` the day-to-day variation, a factor of mean 1 whose
variance ``phi`` makes day totals over-dispersed: var(T) = E + phi E^2.

The fit alternates until the set of special days no longer changes:

1. **rates and seasonality** by Poisson maximum likelihood on the ordinary
   days (not closed, not special): rates are counts over exposure per weekday
   and slot, each month's multiplier is its observed total over its expected
   one, normalized so the twelve average 1 (so ``baseline`` is an average day
   of an average month). Seasonality is fitted only when every month has at
   least :data:`MIN_MONTH_DAYS` whole days (a full year), and kept only when
   the months differ significantly: the monthly totals against the
   no-seasonality fit, a chi-square with 11 degrees of freedom at ``level``,
   each month's variance its days' ``E + phi E^2``.
2. **dispersion** ``phi`` by moments on the ordinary days' totals.
3. **special days**: a day is special when its total departs from its
   expectation (``z`` against ``E + phi E^2``) or its slots' split departs
   from its weekday's (chi-square of the slot counts given the day's total,
   where ``U_i`` cancels). Both tests on every day at the family-wise level
   ``level``, Bonferroni-corrected: each at ``level / (2 n)`` for ``n``
   tested days. So with ``level = 0.01`` an ordinary year shows a false
   special day in at most 1% of fits.

A special day whose slot split is ordinary (chi-square at ``level`` over the
number of special days) gets one multiplier for the whole day, its total
over its expectation. Otherwise the departure is confined to some slots: the
slots that depart most are moved out, one at a time, until the rest split as
usual; the departing slots get a multiplier relative to the rest of the
same day (which cancels ``U_i``), one entry for those above and one for
those below. **Closures** are the observed days without a single entry whose
weekday is open (as without ``--calendar``).

Pure numpy and scipy; days are local-date ordinals as in :mod:`sim.fit`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.calendar import MONTHS, Calendar, SpecialDay
from sim.fit import FitError, WeeklyFit, open_days, weekday_rates, weekly_from_rates

#: The default family-wise significance level of the special-day and seasonality tests.
DEFAULT_LEVEL = 0.01
#: Seasonality is fitted only when every month has at least this many whole days.
MIN_MONTH_DAYS = 28
_MAX_ROUNDS = 30


@dataclass(frozen=True)
class SpecialFit:
    """A fitted special day (or the part of one confined to some slots) and its standard error."""

    special: SpecialDay
    se: float  #: standard error of the multiplier
    total_z: float  #: the day total's departure, in standard deviations


@dataclass(frozen=True)
class SeasonFit:
    """Monthly multipliers (``None`` when left out), their standard errors and why."""

    values: tuple[float, ...] | None
    se: tuple[float, ...] | None
    p_value: float | None  #: of "the months do not differ"; None when not tested
    reason: str  #: one sentence for the user


@dataclass(frozen=True)
class CalendarFit:
    """The weekly fit on ordinary days and the calendar around it."""

    weekly: WeeklyFit
    calendar: Calendar
    specials: tuple[SpecialFit, ...]
    season: SeasonFit
    dispersion: float  #: phi: var(day total) = E + phi E^2 on ordinary days
    level: float
    tested_days: int


def _months(first: int, n: int) -> np.ndarray:
    return np.array([dt.date.fromordinal(first + i).month - 1 for i in range(n)])


def _fit_rates(
    counts: np.ndarray, ratios: np.ndarray, weekdays: np.ndarray, months: np.ndarray,
    use: np.ndarray, seasonal: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Rates (weekday x slot) and season (12, mean 1) by alternating Poisson likelihood."""
    season = np.ones(MONTHS)
    totals = counts.sum(axis=1)
    for _ in range(200):
        rates = weekday_rates(counts, weekdays, ratios * season[months][:, None], use)
        if not seasonal:
            return rates, season
        nominal = (rates[weekdays] * ratios).sum(axis=1)
        observed = np.bincount(months[use], weights=totals[use], minlength=MONTHS)
        expected = np.bincount(months[use], weights=nominal[use], minlength=MONTHS)
        new = observed / expected
        new /= new.mean()
        if np.max(np.abs(new - season)) < 1e-12:
            break
        season = new
    return weekday_rates(counts, weekdays, ratios * season[months][:, None], use), season


def _dispersion(totals: np.ndarray, expected: np.ndarray, use: np.ndarray, parameters: int) -> float:
    """phi from moments: sum (T - E)^2 ~ sum (E + phi E^2), corrected for fitted parameters."""
    n = int(use.sum())
    resid = float(np.sum((totals[use] - expected[use]) ** 2)) * n / max(n - parameters, 1)
    return max(0.0, (resid - float(expected[use].sum())) / float(np.sum(expected[use] ** 2)))


def _split_chi2(c: np.ndarray, e: np.ndarray) -> tuple[float, int]:
    """Chi-square of counts ``c`` against shares proportional to ``e``, given their total."""
    keep = e > 0
    c, e = c[keep], e[keep]
    n = c.sum()
    if keep.sum() < 2 or n == 0:
        return 0.0, 0
    m = n * e / e.sum()
    return float(np.sum((c - m) ** 2 / m)), int(keep.sum()) - 1


def _sf(x2: float, df: int) -> float:
    return 1.0 if df == 0 else float(_stats().chi2.sf(x2, df))


def fit_calendar(
    counts: np.ndarray, first: int, ratios: np.ndarray | None = None, observed: np.ndarray | None = None,
    level: float = DEFAULT_LEVEL,
) -> CalendarFit:
    """Weekly rates, closures, special days and seasonality from counts per (day, slot)."""
    if not 0 < level < 1:
        raise FitError(f"significance level {level!r}: expected a number between 0 and 1")
    counts = np.asarray(counts, dtype=float)
    n, k = counts.shape
    ratios = np.ones_like(counts) if ratios is None else np.asarray(ratios, dtype=float)
    weekdays, had_entry = open_days(counts, first, observed)
    seen = np.ones(n, bool) if observed is None else np.asarray(observed, bool)
    weekday_open = weekday_rates(counts, weekdays, ratios, had_entry).sum(axis=1) > 0
    closure = seen & ~had_entry & weekday_open[weekdays]
    tested = seen & had_entry
    n_tested = int(tested.sum())
    if n_tested == 0:
        raise FitError("no entries on any of the days to fit")
    months = _months(first, n)
    month_days = np.bincount(months[seen], minlength=MONTHS)
    full_year = bool(np.all(month_days >= MIN_MONTH_DAYS))
    z_crit = float(_stats().norm.isf(level / (4 * n_tested)))
    totals = counts.sum(axis=1)

    special = np.zeros(n, bool)
    for _ in range(_MAX_ROUNDS):
        base = tested & ~special
        per_weekday = np.bincount(weekdays[base], minlength=7)
        season_fit, rates, season, phi = _season(counts, ratios, weekdays, months, base, full_year,
                                                 month_days, level, int(weekday_open.sum()))
        expected = rates[weekdays] * ratios * season[months][:, None]
        e_day = expected.sum(axis=1)
        inflate = 1 + 1 / np.maximum(per_weekday[weekdays], 1)  # the rates' own sampling error
        z = (totals - e_day) / np.sqrt(np.maximum((e_day + phi * e_day**2) * inflate, 1e-300))
        split_p = np.array([_sf(*_split_chi2(counts[i], expected[i])) if tested[i] else 1.0 for i in range(n)])
        new = tested & ((np.abs(z) > z_crit) | (split_p < level / (2 * n_tested)))
        if np.array_equal(new, special):
            break
        special = new
    else:
        raise FitError("special days did not settle; the data do not look like one weekly profile")

    n_special = max(int(special.sum()), 1)
    fits: list[SpecialFit] = []
    for i in np.flatnonzero(special):
        fits += _special_day(dt.date.fromordinal(first + int(i)), counts[i], expected[i], phi,
                             float(z[i]), level / n_special)
    base = tested & ~special
    used = np.bincount(weekdays[base], minlength=7)
    weekly = weekly_from_rates(rates, used.tolist(), int(closure.sum()))
    calendar = Calendar(
        closures=tuple(dt.date.fromordinal(first + int(i)) for i in np.flatnonzero(closure)),
        special=tuple(f.special for f in fits),
        seasonality=season_fit.values,
    )
    return CalendarFit(weekly, calendar, tuple(fits), season_fit, phi, level, n_tested)


def _season(
    counts: np.ndarray, ratios: np.ndarray, weekdays: np.ndarray, months: np.ndarray, base: np.ndarray,
    full_year: bool, month_days: np.ndarray, level: float, open_weekdays: int,
) -> tuple[SeasonFit, np.ndarray, np.ndarray, float]:
    """Fit seasonality if a full year allows it, keep it if significant; rates, season and phi to use."""
    totals = counts.sum(axis=1)
    flat_rates, flat = _fit_rates(counts, ratios, weekdays, months, base, seasonal=False)
    flat_day = (flat_rates[weekdays] * ratios).sum(axis=1)
    if not full_year:
        short = int(np.argmin(month_days))
        reason = (f"seasonality not fitted: it needs at least {MIN_MONTH_DAYS} whole days of every month "
                  f"(a full year); {dt.date(2000, short + 1, 1):%B} has {int(month_days[short])}")
        phi = _dispersion(totals, flat_day, base, open_weekdays)
        return SeasonFit(None, None, None, reason), flat_rates, flat, phi
    rates, season = _fit_rates(counts, ratios, weekdays, months, base, seasonal=True)
    e_day = (rates[weekdays] * ratios).sum(axis=1) * season[months]
    phi = _dispersion(totals, e_day, base, open_weekdays + MONTHS - 1)
    var_day = e_day + phi * e_day**2
    observed = np.bincount(months[base], weights=totals[base], minlength=MONTHS)
    under_h0 = np.bincount(months[base], weights=flat_day[base], minlength=MONTHS)
    variance = np.bincount(months[base], weights=var_day[base], minlength=MONTHS)
    x2 = float(np.sum((observed - under_h0) ** 2 / variance))
    p = float(_stats().chi2.sf(x2, MONTHS - 1))
    if p >= level:
        reason = (f"seasonality not written: the months do not differ significantly "
                  f"(chi-square {x2:.1f} on 11 df, p = {p:.3g} >= {level:g})")
        return (SeasonFit(None, None, p, reason), flat_rates, flat,
                _dispersion(totals, flat_day, base, open_weekdays))
    se = season * np.sqrt(variance) / observed
    values = tuple(round(float(s), 4) for s in season)
    reason = f"seasonality written: the months differ (chi-square {x2:.1f} on 11 df, p = {p:.3g} < {level:g})"
    return SeasonFit(values, tuple(float(s) for s in se), p, reason), rates, season, phi


def _special_day(
    day: dt.date, c: np.ndarray, e: np.ndarray, phi: float, total_z: float, level: float,
) -> list[SpecialFit]:
    """One special day: a whole-day multiplier, or multipliers on the slots that depart."""
    rest = [j for j in range(c.size) if e[j] > 0]
    moved: list[int] = []
    while len(rest) > 1:
        cr, er = c[rest], e[rest]
        x2, df = _split_chi2(cr, er)
        if _sf(x2, df) >= level:
            break
        share = er / er.sum()
        m = cr.sum() * share
        resid = (cr - m) / np.sqrt(np.maximum(m * (1 - share), 1e-300))
        moved.append(rest.pop(int(np.argmax(np.abs(resid)))))
    if not moved:
        t, ed = float(c.sum()), float(e.sum())
        mult = t / ed
        se = math.sqrt(mult * ed + phi * mult**2 * ed**2) / ed
        return [SpecialFit(SpecialDay(day, round(mult, 4)), se, total_z)]
    c_rest, e_rest = float(c[rest].sum()), float(e[rest].sum())
    level_rest = c_rest / e_rest if c_rest > 0 else 1.0  # the day's own variation, from its ordinary slots
    out = []
    for group in ([j for j in moved if c[j] > e[j] * level_rest], [j for j in moved if c[j] <= e[j] * level_rest]):
        if not group:
            continue
        c_s, e_s = float(c[group].sum()), float(e[group].sum())
        mult = c_s / e_s / level_rest
        se = mult * math.sqrt(1 / c_s + (1 / c_rest if c_rest > 0 else 0)) if c_s > 0 else 1 / (e_s * level_rest)
        out.append(SpecialFit(SpecialDay(day, round(mult, 4), tuple(sorted(group))), se, total_z))
    return out


def _stats() -> Any:
    """scipy.stats (the ``fit`` extra), imported when a calendar is fitted, not when this module is."""
    from sim.extras import need

    return need("scipy.stats", "profile fit --calendar", "fit")
