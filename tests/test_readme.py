"""The README stays true: every setting is in its table, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_settings_table() -> None:
    table = README.split("<!-- settings-table")[1].split("\n\n")[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert listed == {spec.env for spec in SPECS.values()}


def test_every_command_the_readme_names_exists() -> None:
    # Commands as typed: at a line start, in a code span, or after a shell prompt or &&.
    named = set(re.findall(r"(?:^|`|\$ |&& )(?:\.venv/bin/)?foot-traffic ([a-z]+)", README, flags=re.M))
    assert "simulate" in named
    runner = CliRunner()
    for command in named:
        assert runner.invoke(main, [command, "--help"]).exit_code == 0, command


def test_the_settings_table_states_each_engine_range() -> None:
    """Settings read through a sim.limits range show its bounds in the table's Accepts column."""
    from sim.limits import Range

    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", README, flags=re.M)}
    checked = 0
    for spec in SPECS.values():
        limits = getattr(spec.parse, "__self__", None)
        if isinstance(limits, Range):
            assert f"{limits.high:,.0f}" in rows[spec.env] and f"{limits.low:g}" in rows[spec.env], rows[spec.env]
            checked += 1
    assert checked >= 6
