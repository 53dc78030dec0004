"""Typos are not silent; yes/no settings are flags; choices are listed in --help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS, near_misses

CLEAN = {spec.env: None for spec in SPECS.values()}


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["simulate", "--start", "2025-11-03", "--days", "0.2", "--quiet", "--out", str(tmp_path), *args],
        env={**CLEAN, **(env or {})},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def test_a_mistyped_setting_is_warned_about_naming_the_setting(tmp_path: Path) -> None:
    code, err = run(tmp_path, "--seed", "1", env={"STORE_CAPCITY": "10"})
    assert code == 0
    assert err.splitlines() == [
        "foot-traffic: warning: STORE_CAPCITY is not a setting and is ignored; did you mean STORE_CAPACITY?"
    ]


@pytest.mark.parametrize(("variable", "setting"), [
    ("STORE_CAPCITY", "STORE_CAPACITY"), ("DAILY_CUSTOMER", "DAILY_CUSTOMERS"), ("TIMEZOEN", "TIMEZONE"),
    ("REDIS_PROT", "REDIS_PORT"), ("SEEDS", "SEED"), ("TRAFIC_MULTIPLYER", "TRAFFIC_MULTIPLIER"),
])
def test_near_misses_find_the_setting(variable: str, setting: str) -> None:
    assert near_misses({variable: "1"}) == [(variable, setting)]


@pytest.mark.parametrize("variable", [
    "STORE_CAPACITY", "HOME", "USER", "PATH", "SHELL", "LANG", "TERM", "HOSTNAME", "PWD", "TZ", "CI",
    "store_capcity", "Store_Capcity", "PYTHONPATH", "VIRTUAL_ENV", "MY_STORE_CAPACITY_LIMIT", "SPEEDOMETER",
])
def test_unrelated_or_correct_variables_are_left_alone(variable: str) -> None:
    assert near_misses({variable: "1"}) == []


def test_a_flag_takes_no_value_and_does_not_swallow_the_next_option(tmp_path: Path) -> None:
    code, err = run(tmp_path, "--disable-daily-variation", "--seed", "5")
    assert code == 0, err
    assert json.loads((tmp_path / "run.json").read_text())["seed"] == 5
    settings = json.loads((tmp_path / "run.json").read_text())["settings"]
    assert settings["disable_daily_variation"] is True


def test_a_flag_given_a_value_is_an_error(tmp_path: Path) -> None:
    code, err = run(tmp_path, "--disable-daily-variation", "1")
    assert code == 2 and "unexpected extra argument" in err.lower()


def test_the_negative_flag_overrides_the_environment(tmp_path: Path) -> None:
    code, err = run(tmp_path, "--no-disable-daily-variation", "--seed", "1", env={"DISABLE_DAILY_VARIATION": "1"})
    assert code == 0, err
    assert json.loads((tmp_path / "run.json").read_text())["settings"]["disable_daily_variation"] is False


def test_without_the_flag_the_environment_decides(tmp_path: Path) -> None:
    code, err = run(tmp_path, "--seed", "1", env={"DISABLE_DAILY_VARIATION": "yes"})
    assert code == 0, err
    assert json.loads((tmp_path / "run.json").read_text())["settings"]["disable_daily_variation"] is True


@pytest.mark.parametrize(("command", "shown"), [
    (["simulate"], ["--capacity-mode [queue|loss]", "--write-rejected / --no-write-rejected",
                    "--disable-daily-variation / --no-disable-daily-variation"]),
    (["produce"], ["--log-level [DEBUG|INFO|WARNING|ERROR|CRITICAL]", "--publish-clock / --no-publish-clock"]),
])
def test_help_lists_choices_and_flags(command: list[str], shown: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert all(s in text for s in shown), result.output
