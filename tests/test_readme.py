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
