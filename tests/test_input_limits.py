"""Limits are stated, not crashed into: every out-of-range number is one line and exit 2.

Each case here once crashed or tried the impossible (allocating 1.8 TiB, an
OverflowError, numpy's "lam value too large", a ZeroDivisionError, a year
past 9999). Now each stops before any work with one line that names the
setting or file key and the range it accepts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS
from sim.limits import CUSTOMERS_PER_DAY, MULTIPLIER, TrafficError, check_daily_mean
from tests.profiles import profile_text, write_profile

#: The run's settings come from each test alone, never from the calling environment.
CLEAN = {spec.env: None for spec in SPECS.values()}


def one_error_line(args: list[str], env: dict[str, str] | None = None, code: int = 2) -> str:
    result = CliRunner().invoke(main, args, env={**CLEAN, **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("foot-traffic: error: "), result.stderr
    return lines[0]


def simulate(tmp_path: Path, *args: str) -> list[str]:
    return ["simulate", "--days", "1", "--seed", "1", "--quiet", "--out", str(tmp_path / "out"), *args]


@pytest.mark.parametrize(("env", "words"), [
    ({"DAILY_CUSTOMERS": str(10**12)}, ["DAILY_CUSTOMERS='1000000000000'", "a whole number from 0 to 20,000,000"]),
    ({"DAILY_CUSTOMERS": str(2**63)}, ["DAILY_CUSTOMERS='9223372036854775808'", "from 0 to 20,000,000"]),
    ({"DEFAULT_DAILY_CUSTOMERS": "1e300"}, ["DEFAULT_DAILY_CUSTOMERS='1e300'", "a number from 0 to 20,000,000"]),
    ({"TRAFFIC_MULTIPLIER": "1e308"}, ["TRAFFIC_MULTIPLIER='1e308'", "a number from 0 to 1,000"]),
    ({"PATIENCE_MINUTES": "1e308", "STORE_CAPACITY": "5"}, ["PATIENCE_MINUTES='1e308'", "<= 10,080"]),
    ({"STORE_CAPACITY": str(10**15)}, ["STORE_CAPACITY=", "from 1 to 20,000,000"]),
    ({"SIM_START": "9999-12-31"}, ["SIM_START='9999-12-31'", "1900-01-01", "3000-01-01"]),
    ({"SIM_START": "0001-01-01", "TIMEZONE": "America/New_York"}, ["SIM_START='0001-01-01'", "1900-01-01"]),
], ids=lambda v: "+".join(v) if isinstance(v, dict) else None)
def test_out_of_range_settings_are_one_line(tmp_path: Path, env: dict[str, str], words: list[str]) -> None:
    line = one_error_line(simulate(tmp_path), env)
    assert all(w in line for w in words), line
    assert not (tmp_path / "out").exists()


def test_speed_is_bounded_before_the_producer_connects() -> None:
    # No Redis anywhere near: the settings are checked first, so this never tries to connect.
    line = one_error_line(["produce", "--days", "1"], {"SPEED": "1e-300", "REDIS_URL": "redis://127.0.0.1:9/0"})
    assert "SPEED='1e-300'" in line and "a number from 0.001 to 1e9" in line


@pytest.mark.parametrize(("args", "words"), [
    (["--days", "100000"], ["--days='100000'", "<= 36,525 (a hundred years)"]),
    (["--days", "1", "--seed", str(2**64)], ["--seed='18446744073709551616'", "2**63 - 1"]),
    (["--start", "2999-12-01", "--days", "60", "--seed", "1"], ["--days='60'", "after 3000-01-01"]),
    (["--start", "2999-12-01", "--until", "9999-12-31", "--seed", "1"], ["--until='9999-12-31'", "3000-01-01"]),
])
def test_the_run_window_has_stated_bounds(tmp_path: Path, args: list[str], words: list[str]) -> None:
    line = one_error_line(["simulate", "--out", str(tmp_path / "out"), *args])
    assert all(w in line for w in words), line


def test_the_first_supported_day_runs_in_a_zone_west_of_utc(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--start", "1900-01-01", "--days", "0.5", "--seed", "1",
                                       "--timezone", "America/New_York", "--quiet", "--out", str(tmp_path)],
                                env=CLEAN)
    assert result.exit_code == 0, result.output
    first = (tmp_path / "foot_traffic.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert '"entry_time":"1900-01-01T' in first and '"weekday":"Sunday"' in first  # 31 Dec 1899 in New York


@pytest.mark.parametrize(("case", "text", "words"), [
    ("weight 1e308", profile_text(weights={"Monday": [1e308, 1, 1, 1, 1, 1]}),
     ["weights.Monday[0]", "1e+308", "from 0 to 1,000,000,000"]),
    ("spread 1e-320", profile_text(tables='[dwell]\nkind = "gamma"\nmedian = 20\nspread = 1e-320\n'),
     ["dwell.spread", "from 0.01 to 2"]),
    ("baseline 1e23", profile_text(top="baseline = 1e23"), ["baseline", "from 0 to 20,000,000"]),
    ("special multiplier", profile_text(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 1e308\n'),
     ["special[0].multiplier", "from 0 to 1,000"]),
    ("histogram edge", profile_text(tables='[dwell]\nkind = "histogram"\nedges = [1, 99999999999]\nweights = [1]\n'),
     ["dwell.edges[1]", "from 1 to 10,080"]),
    ("mixture band", profile_text(tables='[dwell]\nkind = "mixture"\nbands = [[1, 1e300]]\nshares = [1]\n'),
     ["dwell.bands[0][1]", "whole number from 1 to 10,080"]),
])
def test_out_of_range_profile_values_name_the_key(tmp_path: Path, case: str, text: str, words: list[str]) -> None:
    path = write_profile(tmp_path, text)
    line = one_error_line(simulate(tmp_path, "--profile-file", str(path)))
    assert "PROFILE_FILE" in line and all(w in line for w in words), line


@pytest.mark.parametrize(("store", "words"), [
    ('id = "a"\npatience_minutes = 1e308\ncapacity = 3', ["store 'a'", "patience_minutes", "<= 10,080"]),
    ('id = "a"\ndaily_customers = 1e23', ["store 'a'", "daily_customers", "whole number from 0 to 20,000,000"]),
    ('id = "a"\ndaily_customers = 100000000000000', ["store 'a'", "daily_customers", "20,000,000"]),
    ('id = "a"\nmultiplier = 1e308', ["store 'a'", "multiplier", "from 0 to 1,000"]),
    ('id = "a"\nbaseline = 10000000\nmultiplier = 1000', ["store 'a'", "comes to", "more than 20,000,000"]),
])
def test_out_of_range_stores_values_name_the_store_and_key(tmp_path: Path, store: str, words: list[str]) -> None:
    path = tmp_path / "stores.toml"
    path.write_text(f"[[stores]]\n{store}\n", encoding="utf-8")
    line = one_error_line(simulate(tmp_path, "--stores", str(path)))
    assert "STORES file" in line and all(w in line for w in words), line


def test_the_product_of_limits_is_checked_as_one_daily_mean(tmp_path: Path) -> None:
    """Each factor within its range, their product far beyond what a day can hold."""
    seasonal = ", ".join(["1000"] * 12)
    text = profile_text(
        top=f"baseline = {CUSTOMERS_PER_DAY.high:.0f}\nseasonality = [{seasonal}]",
        tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 1000\n',
        weights={"Monday": [1e9, 0, 0, 0, 0, 0]},
    )
    path = write_profile(tmp_path, text)
    env = {"TRAFFIC_MULTIPLIER": f"{MULTIPLIER.high:.0f}"}
    line = one_error_line(simulate(tmp_path, "--profile-file", str(path)), env)
    assert "TRAFFIC_MULTIPLIER" in line and "PROFILE_FILE" in line and "expected customers in a day" in line
    assert "more than 20,000,000" in line


def test_the_daily_mean_is_checked_where_it_is_formed() -> None:
    with pytest.raises(TrafficError, match=r"^store 'x' on 2025-11-03: the day's mean comes to inf"):
        check_daily_mean(float("inf"), "store 'x' on 2025-11-03")
    check_daily_mean(CUSTOMERS_PER_DAY.high, "store 'x'")  # the limit itself is accepted


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-01"])
def test_profile_show_weeks_stay_within_the_supported_dates(week: str) -> None:
    line = one_error_line(["profile", "show", "--week", week])
    assert f"--week='{week}'" in line and "1900-01-01" in line
