"""``profile fit --calendar`` finds a year's closures, special days and seasonality.

A year of a Rome store (daylight saving on 2025-03-30 and 2025-10-26) is
simulated from a TRUTH profile with three closures, three special days (one
confined to the evening slots) and seasonality, exported with UTC times from
UTC midnight to UTC midnight: the first and last local days are partial.

Tolerances are standard errors from the model (not from the fit), at z = 4
(two-sided 6e-5 per check; with ~70 checks, under 5e-3 for the file):

- a day's total is Poisson with mean E U, U ~ uniform(0.9, 1.1), so
  var = E + PHI E^2 with PHI = 0.1^2 / 3; a whole-day multiplier m = T / E has
  standard error sqrt(m E + PHI m^2 E^2) / E, plus the error of E itself, a
  mean over ~52 days of the weekday and ~30 of the month (relative variance
  (1/E + PHI) (1/52 + 1/30));
- a multiplier confined to slots S is measured against the rest R of the same
  day (U cancels): relative standard error sqrt(1/C_S + 1/C_R), plus the
  error of the weekday's S/R split (relative 1/sqrt of their counts over the
  weekday);
- a month's multiplier: relative standard error sqrt((1/E + PHI) / n_month);
- slot shares as in test_profile_fit_recovers_a_profile.py: binomial.

"No false special day" is the fit's own stated level: family-wise 1%
(Bonferroni over the days), checked on three more seeds of a year without
special days.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

from producer.cli import main
from sim.calendar import Calendar
from sim.expect import expected_daily_totals
from sim.fit_calendar import fit_calendar
from sim.fit_days import local_days
from sim.profile import WEEKDAYS, Profile, load_profile
from sim.sampling import draw_day
from sim.store import Store

Z = 4.0
ZONE = "Europe/Rome"
BASELINE, VARIATION = 1000.0, 0.1
PHI = VARIATION**2 / 3
START, DAYS = "2025-01-01", 367  # UTC midnight to UTC midnight: local 2025-01-01 and 2026-01-03 are partial
FIRST, LAST = dt.date(2025, 1, 2), dt.date(2026, 1, 2)  # the whole local days
SEASON = [0.85, 0.85, 0.95, 1.0, 1.0, 1.05, 0.9, 0.8, 1.0, 1.05, 1.15, 1.4]  # averages 1, as the fit writes
CLOSURES = ["2025-05-01", "2025-08-15", "2025-12-25"]
SPECIAL = {"2025-07-12": 0.45, "2025-11-28": 2.0}  # whole days
EVENING = ("2025-12-23", 3.0, (4, 5))  # 17:00 and 20:00 only
TRUTH = f"""
name = "truth"
slots = ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]
closures = {CLOSURES}
seasonality = {SEASON}

[weights]
Monday = [3, 20, 30, 25, 15, 7]
Tuesday = [2, 18, 28, 27, 17, 8]
Wednesday = [4, 15, 35, 20, 18, 8]
Thursday = [2, 25, 25, 25, 15, 8]
Friday = [5, 15, 30, 25, 30, 15]
Saturday = [6, 10, 45, 40, 35, 20]
Sunday = [0, 5, 30, 30, 10, 0]
""" + "".join(f'\n[[special]]\ndate = "{d}"\nmultiplier = {m}\n' for d, m in SPECIAL.items()) + f"""
[[special]]
date = "{EVENING[0]}"
multiplier = {EVENING[1]}
slots = ["17:00", "20:00"]
"""


def run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result.output


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("calendar_year")
    (folder / "truth.toml").write_text(TRUTH, encoding="utf-8")
    run(["simulate", "--start", START, "--days", str(DAYS), "--seed", "14", "--format", "parquet",
         "--timezone", ZONE, "--profile-file", str(folder / "truth.toml"), "--out", str(folder / "run"),
         "--quiet"])
    return folder


@pytest.fixture(scope="module")
def fitted(year: Path) -> tuple[Profile, str]:
    out = run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(year / "fitted.toml"),
               "--timezone", ZONE, "--calendar", "--dwell", "none"])
    return load_profile(year / "fitted.toml"), out


def local_counts(year: Path) -> tuple[list[dt.date], np.ndarray]:
    """Counts per whole local day and slot, from the sessions file, without the fit's code."""
    entry = pq.read_table(year / "run" / "foot_traffic.parquet", columns=["entry_time"]).column(0)
    local = pa.compute.local_timestamp(entry.cast(pa.timestamp("s", tz=ZONE))).to_numpy(zero_copy_only=False)
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    day = (local.astype("datetime64[D]") - np.datetime64(FIRST)).astype(int)
    hour = (local - local.astype("datetime64[D]")).astype("timedelta64[h]").astype(int)
    slot = np.searchsorted([0, 7, 10, 14, 17, 20], hour, side="right") - 1
    keep = (day >= 0) & (day < len(days))
    counts = np.zeros((len(days), 6))
    np.add.at(counts, (day[keep], slot[keep]), 1)
    return days, counts


