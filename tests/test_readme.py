"""The README and the documentation pages stay true: every setting is in its table, their commands exist.

The README is the way in (at most 250 lines: two commands, a live recipe, the
extras, where to go); the rest lives in the pages under ``docs/``, and each
check follows the text it checks (the settings table to ``docs/settings.md``,
the Python API to ``docs/api.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    """The text of one documentation page, ``docs/<name>``."""
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


#: The README and every documentation page, by name.
TEXTS = {"README.md": README} | {f"docs/{p.relative_to(ROOT / 'docs')}": p.read_text(encoding="utf-8")
                                 for p in sorted((ROOT / "docs").rglob("*.md"))}
SETTINGS = page("settings.md")


def test_every_setting_is_in_the_settings_table() -> None:
    table = SETTINGS.split("<!-- settings-table")[1].split("\n\n")[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert listed == {spec.env for spec in SPECS.values()}


def test_every_command_the_readme_names_exists() -> None:
    # Commands as typed: at a line start, in a code span, or after a shell prompt or &&.
    pattern = r"(?:^|`|\$ |&& )(?:\.venv/bin/)?foot-traffic ([a-z]+)"
    named = set(re.findall(pattern, README, flags=re.M))
    assert "simulate" in named
    for text in TEXTS.values():
        named |= set(re.findall(pattern, text, flags=re.M))
    runner = CliRunner()
    for command in named:
        assert runner.invoke(main, [command, "--help"]).exit_code == 0, command


def test_the_settings_table_states_each_engine_range() -> None:
    """Settings read through a sim.limits range show its bounds in the table's Accepts column."""
    from sim.limits import Range

    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", SETTINGS, flags=re.M)}
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
    api = page("api.md")
    assert ".frames()" in api
    named = re.findall(r"pip install '\.\[([a-z,]+)\]'", api)
    assert any("pandas" in n.split(",") or "notebooks" in n.split(",") for n in named), named


def test_every_extra_the_readme_names_is_declared() -> None:
    def extras_in(text: str) -> set[str]:
        return {e for group in re.findall(r"(?:foot-traffic-sim|'\.)\[([a-z,]+)\]", text) for e in group.split(",")}

    named = extras_in(README)
    assert {"parquet", "report", "fit", "pandas"} <= named
    assert named <= _extras(), named - _extras()
    for name, text in TEXTS.items():
        assert extras_in(text) <= _extras(), (name, extras_in(text) - _extras())


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 250


def test_the_readme_lists_every_extra_in_its_table() -> None:
    table = _section("Extras").split("\n\n")[2]
    listed = set(re.findall(r"^\| `([a-z]+)` \|", table, flags=re.M))
    assert listed == _extras(), listed ^ _extras()


def test_the_readme_gives_a_newcomer_two_commands() -> None:
    """One installs and runs the main job offline, the other installs and runs the tests."""
    blocks = re.findall(r"```sh\n(.*?)```", _section("Two commands"), flags=re.S)
    assert len(blocks) == 2, blocks
    assert all(len(block.strip().splitlines()) == 1 for block in blocks), blocks
    assert "pip install . &&" in blocks[0] and "foot-traffic simulate" in blocks[0]
    assert "--redis" not in blocks[0]
    assert blocks[1].strip() == "bash scripts/test.sh"


def test_the_readme_live_recipe_never_uses_the_default_redis_port() -> None:
    recipe = _section("A live run on a scratch Redis")
    assert "redis-server --port" in recipe and "XRANGE" in recipe and "--redis-url" in recipe
    assert ":6379" not in recipe.split("```sh")[1] and "-p 6379" not in recipe
