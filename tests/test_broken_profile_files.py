"""Broken profile files give one-line errors naming the key; good ones round-trip."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from sim.profile import ProfileError, load_profile, profile_from_mapping
from tests.profiles import profile_text, write_profile

LOGNORMAL = '[dwell]\nkind = "lognormal"\nmedian = 20\nspread = 0.5\n'

BROKEN = {
    "bad closure date": (dict(top='closures = ["2025-12-25", "2025-13-01"]'), "closures[1]"),
    "closure not a date": (dict(top="closures = [20251225]"), "closures[0]"),
    "closure listed twice": (dict(top='closures = ["2025-12-25", 2025-12-25]'), "closures[1]"),
    "negative multiplier": (dict(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = -2\n'), "special[0].multiplier"),
    "multiplier not a number": (dict(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = "x"\n'), "special[0].multiplier"),
    "special without date": (dict(tables="[[special]]\nmultiplier = 2\n"), "special[0].date"),
    "special unknown slot": (
        dict(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2\nslots = ["18:00"]\n'), "special[0].slots[0]"),
    "special unknown key": (dict(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2\nfactor = 1\n'), "special[0].factor"),
    "special on a closure": (
        dict(top='closures = ["2025-11-28"]', tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2\n'),
        "special[0].date"),
    "special overlapping": (
        dict(tables='[[special]]\ndate = "2025-11-28"\nmultiplier = 2\n[[special]]\ndate = "2025-11-28"\nmultiplier = 3\n'),
        "special[1]"),
    "seasonality too short": (dict(top="seasonality = [1, 1, 1]"), "seasonality"),
    "seasonality negative": (dict(top="seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1]"), "seasonality[11]"),
    "closed unknown slot": (dict(tables='[closed]\nMonday = ["06:00"]\n'), "closed.Monday[0]"),
    "closed unknown day": (dict(tables='[closed]\nFunday = ["00:00"]\n'), "closed.Funday"),
    "every day closed": (
        dict(weights={d: [0] * 6 for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}),
        "weights"),
    "unknown dwell kind": (dict(tables='[dwell]\nkind = "weibull"\nmedian = 3\n'), "dwell.kind"),
    "dwell without kind": (dict(tables="[dwell]\nmedian = 3\n"), "dwell.kind"),
    "dwell missing spread": (dict(tables='[dwell]\nkind = "gamma"\nmedian = 30\n'), "dwell.spread"),
    "dwell negative median": (dict(tables='[dwell]\nkind = "lognormal"\nmedian = -5\nspread = 0.5\n'), "dwell.median"),
    "dwell spread too large": (dict(tables='[dwell]\nkind = "gamma"\nmedian = 30\nspread = 9\n'), "dwell.spread"),
    "dwell unknown parameter": (dict(tables='[dwell]\nkind = "gamma"\nmedian = 30\nspread = 1\nshape = 2\n'), "dwell.shape"),
    "histogram edges not increasing": (
        dict(tables='[dwell]\nkind = "histogram"\nedges = [1, 10, 5]\nweights = [1, 1]\n'), "dwell.edges[2]"),
    "histogram weights count": (
        dict(tables='[dwell]\nkind = "histogram"\nedges = [1, 10, 20]\nweights = [1]\n'), "dwell.weights"),
    "histogram negative weight": (
        dict(tables='[dwell]\nkind = "histogram"\nedges = [1, 10, 20]\nweights = [1, -1]\n'), "dwell.weights[1]"),
    "histogram fractional edge": (
        dict(tables='[dwell]\nkind = "histogram"\nedges = [1, 10.5, 20]\nweights = [1, 1]\n'), "dwell.edges[1]"),
    "histogram all zero": (
        dict(tables='[dwell]\nkind = "histogram"\nedges = [1, 10, 20]\nweights = [0, 0]\n'), "dwell.weights"),
    "mixture bad band": (
        dict(tables='[dwell]\nkind = "mixture"\nbands = [[10, 5]]\nshares = [1]\n'), "dwell.bands[0]"),
    "mixture shares": (
        dict(tables='[dwell]\nkind = "mixture"\nbands = [[1, 5], [6, 9]]\nshares = [0.5, 0.4]\n'), "dwell.shares"),
    "by_slot unknown weekday": (
        dict(tables=LOGNORMAL + '[[dwell.by_slot]]\nweekdays = ["Caturday"]\nkind = "default"\n'),
        "dwell.by_slot[0].weekdays[0]"),
    "by_slot overlap": (
        dict(tables=LOGNORMAL + '[[dwell.by_slot]]\nslots = ["10:00"]\nkind = "default"\n'
             '[[dwell.by_slot]]\nweekdays = ["Monday"]\nkind = "gamma"\nmedian = 9\nspread = 1\n'),
        "dwell.by_slot[1]"),
    "by_slot bad model": (
        dict(tables=LOGNORMAL + '[[dwell.by_slot]]\nslots = ["10:00"]\nkind = "gamma"\nmedian = 0\nspread = 1\n'),
        "dwell.by_slot[0].median"),
    "baseline negative": (dict(top="baseline = -1"), "baseline"),
    "unknown top key": (dict(top="closure = []"), "'closure'"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_profile_gives_one_line_naming_the_key(tmp_path: Path, case: str) -> None:
    kwargs, key = BROKEN[case]
    path = write_profile(tmp_path, profile_text(**kwargs))  # type: ignore[arg-type]
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message
    assert key in message, message
    assert str(path) in message


@pytest.mark.parametrize("command", [["simulate", "--days", "1", "--seed", "1"], ["profile", "show"]])
def test_the_command_line_exits_2_with_one_line(tmp_path: Path, command: list[str]) -> None:
    path = write_profile(tmp_path, profile_text(tables='[dwell]\nkind = "weibull"\n'))
    out = tmp_path / "out"
    args = [*command, "--profile-file", str(path)] + (["--out", str(out)] if command[0] == "simulate" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "dwell.kind" in lines[0] and "weibull" in lines[0], result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_full_profile_round_trips_through_toml_and_is_hashable(tmp_path: Path) -> None:
    text = profile_text(
        top='baseline = 640.5\nclosures = ["2025-12-25", 2026-01-01]\nseasonality = [1, 1, 1, 1, 1, 1, 1, 0.8, 1, 1, 1.2, 1.6]',
        tables=(
            '[closed]\nSunday = ["00:00", "20:00"]\n'
            '[[special]]\ndate = "2025-11-28"\nmultiplier = 2.5\n'
            '[[special]]\ndate = "2025-12-24"\nmultiplier = 0\nslots = ["17:00", "20:00"]\n'
            '[dwell]\nkind = "histogram"\nedges = [1, 10, 30, 60]\nweights = [2, 5, 1]\n'
            '[[dwell.by_slot]]\nweekdays = ["Saturday", "Sunday"]\nslots = ["10:00", "14:00"]\n'
            'kind = "gamma"\nmedian = 45\nspread = 0.4\n'
        ),
    )
    profile = load_profile(write_profile(tmp_path, text))
    again = profile_from_mapping(tomllib.loads(profile.to_toml()))
    assert again == dataclasses.replace(profile, name=again.name)
    assert hash(again) == hash(dataclasses.replace(profile, name=again.name))
    assert profile.weights[6][0] == 0 and profile.weights[6][5] == 0
