"""``profile fit`` reads counts from the column it is told, and refuses what it cannot use instead of guessing.

Hourly counts are built by hand: 14 days of 24 hours whose counts add up to 1,012 a day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from sim.profile import load_profile

START = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
DAY = [40] * 12 + [44] * 11 + [48]  # 480 + 484 + 48 = 1,012


def counts_csv(path: Path, column: str) -> Path:
    rows = [f"{(START + dt.timedelta(hours=h)).isoformat()},{DAY[h % 24]}\n" for h in range(14 * 24)]
    path.write_text(f"hour,{column}\n" + "".join(rows), encoding="utf-8")
    return path


def fit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["profile", "fit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_counts_are_read_from_the_column_named_by_count_column(tmp_path: Path) -> None:
    code, out, err = fit(str(counts_csv(tmp_path / "h.csv", "visitors")), "-o", str(tmp_path / "p.toml"),
                         "--count-column", "visitors", "--dwell", "none")
    assert code == 0, err
    assert "from 14,168 entries on 14 whole local days" in out
    assert load_profile(tmp_path / "p.toml").baseline == pytest.approx(1012)


def test_counts_without_a_count_column_are_refused_not_read_as_one_entry_per_row(tmp_path: Path) -> None:
    code, out, err = fit(str(counts_csv(tmp_path / "h.csv", "visitors")), "-o", str(tmp_path / "p.toml"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "looks like hourly counts" in err and "'visitors'" in err and "--count-column NAME" in err
    assert not (tmp_path / "p.toml").exists()


def test_a_count_column_that_is_not_there_is_named(tmp_path: Path) -> None:
    code, _, err = fit(str(counts_csv(tmp_path / "h.csv", "visitors")), "-o", str(tmp_path / "p.toml"),
                       "--count-column", "people")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--count-column 'people': no such column" in err and "visitors" in err


def test_the_count_column_is_still_found_by_its_usual_name(tmp_path: Path) -> None:
    code, out, err = fit(str(counts_csv(tmp_path / "h.csv", "count")), "-o", str(tmp_path / "p.toml"),
                         "--dwell", "none")
    assert code == 0, err
    assert load_profile(tmp_path / "p.toml").baseline == pytest.approx(1012)


@pytest.fixture(scope="module")
def door_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("doors")
    result = CliRunner().invoke(main, ["simulate", "--start", "2025-11-03", "--days", "7", "--seed", "4",
                                       "--out", str(folder), "--format", "csv", "--quiet"])
    assert result.exit_code == 0, result.output
    doors = folder / "foot_traffic_realistic.csv"  # the door events: entries and exits, no durations
    assert doors.read_text().splitlines()[0].startswith('"event_type","time",')
    return doors


@pytest.mark.parametrize("kind", ["gamma", "lognormal", "histogram"])
def test_a_dwell_asked_for_without_durations_is_refused(door_events: Path, tmp_path: Path, kind: str) -> None:
    code, out, err = fit(str(door_events), "-o", str(tmp_path / "p.toml"), "--dwell", kind)
    assert code == 2 and out == "" and not (tmp_path / "p.toml").exists()
    assert len(err.strip().splitlines()) == 1
    assert f"--dwell {kind} needs visit durations" in err and "--durations FILE" in err


def test_door_events_fit_without_a_dwell_when_none_is_asked_for(door_events: Path, tmp_path: Path) -> None:
    for extra in (["--dwell", "none"], []):  # the default --dwell keeps the default dwell, and says so
        code, out, err = fit(str(door_events), "-o", str(tmp_path / "p.toml"), "--force", *extra)
        assert code == 0, err
        assert "dwell default (no durations)" in out
        assert load_profile(tmp_path / "p.toml").dwell is None
