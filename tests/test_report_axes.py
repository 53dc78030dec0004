"""The report's axes end near the data and name the right month (read from the drawn matplotlib axes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from producer.cli import main
from producer.report import build_report

HEAVY_TAIL = """name = "heavy-tail"
slots = ["00:00"]
[weights]
Monday = [1]
Tuesday = [1]
Wednesday = [1]
Thursday = [1]
Friday = [1]
Saturday = [1]
Sunday = [1]
[dwell]
kind = "lognormal"
median = 40
spread = 1.0
"""


def simulate(folder: Path, *args: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--seed", "3", "--out", str(folder), "--format", "jsonl",
                                       "--quiet", *args])
    assert result.exit_code == 0, result.output


def test_the_dwell_axis_ends_near_the_longest_visit_not_at_the_models_far_tail(tmp_path: Path) -> None:
    profile = tmp_path / "heavy.toml"
    profile.write_text(HEAVY_TAIL)
    simulate(tmp_path / "data", "--start", "2025-11-03", "--days", "2", "--profile-file", str(profile))
    report = build_report(tmp_path / "data")
    dwell = next(f for f in report.figures if f.name == "dwell")
    longest = int(report.data.minutes.max())
    expected = dwell.series["expected"]
    # The model's tail is drawn out to P(D > k) < 1e-12: far past the longest visit (the old axis end).
    assert expected.size > 2 * longest
    beyond = expected.sum() - np.cumsum(expected)
    tail_end = int(np.argmax(beyond < 0.5)) + 1  # under half a visit expected past here
    lo, hi = dwell.x_limits
    assert lo == 0 and hi == max(longest, tail_end) + 1
    assert hi < 1.5 * max(longest, tail_end) < expected.size


def test_a_november_week_is_not_labelled_december(tmp_path: Path) -> None:
    simulate(tmp_path / "data", "--start", "2025-11-24", "--days", "7")
    report = build_report(tmp_path / "data")
    occupancy = next(f for f in report.figures if f.name == "occupancy")
    *ticks, offset = occupancy.x_ticks
    # Days 25..30 of November, then 1 December at the run's end: the offset names both months, November first.
    assert ticks == ["25", "26", "27", "28", "29", "30", "Dec"]
    assert offset == "2025-Nov to 2025-Dec"


def test_a_week_inside_one_month_names_that_month(tmp_path: Path) -> None:
    simulate(tmp_path / "data", "--start", "2025-11-03", "--days", "7")
    report = build_report(tmp_path / "data")
    occupancy = next(f for f in report.figures if f.name == "occupancy")
    assert occupancy.x_ticks[-1] == "2025-Nov" and "Dec" not in occupancy.x_ticks