def test_the_calendar_fit_finds_every_closure_and_special_day(year: Path, fitted: tuple[Profile, str]) -> None:
    profile, out = fitted
    truth = load_profile(year / "truth.toml")
    assert "dropped 2 partial local days (not wholly inside the data's UTC days): 2025-01-01, 2026-01-03" in out
    assert [d.isoformat() for d in profile.calendar.closures] == CLOSURES
    found = {(s.date.isoformat(), s.slots): s.multiplier for s in profile.calendar.special}
    assert set(found) == {(d, None) for d in SPECIAL} | {(EVENING[0], EVENING[2])}, found
    store = Store(profile=truth, baseline=BASELINE, timezone=ZONE)
    days, counts = local_counts(year)
    for date, m in SPECIAL.items():
        e = float(expected_daily_totals(store, [dt.date.fromisoformat(date)])[0]) / m  # an ordinary day's
        se = math.sqrt(m * e + PHI * m**2 * e**2) / e
        se_e = m * math.sqrt((1 / e + PHI) * (1 / 52 + 1 / 30))
        assert abs(found[(date, None)] - m) < Z * math.hypot(se, se_e), (date, found[(date, None)], se, se_e)
    # The evening multiplier, against the rest of the day; the weekday's evening/rest split is a ratio of
    # counts over its ~52 days.
    date, m, slots = EVENING
    i = days.index(dt.date.fromisoformat(date))
    rest = [j for j in range(6) if j not in slots]
    c_s, c_r = counts[i, list(slots)].sum(), counts[i, rest].sum()
    weekday = [j for j, d in enumerate(days) if d.weekday() == days[i].weekday() and j != i]
    w_s, w_r = counts[weekday][:, list(slots)].sum(), counts[weekday][:, rest].sum()
    se = m * math.sqrt(1 / c_s + 1 / c_r + 1 / w_s + 1 / w_r)
    assert abs(found[(date, slots)] - m) < Z * se, (found[(date, slots)], se)


def test_the_calendar_fit_recovers_seasonality_shares_and_baseline(year: Path, fitted: tuple[Profile, str]) -> None:
    profile, out = fitted
    truth = load_profile(year / "truth.toml")
    assert "seasonality written" in out and profile.calendar.seasonality is not None
    days, counts = local_counts(year)
    month = np.array([d.month - 1 for d in days])
    for mth in range(12):
        n_m = int(np.sum(month == mth))
        e = BASELINE * SEASON[mth]
        se = SEASON[mth] * math.sqrt((1 / e + PHI) / n_m)
        assert abs(profile.calendar.seasonality[mth] - SEASON[mth]) < Z * se, (mth, profile.calendar.seasonality)
    ordinary = Calendar(closures=truth.calendar.closures, special=truth.calendar.special)
    odd = {d for d in ordinary.closures} | {s.date for s in ordinary.special}
    weekday = np.array([d.weekday() for d in days])
    keep = np.array([d not in odd for d in days])
    for d, name in enumerate(WEEKDAYS):
        n_d = counts[keep & (weekday == d)].sum()
        p = np.array(truth.weights[d]) / sum(truth.weights[d])
        p_hat = np.array(profile.weights[d]) / sum(profile.weights[d])
        se = np.sqrt(p * (1 - p) / n_d)
        assert np.all(p_hat[p == 0] == 0), name
        assert np.all(np.abs(p_hat - p)[p > 0] < Z * se[p > 0]), (name, p_hat, p, se)
    # The baseline: a mean over 7 weekdays of means over ~52 days, each day's variance E + PHI E^2.
    mus = [BASELINE * truth.weekday_factor(d) for d in range(7)]
    var = sum((mu + PHI * mu**2) / 52 for mu in mus) / 49
    assert profile.baseline is not None and abs(profile.baseline - BASELINE) < Z * math.sqrt(var)


