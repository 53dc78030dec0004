"""``profile show``: expected customers per slot and day that add up to the week."""

from __future__ import annotations

import math
import re
from pathlib import Path

from click.testing import CliRunner

from producer.cli import main
from sim.profile import DEFAULT_WEIGHTS, WEEKDAYS
from tests.profiles import profile_text, write_profile

ROW = re.compile(r"^[│|] (\d\d:\d\d.\d\d:\d\d|day)\s*[│|](.*)[│|]\s*$")


def show(args: list[str]) -> tuple[dict[str, list[float]], float]:
    """Rows of the printed table (slot label or 'day' -> 7 numbers) and the week total."""
    result = CliRunner().invoke(main, ["profile", "show", *args])
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = [float(x) for x in re.split(r"[│|]", m.group(2))]
    total = re.search(r"week total ([\d.]+)", result.output)
    assert total, result.output
    return rows, float(total.group(1))


def test_expected_customers_add_up_to_the_weekly_total(tmp_path: Path) -> None:
    path = write_profile(tmp_path, profile_text(top="baseline = 800"))
    rows, total = show([str(path), "--traffic-multiplier", "1.5"])
    slots = [r for k, r in rows.items() if k != "day"]
    assert len(slots) == 6 and all(len(r) == 7 for r in slots)
    # The week's expected total is baseline x multiplier x 7 (the weekday factors average 1).
    assert total == 800 * 1.5 * 7
    # Cells are printed to 0.1, so 42 of them may be off by 42 x 0.05 in all.
    assert abs(sum(map(sum, slots)) - total) <= 42 * 0.05 + 1e-9
    assert abs(sum(rows["day"]) - total) <= 7 * 0.05 + 1e-9
    # Each day is its weekday's share of the week, from the weights table.
    sums = [math.fsum(DEFAULT_WEIGHTS[d]) for d in WEEKDAYS]
    for d in range(7):
        assert abs(rows["day"][d] - total * sums[d] / sum(sums)) <= 0.05 + 1e-9


def test_base_daily_customers_wins_over_the_profile_baseline(tmp_path: Path) -> None:
    path = write_profile(tmp_path, profile_text(top="baseline = 800"))
    _, total = show([str(path), "--base-daily-customers", "100"])
    assert total == 700.0


def test_a_calendar_week_shows_closures_and_special_days(tmp_path: Path) -> None:
    path = write_profile(tmp_path, profile_text(
        top='closures = ["2025-12-25"]',
        tables='[[special]]\ndate = "2025-12-24"\nmultiplier = 0.5\nslots = ["17:00", "20:00"]\n',
    ))
    plain, typical = show([str(path), "--daily-customers", "1000"])
    assert typical == 7000.0 and plain["day"] == [1000.0] * 7
    rows, total = show([str(path), "--daily-customers", "1000", "--week", "2025-12-22"])
    assert rows["day"][3] == 0.0  # Thursday 25 December
    wed = DEFAULT_WEIGHTS["Wednesday"]
    evening = (wed[4] + wed[5]) / sum(wed)
    assert abs(rows["day"][2] - 1000 * (1 - 0.5 * evening)) <= 0.05 + 1e-9
    assert rows["17:00–19:59"][2] == round(1000 * 0.5 * wed[4] / sum(wed), 1)
    assert abs(total - sum(rows["day"])) <= 7 * 0.05 + 1e-9


def test_groups_and_a_sensor_are_shown(tmp_path: Path) -> None:
    tables = "[groups]\nsizes = {1 = 0.5, 2 = 0.5}\nspread = 3\n[sensor]\nmiss_in = 0.02\noutage_mode = \"lose\"\n"
    path = write_profile(tmp_path, profile_text(tables=tables))
    result = CliRunner().invoke(main, ["profile", "show", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # 7,000 people a week in groups of mean 1.5; variance/mean E[G^2]/E[G] = 2.5 / 1.5.
    assert "groups: mean size 1.50 (about 4666.7 groups a week)" in text and "variance/mean 1.67" in text
    assert "misses in/out 0.02/0" in text and "(lose)" in text
    plain = CliRunner().invoke(main, ["profile", "show", str(write_profile(tmp_path, profile_text(), "p.toml"))])
    assert "groups:" not in plain.output and "sensor:" not in plain.output
