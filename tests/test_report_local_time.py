"""``foot-traffic report`` reads a store's local time: weekday, hour and day bins across a DST change.

A New York store is simulated from 2025-10-29 00:00 UTC for 8 days, across
the fall-back night of 2025-11-02 (01:00 happens twice, that day has 25
hours). The report's plotted series are compared with an independent count of
the JSONL data in local time (``zoneinfo``, no code of the report's), and its
expectation with the profile's own numbers. Its profile has a dwell rule for
Saturday afternoons, so the dwell expectation must mix two models by the
visits that drew from each.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.report import Report, build_report
from sim.dwell import GammaDwell, LognormalDwell
from sim.profile import DEFAULT_WEIGHTS, WEEKDAYS

NY = ZoneInfo("America/New_York")
START, DAYS = dt.datetime(2025, 10, 29, tzinfo=dt.UTC), 8
SLOTS = [0, 7, 10, 14, 17, 20]  # slot starts, hours
PROFILE = '''name = "fifth avenue"
slots = ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]

[weights]
''' + "".join(f"{d} = {list(DEFAULT_WEIGHTS[d])}\n" for d in WEEKDAYS) + '''
[dwell]
kind = "lognormal"
median = 20
spread = 0.5

[[dwell.by_slot]]
weekdays = ["Saturday"]
slots = ["14:00"]
kind = "gamma"
median = 70
spread = 0.3
'''


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ny")
    (folder / "p.toml").write_text(PROFILE, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "simulate", "--start", START.date().isoformat(), "--days", str(DAYS), "--seed", "3", "--out",
        str(folder / "run"), "--format", "jsonl", "--timezone", "America/New_York",
        "--profile-file", str(folder / "p.toml"), "--base-daily-customers", "2000", "--quiet",
    ])
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture(scope="module")
def report(data: Path) -> Report:
    return build_report(data)


def local_entries(folder: Path) -> list[dt.datetime]:
    lines = (folder / "foot_traffic.jsonl").read_text().splitlines()
    return [dt.datetime.fromisoformat(json.loads(line)["entry_time"]).astimezone(NY) for line in lines]


def test_arrivals_are_binned_by_local_weekday_and_hour(data: Path, report: Report) -> None:
    arrivals = next(f for f in report.figures if f.name == "arrivals")
    local = local_entries(data)
    by_hand = Counter((t.weekday(), t.hour) for t in local)
    # The days each (weekday, hour) exists in the span: walk its UTC hours and read the local clock.
    dates: dict[tuple[int, int], set[dt.date]] = {}
    for h in range(DAYS * 24):
        t = (START + dt.timedelta(hours=h)).astimezone(NY)
        dates.setdefault((t.weekday(), t.hour), set()).add(t.date())
    days = np.zeros((7, 24))
    for (d, hour), seen in dates.items():
        days[d, hour] = len(seen)
    assert np.array_equal(arrivals.series["days"], days)
    counted = np.zeros((7, 24))
    for (d, hour), n in by_hand.items():
        counted[d, hour] = n
    np.testing.assert_allclose(np.nan_to_num(arrivals.series["simulated"] * days), counted, rtol=0, atol=1e-9)
    # Sunday 2025-11-02 01:00 lasts two hours: its expectation is two hours of its slot's rate.
    sunday = np.array(DEFAULT_WEIGHTS["Sunday"], dtype=float)
    mean = 2000 * sunday.sum() / (sum(sum(DEFAULT_WEIGHTS[d]) for d in WEEKDAYS) / 7)
    per_hour = mean * sunday[0] / sunday.sum() / 7  # the 00:00-06:59 slot, 7 hours
    assert arrivals.series["expected"][6, 1] == pytest.approx(2 * per_hour)
    assert arrivals.series["expected"][6, 3] == pytest.approx(per_hour)
    assert "America/New_York" in arrivals.x_label and "America/New_York" in arrivals.title


def test_daily_totals_are_local_days_and_every_time_axis_names_the_zone(data: Path, report: Report) -> None:
    figures = {f.name: f for f in report.figures}
    assert list(figures) == ["arrivals", "occupancy", "dwell", "daily"]
    per_day = Counter(t.date() for t in local_entries(data))
    daily = figures["daily"].series
    first, last = START.astimezone(NY).date(), (START + dt.timedelta(days=DAYS)).astimezone(NY).date()
    expected_days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    assert daily["day"].tolist() == [d.isoformat() for d in expected_days]
    assert daily["simulated"].tolist() == [per_day[d] for d in expected_days]
    # The fall-back day's expected total has 25 hours' worth: more than a Sunday's 24 would give.
    sunday = expected_days.index(dt.date(2025, 11, 2))
    assert np.diff(daily["day_start"])[sunday] == 25 * 3600
    for name in ("arrivals", "occupancy", "daily"):
        assert "America/New_York" in figures[name].x_label, (name, figures[name].x_label)


def test_the_dwell_expectation_mixes_the_models_by_their_visits(data: Path, report: Report) -> None:
    assert report.notes == []  # the profile's dwell models are known: no "default drawn" note
    dwell = next(f for f in report.figures if f.name == "dwell").series
    lines = [json.loads(line) for line in (data / "foot_traffic.jsonl").read_text().splitlines()]
    saturday_afternoon = sum(
        1 for s in lines
        if (t := dt.datetime.fromisoformat(s["entry_time"]).astimezone(NY)).weekday() == 5 and 14 <= t.hour < 17
    )
    others = len(lines) - saturday_afternoon
    assert saturday_afternoon > 100
    minutes = dwell["minutes"].astype(float)
    pmf = {m: m.survival(minutes - 1) - m.survival(minutes) for m in (LognormalDwell(20, 0.5), GammaDwell(70, 0.3))}
    by_hand = others * pmf[LognormalDwell(20, 0.5)] + saturday_afternoon * pmf[GammaDwell(70, 0.3)]
    # The report stops each model where its survival falls below 1e-12 (sim.expect.SURVIVAL_CUTOFF) and puts
    # that remainder in its last minute: at most 1e-12 of each visit.
    np.testing.assert_allclose(dwell["expected"], by_hand, rtol=1e-9, atol=len(lines) * 1e-12)


def test_several_stores_get_their_own_local_figures(tmp_path: Path) -> None:
    (tmp_path / "stores.toml").write_text(
        '[[stores]]\nid = "nyc"\ntimezone = "America/New_York"\nbaseline = 300\n\n'
        '[[stores]]\nid = "rome"\ntimezone = "Europe/Rome"\nbaseline = 500\n', encoding="utf-8")
    result = CliRunner().invoke(main, [
        "simulate", "--start", "2025-03-29", "--days", "2", "--seed", "8", "--out", str(tmp_path / "run"),
        "--format", "jsonl", "--stores", str(tmp_path / "stores.toml"), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    report = build_report(tmp_path / "run")
    figures = {f.name: f for f in report.figures}
    assert list(figures) == ["arrivals-nyc", "arrivals-rome", "occupancy", "dwell", "daily-nyc", "daily-rome"]
    assert "UTC" in figures["occupancy"].x_label  # two zones: the shared axis reads UTC, and says so
    lines = [json.loads(line) for line in (tmp_path / "run" / "foot_traffic.jsonl").read_text().splitlines()]
    for store, zone in (("nyc", "America/New_York"), ("rome", "Europe/Rome")):
        per_day = Counter(dt.datetime.fromisoformat(s["entry_time"]).astimezone(ZoneInfo(zone)).date().isoformat()
                          for s in lines if s["store_id"] == store)
        daily = figures[f"daily-{store}"]
        assert zone in daily.x_label and sum(per_day.values()) > 100
        assert dict(zip(daily.series["day"].tolist(), daily.series["simulated"].tolist(), strict=True)) == {
            d: float(per_day.get(d, 0)) for d in daily.series["day"].tolist()}
        assert set(per_day) <= set(daily.series["day"].tolist())
    # Rome springs forward on 2025-03-30: a 23-hour day.
    rome = figures["daily-rome"].series
    assert np.diff(rome["day_start"])[rome["day"].tolist().index("2025-03-30")] == 23 * 3600
