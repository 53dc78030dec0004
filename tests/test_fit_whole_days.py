"""``profile fit`` uses whole local days only and counts daylight-saving days by their real length.

Hourly counts are built by hand (no simulation): every hour of every weekday
holds the same count, so an ordinary day and a 23- or 25-hour day differ only
in length, and a correct fit gives every weekday the very same weights.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from producer.cli import main
from sim.calendar import Calendar, SpecialDay
from sim.profile import DEFAULT_PROFILE, load_profile, profile_from_mapping

PER_HOUR = 12
NY_START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)  # across the spring-forward night of 2025-03-09 in New York
NY_HOURS = (dt.datetime(2025, 4, 21, tzinfo=dt.UTC) - NY_START) // dt.timedelta(hours=1)


def hourly_csv(path: Path, skip: dt.datetime | None = None) -> Path:
    rows = []
    for h in range(NY_HOURS):
        t = NY_START + dt.timedelta(hours=h)
        if t != skip:
            rows.append(f"{t.isoformat()},{PER_HOUR}\n")
    path.write_text("hour,count\n" + "".join(rows), encoding="utf-8")
    return path


def fit(args: list[str]) -> str:
    result = CliRunner().invoke(main, ["profile", "fit", *args, "--dwell", "none"])
    assert result.exit_code == 0, result.output
    return result.output


def test_daylight_saving_days_fit_as_the_days_they_are(tmp_path: Path) -> None:
    out = fit([str(hourly_csv(tmp_path / "h.csv")), "-o", str(tmp_path / "p.toml"), "--timezone", "America/New_York"])
    # The UTC hours start at 19:00 local on 2025-03-02 and end at 18:00 on 2025-04-20: both days are partial.
    assert "dropped 2 partial local days (missing hours): 2025-03-02, 2025-04-20" in out
    profile = load_profile(tmp_path / "p.toml")
    # 2025-03-09 (23 hours: the 00:00 slot lasts 6 hours) is one of 7 Sundays: fitted by its real slot
    # lengths, Sunday's weights are every other day's, the slots' lengths in hours over 24, in percent.
    # (Counted as an ordinary day it would pull Sunday's night slot 1/49 down.)
    hours = [7, 3, 4, 3, 3, 4]
    for row in profile.weights:
        assert row == pytest.approx([100 * h / 24 for h in hours], abs=1e-4)
    assert profile.baseline == pytest.approx(24 * PER_HOUR)


def test_a_day_with_a_missing_hour_is_dropped_and_named(tmp_path: Path) -> None:
    gap = dt.datetime(2025, 4, 16, 15, tzinfo=dt.UTC)  # 11:00 in New York
    out = fit([str(hourly_csv(tmp_path / "h.csv", skip=gap)), "-o", str(tmp_path / "p.toml"),
               "--timezone", "America/New_York"])
    assert "dropped 3 partial local days (missing hours): 2025-03-02, 2025-04-16, 2025-04-20" in out
    assert load_profile(tmp_path / "p.toml").baseline == pytest.approx(24 * PER_HOUR)


def test_profiles_are_written_with_proper_toml_quoting(tmp_path: Path) -> None:
    name = 'Caf\u00e9 "Roma" \\ via\tdel\nCorso \x7f'
    out = tmp_path / "p.toml"
    fit([str(hourly_csv(tmp_path / "h.csv")), "-o", str(out), "--name", name])
    assert load_profile(out).name == name
    profile = DEFAULT_PROFILE.__class__(
        starts=DEFAULT_PROFILE.starts, weights=DEFAULT_PROFILE.weights, name=name,
        calendar=Calendar(closures=(dt.date(2025, 12, 25),), seasonality=(1.0,) * 11 + (1.25,),
                          special=(SpecialDay(dt.date(2025, 12, 24), 0.0, (4, 5)),
                                   SpecialDay(dt.date(2025, 11, 28), 2.5))),
    )
    assert profile_from_mapping(tomllib.loads(profile.to_toml())) == profile
    doc = {"a b": "x", "n": 1.5, "whole": 2.0, "d": dt.date(2025, 1, 2), "t": {"k": [1, [2, 3]]},
           "rows": [{"v": True}, {"v": False}]}
    assert tomllib.loads(tomli_w.dumps(doc)) == doc


@pytest.mark.parametrize(("option", "value", "accepted"), [
    ("--level", "0", "between 0 and 1"), ("--level", "x", "between 0 and 1"),
    ("--bin-width", "0", "from 1 to 1440"), ("--bin-width", "5.5", "from 1 to 1440"),
])
def test_bad_fit_options_give_one_line_errors(tmp_path: Path, option: str, value: str, accepted: str) -> None:
    result = CliRunner().invoke(main, ["profile", "fit", str(hourly_csv(tmp_path / "h.csv")), "-o",
                                       str(tmp_path / "p.toml"), "--calendar", option, value])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"foot-traffic: error: {option}=") and accepted in lines[0], lines
    assert not (tmp_path / "p.toml").exists()
