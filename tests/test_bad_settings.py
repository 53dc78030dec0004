"""Bad input exits non-zero with one line naming the setting and what it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main

BASE = ["simulate", "--start", "2025-11-03", "--days", "1"]

ENV_CASES = [
    ({"DAILY_CUSTOMERS": "abc"}, "DAILY_CUSTOMERS", "whole number"),
    ({"DAILY_VARIATION_PCT": "-3"}, "DAILY_VARIATION_PCT", "fraction from 0 to 1"),
    ({"DAILY_VARIATION_PCT": "3"}, "DAILY_VARIATION_PCT", "fraction from 0 to 1"),
    ({"TRAFFIC_MULTIPLIER": "-1"}, "TRAFFIC_MULTIPLIER", "a number from 0 to 1,000"),
    ({"TRAFFIC_MULTIPLIER": "nan"}, "TRAFFIC_MULTIPLIER", "a number from 0 to 1,000"),
    ({"DISABLE_DAILY_VARIATION": "maybe"}, "DISABLE_DAILY_VARIATION", "true/false"),
    ({"BASE_DAILY_CUSTOMERS": "lots"}, "BASE_DAILY_CUSTOMERS", "a number from 0 to 20,000,000"),
    ({"SIM_START": "yesterday"}, "SIM_START", "ISO time"),
]


def _fail(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("env,name,accepts", ENV_CASES, ids=[c[1] + "=" + list(c[0].values())[0] for c in ENV_CASES])
def test_malformed_environment_settings_are_rejected(tmp_path: Path, env: dict[str, str], name: str, accepts: str) -> None:
    line = _fail(["simulate", "--days", "1", "--out", str(tmp_path)], env)
    assert name in line and accepts in line
    assert not (tmp_path / "foot_traffic.jsonl").exists()


@pytest.mark.parametrize("args,name", [
    (["--days", "0"], "--days"), (["--days", "-2"], "--days"), (["--days", "x"], "--days"),
    (["--daily-customers", "1.5"], "--daily-customers"),
    (["--until", "2025-11-01"], "--until"),
])
def test_malformed_options_are_rejected(tmp_path: Path, args: list[str], name: str) -> None:
    line = _fail(["simulate", "--start", "2025-11-03", "--out", str(tmp_path), *args])
    assert name in line


DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _weights(row: str, odd_day: str = "", odd_row: str = "") -> str:
    return "[weights]\n" + "".join(f"{d}=[{odd_row if d == odd_day else row}]\n" for d in DAYS)


PROFILES = {
    "not toml": ("slots = [", "not valid TOML"),
    "missing weekday": ('slots = ["00:00"]\n[weights]\nMonday=[1]\n', "weights.Tuesday"),
    "negative": ('slots = ["00:00", "12:00"]\n' + _weights("1, 1", "Friday", "1, -2"), "weights.Friday[1]"),
    "unordered": ('slots = ["00:00", "12:00", "08:00"]\n[weights]\n', "slots[2]"),
    "overlap": ('slots = ["00:00", "12:00", "12:00"]\n[weights]\n', "slots[2]"),
    "not numeric": ('slots = ["00:00"]\n' + _weights("1", "Sunday", '"x"'), "weights.Sunday[0]"),
    "all days zero": ('slots = ["00:00"]\n' + _weights("0"), "every weekday is closed"),
    "unknown key": ('slots = ["00:00"]\nslot = 3\n' + _weights("1"), "'slot'"),
    "bad time": ('slots = ["00:00", "25:00"]\n[weights]\n', "slots[1]"),
    "not starting at midnight": ('slots = ["06:00"]\n[weights]\n', "00:00"),
}


@pytest.mark.parametrize("case", list(PROFILES))
def test_broken_profile_files_are_rejected_naming_the_key(tmp_path: Path, case: str) -> None:
    text, key = PROFILES[case]
    path = tmp_path / "profile.toml"
    path.write_text(text)
    line = _fail([*BASE, "--out", str(tmp_path / "out"), "--profile-file", str(path)])
    assert "PROFILE_FILE" in line and key in line


def test_a_missing_profile_file_is_rejected(tmp_path: Path) -> None:
    line = _fail([*BASE, "--out", str(tmp_path)], {"PROFILE_FILE": str(tmp_path / "nope.toml")})
    assert "cannot read" in line