def test_a_refitted_year_reproduces_the_daily_totals(year: Path, fitted: tuple[Profile, str]) -> None:
    """The fitted profile, simulated again with another seed: day by day, the totals differ by noise only.

    T_obs - T_again has variance 2 (E + PHI E^2) with E the fitted expectation; the sum of squared
    standardized differences must stay under the chi-square's 0.1% upper quantile, and none beyond the
    Bonferroni bound over the days at 1%.
    """
    profile, _ = fitted
    days, counts = local_counts(year)
    store = Store(profile=profile, baseline=profile.baseline or 0.0, variation=VARIATION, timezone=ZONE)
    again = np.array([draw_day(99, store, 0, d).entry.size for d in days], dtype=float)
    e = expected_daily_totals(store, days)
    observed = counts.sum(axis=1)
    open_ = e > 0
    assert np.array_equal(observed == 0, ~open_)  # closures (and nothing else) are empty in both
    z = (observed - again)[open_] / np.sqrt(2 * (e + PHI * e**2))[open_]
    assert np.sum(z**2) < stats.chi2.isf(1e-3, z.size), np.sum(z**2)
    assert np.max(np.abs(z)) < stats.norm.isf(0.01 / (2 * z.size))


def test_the_default_fit_equals_the_hand_trimmed_fit(year: Path, fitted: tuple[Profile, str]) -> None:
    run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(year / "trimmed.toml"),
         "--timezone", ZONE, "--calendar", "--dwell", "none",
         "--first-day", FIRST.isoformat(), "--last-day", LAST.isoformat()])
    assert load_profile(year / "trimmed.toml") == fitted[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_false_special_day_at_the_stated_level(tmp_path: Path, seed: int) -> None:
    """A year with closures and seasonality but no special day: the fit finds none (level 1%)."""
    path = tmp_path / "plain.toml"
    path.write_text(TRUTH.split("[[special]]")[0], encoding="utf-8")
    store = Store(profile=load_profile(path), baseline=BASELINE, variation=VARIATION, timezone=ZONE)
    days = [FIRST + dt.timedelta(days=i) for i in range(365)]
    counts = np.array([np.bincount(draw_day(seed, store, 0, d).slot, minlength=6) for d in days], dtype=float)
    grid = local_days(store.profile.starts, ZONE, FIRST.toordinal(), days[-1].toordinal())
    fit = fit_calendar(counts, FIRST.toordinal(), grid.ratios)
    assert fit.specials == ()
    assert [d.isoformat() for d in fit.calendar.closures] == CLOSURES
    assert fit.calendar.seasonality is not None


def test_seasonality_is_left_out_and_said_so(tmp_path: Path) -> None:
    """Without seasonality in a year the months do not differ at 1%; with 12 weeks it is not even tried."""
    path = tmp_path / "flat.toml"
    path.write_text(TRUTH.split("[[special]]")[0].replace(f"seasonality = {SEASON}\n", ""), encoding="utf-8")
    store = Store(profile=load_profile(path), baseline=BASELINE, variation=VARIATION, timezone=ZONE)
    days = [FIRST + dt.timedelta(days=i) for i in range(365)]
    counts = np.array([np.bincount(draw_day(5, store, 0, d).slot, minlength=6) for d in days], dtype=float)
    grid = local_days(store.profile.starts, ZONE, FIRST.toordinal(), days[-1].toordinal())
    year = fit_calendar(counts, FIRST.toordinal(), grid.ratios)
    assert year.calendar.seasonality is None and year.season.p_value is not None
    assert year.season.reason.startswith("seasonality not written: the months do not differ significantly")
    weeks = fit_calendar(counts[:84], FIRST.toordinal(), grid.ratios[:84])
    assert weeks.calendar.seasonality is None and weeks.season.p_value is None
    assert "needs at least 28 whole days of every month" in weeks.season.reason
