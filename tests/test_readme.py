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
def _section(title: str) -> str:
    return README.split(f"\n## {title}")[1].split("\n## ")[0]


def _extras() -> set[str]:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    return set(pyproject["project"]["optional-dependencies"])


def test_after_the_install_into_dot_venv_the_readme_says_how_to_reach_foot_traffic() -> None:
    # The first command installs into .venv; the examples after it call a bare `foot-traffic`:
    # before the first of those, the README says to activate the venv or to use its path.
    assert ".venv/bin/pip install" in _section("Two commands")
    first_bare = re.search(r"^foot-traffic ", README, flags=re.M)
    assert first_bare is not None
    before = README[:first_bare.start()]
    assert "`. .venv/bin/activate`" in before and "`.venv/bin/foot-traffic`" in before


def test_the_python_api_example_says_how_to_install_pandas() -> None:
    api = _section("Python API (notebooks)")
    assert ".frames()" in api
    named = re.findall(r"pip install '\.\[([a-z,]+)\]'", api)
    assert any("pandas" in n.split(",") or "notebooks" in n.split(",") for n in named), named


def test_every_extra_the_readme_names_is_declared() -> None:
    named = {e for group in re.findall(r"(?:foot-traffic-sim|'\.)\[([a-z,]+)\]", README) for e in group.split(",")}
    assert {"parquet", "report", "fit", "pandas"} <= named
    assert named <= _extras(), named - _extras()
