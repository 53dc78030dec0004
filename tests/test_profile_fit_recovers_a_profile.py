"""``profile fit`` recovers a profile it did not see from a simulated year.

A year (52 weeks) of the TRUTH profile is simulated with ``foot-traffic
simulate`` and fitted back with ``foot-traffic profile fit``. Tolerances come
from the sampling error, at z = 4 (two-sided level about 6e-5 per check;
with the ~60 checks below, under 4e-3 for the whole test):

- slot shares within a weekday: given a weekday's N_d entries the slot counts
  are multinomial, so a share's standard error is sqrt(p (1 - p) / N_d);
  closed slots (weight 0) must fit to exactly 0;
- the baseline and each weekday's mean: a day's count is Poisson with its
  mean times U ~ uniform(0.9, 1.1), variance mu + mu^2 0.1^2 / 3, averaged
  over the 52 days of each weekday;
- the dwell median: the sample median's standard error 1 / (2 f(m) sqrt(n))
  with f the lognormal density at the median, plus 0.01 min for the linear
  interpolation inside one minute (its bias is below f / (8 m) / f, about
  0.006 min here);
- the dwell spread: delta-method standard error of sd / mean from the
  sample's own moments.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from producer.cli import main
from sim.dwell import HistogramDwell, LognormalDwell
from sim.profile import WEEKDAYS, Profile, load_profile

Z = 4.0
TRUTH = """
name = "truth"
slots = ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]

[weights]
Monday = [3, 20, 30, 25, 15, 7]
Tuesday = [2, 18, 28, 27, 17, 8]
Wednesday = [4, 15, 35, 20, 18, 8]
Thursday = [2, 25, 25, 25, 15, 8]
Friday = [5, 15, 30, 25, 30, 15]
Saturday = [6, 10, 45, 40, 35, 20]
Sunday = [0, 5, 30, 30, 10, 0]

[dwell]
kind = "lognormal"
median = 22
spread = 0.6
"""
BASELINE, VARIATION, DAYS = 1000.0, 0.1, 364


def run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result.output


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("year")
    (folder / "truth.toml").write_text(TRUTH, encoding="utf-8")
    run(["simulate", "--start", "2025-01-06", "--days", str(DAYS), "--seed", "20251128", "--format", "parquet",
         "--profile-file", str(folder / "truth.toml"), "--out", str(folder / "run"), "--quiet"])
    return folder


@pytest.fixture(scope="module")
def fitted(year: Path) -> Profile:
    run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(year / "fitted.toml")])
    return load_profile(year / "fitted.toml")


def test_fit_recovers_the_slot_shares_of_each_weekday(year: Path, fitted: Profile) -> None:
    truth = load_profile(year / "truth.toml")
    weekday = pq.read_table(year / "run" / "foot_traffic.parquet", columns=["weekday"]).column(0).to_numpy()
    for d, name in enumerate(WEEKDAYS):
        n_d = int(np.sum(weekday == name))
        p = np.array(truth.weights[d]) / sum(truth.weights[d])
        p_hat = np.array(fitted.weights[d]) / sum(fitted.weights[d])
        se = np.sqrt(p * (1 - p) / n_d)
        assert np.all(p_hat[p == 0] == 0), name
        assert np.all(np.abs(p_hat - p)[p > 0] < Z * se[p > 0]), (name, p_hat, p, se)


def test_fit_recovers_the_baseline_and_weekday_means(year: Path, fitted: Profile) -> None:
    truth = load_profile(year / "truth.toml")
    mus = [BASELINE * truth.weekday_factor(d) for d in range(7)]
    var_of_mean = [(mu + mu**2 * VARIATION**2 / 3) / (DAYS / 7) for mu in mus]
    assert fitted.baseline is not None
    assert abs(fitted.baseline - BASELINE) < Z * math.sqrt(sum(var_of_mean) / 49)
    for d in range(7):
        mean_d = fitted.baseline * fitted.day_weight(d) / 100
        assert abs(mean_d - mus[d]) < Z * math.sqrt(var_of_mean[d]), WEEKDAYS[d]


def test_fit_recovers_the_dwell_median_and_spread(year: Path, fitted: Profile) -> None:
    minutes = pq.read_table(year / "run" / "foot_traffic.parquet",
                            columns=["trip_duration_minutes"]).column(0).to_numpy().astype(float)
    n, true = minutes.size, LognormalDwell(22, 0.6)
    assert isinstance(fitted.dwell, LognormalDwell)
    density = 1 / (true.median * true.sigma * math.sqrt(2 * math.pi))
    assert abs(fitted.dwell.median - true.median) < Z / (2 * density * math.sqrt(n)) + 0.01
    # Delta method for g(mean, var) = sqrt(var) / mean on the sample's moments.
    mean, var = minutes.mean(), minutes.var()
    mu3, mu4 = np.mean((minutes - mean) ** 3), np.mean((minutes - mean) ** 4)
    g_m, g_v = -math.sqrt(var) / mean**2, 1 / (2 * math.sqrt(var) * mean)
    se = math.sqrt((g_m**2 * var + g_v**2 * (mu4 - var**2) + 2 * g_m * g_v * mu3) / n)
    assert abs(fitted.dwell.spread - true.spread) < Z * se + 1e-4  # + the written rounding (4 decimals)


def test_hourly_counts_and_door_events_fit_the_same_weights(year: Path, fitted: Profile) -> None:
    entry = pq.read_table(year / "run" / "foot_traffic.parquet", columns=["entry_time"]).column(0)
    seconds = entry.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    # Every hour of the year has its row, zero counts included: a day is whole when all its hours are there.
    first_hour = (seconds.min() // 86400) * 24
    hours = np.arange(first_hour, first_hour + DAYS * 24)
    counts = np.bincount(seconds // 3600 - first_hour, minlength=hours.size)
    stamps = np.datetime_as_string(hours.astype("datetime64[h]"), unit="s")
    csv = year / "hourly.csv"
    csv.write_text("hour,count\n" + "".join(f"{t}+00:00,{c}\n" for t, c in zip(stamps, counts, strict=True)))
    run(["profile", "fit", str(csv), "-o", str(year / "hourly.toml"), "--dwell", "none"])
    hourly = load_profile(year / "hourly.toml")
    assert hourly.weights == fitted.weights and hourly.baseline == fitted.baseline and hourly.dwell is None
    run(["profile", "fit", str(year / "run" / "foot_traffic_realistic.parquet"), "-o", str(year / "doors.toml"),
         "--dwell", "none"])
    assert load_profile(year / "doors.toml").weights == fitted.weights


def test_fit_writes_an_empirical_histogram_that_simulate_accepts(year: Path) -> None:
    out = year / "hist.toml"
    run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(out),
         "--dwell", "histogram", "--bin-width", "10"])
    profile = load_profile(out)
    assert isinstance(profile.dwell, HistogramDwell)
    n = pq.read_metadata(year / "run" / "foot_traffic.parquet").num_rows
    assert sum(profile.dwell.weights) == n and set(np.diff(profile.dwell.edges)) == {10}
    assert tomllib.loads(out.read_text())["dwell"]["kind"] == "histogram"
    run(["simulate", "--start", "2026-01-05", "--days", "1", "--seed", "1", "--profile-file", str(out),
         "--out", str(year / "again"), "--quiet"])


def test_fit_rejects_too_little_data_and_unknown_files(tmp_path: Path) -> None:
    two_days = tmp_path / "entries.csv"
    two_days.write_text("timestamp\n2025-11-03T08:00:00+00:00\n2025-11-04T09:30:00+00:00\n")
    for source, expected in ((two_days, "covers no Wednesday"), (tmp_path / "x.xlsx", "no such file")):
        result = CliRunner().invoke(main, ["profile", "fit", str(source), "-o", str(tmp_path / "p.toml")])
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "p.toml").exists()


def test_utc_times_are_fitted_in_the_stores_time_zone(year: Path) -> None:
    """UTC entry times with --timezone fit the same as the same instants written as local wall times."""
    import pandas as pd

    entry = pq.read_table(year / "run" / "foot_traffic.parquet", columns=["entry_time"]).to_pandas()["entry_time"]
    local = entry.dt.tz_convert("America/New_York").dt.tz_localize(None)
    csv = year / "local.csv"
    pd.DataFrame({"timestamp": local.dt.strftime("%Y-%m-%dT%H:%M:%S")}).to_csv(csv, index=False)
    out = run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(year / "ny_utc.toml"),
               "--timezone", "America/New_York", "--dwell", "none"])
    assert "dropped 2 partial local days (not wholly inside the data's UTC days): 2025-01-05, 2026-01-04" in out
    # The UTC data cover whole UTC days; in New York the first and last local days stick out of them and
    # are dropped. Wall times carry no such span: trimmed by hand to the same days, they fit the same.
    out = run(["profile", "fit", str(csv), "-o", str(year / "ny_local.toml"), "--dwell", "none",
               "--first-day", "2025-01-06", "--last-day", "2026-01-03"])
    assert "dropped" not in out
    from_utc, from_local = load_profile(year / "ny_utc.toml"), load_profile(year / "ny_local.toml")
    assert from_utc.weights == from_local.weights and from_utc.baseline == from_local.baseline
    # Five hours west, the night slot now holds the UTC evening: the weights did move.
    run(["profile", "fit", str(year / "run" / "foot_traffic.parquet"), "-o", str(year / "utc_only.toml"),
         "--dwell", "none"])
    assert from_utc.weights != load_profile(year / "utc_only.toml").weights


def test_a_weekday_closed_every_week_fits_as_closed() -> None:
    """Two weeks from a Monday with no Sunday entries: Sunday's weights are 0, the baseline counts it."""
    from sim.fit import fit_weekly

    first = dt.date(2025, 11, 3).toordinal()
    counts = np.tile([[1.0, 2.0, 3.0]], (14, 1)) * 10
    counts[[6, 13]] = 0  # the Sundays
    counts[2] = 0  # one Wednesday closed: left out, not averaged in
    weekly = fit_weekly(counts, first)
    assert weekly.weights[6] == (0.0, 0.0, 0.0)
    assert weekly.baseline == pytest.approx(60 * 6 / 7)
    assert weekly.weights[2] == weekly.weights[0] == pytest.approx((100 * 10 / (60 * 6 / 7), 200 * 10 / (60 * 6 / 7), 300 * 10 / (60 * 6 / 7)))
    assert weekly.days_per_weekday == (2, 2, 1, 2, 2, 2, 0) and weekly.closed_days == 3
