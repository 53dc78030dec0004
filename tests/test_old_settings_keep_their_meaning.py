"""The old producer's settings mean what they meant: any text for SEED, an empty value is unset."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.settings import Settings, given_settings

ARGS = ["simulate", "--start", "2025-11-03", "--days", "1", "--daily-customers", "300", "--quiet"]


def lines(tmp_path: Path, name: str, env: dict[str, str], *extra: str) -> bytes:
    out = tmp_path / name
    result = CliRunner().invoke(main, [*ARGS, "--out", str(out), *extra], env=env)
    assert result.exit_code == 0, result.output
    return (out / "foot_traffic.jsonl").read_bytes()


def test_a_text_seed_is_hashed_to_a_documented_number_and_repeats(tmp_path: Path) -> None:
    expected = int.from_bytes(hashlib.sha256(b"store-demo").digest()[:8], "big") & (2**63 - 1)
    assert Settings.load({"SEED": "store-demo"}).seed == expected
    assert Settings.load({"SEED": " 42 "}).seed == 42
    assert Settings.load({"SEED": "-1"}).seed == int.from_bytes(hashlib.sha256(b"-1").digest()[:8], "big") & (2**63 - 1)
    first = lines(tmp_path, "a", {"SEED": "store-demo"})
    assert first == lines(tmp_path, "b", {}, "--seed", "store-demo")
    assert first == lines(tmp_path, "c", {}, "--seed", str(expected))
    assert first != lines(tmp_path, "d", {"SEED": "store-demo2"})


@pytest.mark.parametrize("name", ["DAILY_CUSTOMERS", "SEED", "SPEED", "STORE_CAPACITY", "TIMEZONE", "REDIS_URL",
                                  "DISABLE_DAILY_VARIATION", "CLOCK"])
def test_an_empty_value_is_the_same_as_unset(name: str) -> None:
    for empty in ("", "  "):
        assert Settings.load({name: empty}) == Settings.load({})
        assert given_settings({}, {name: empty}) == set()
    assert given_settings({}, {"SPEED": "2"}) == {"speed"}


def test_a_compose_file_with_empty_settings_runs(tmp_path: Path) -> None:
    """``DAILY_CUSTOMERS=`` and friends (a compose file's blanks) run exactly as if they were not there."""
    blanks = {"DAILY_CUSTOMERS": "", "BASE_DAILY_CUSTOMERS": "", "STORE_CAPACITY": "", "PATIENCE_MINUTES": ""}
    assert lines(tmp_path, "blanks", blanks, "--seed", "3") == lines(tmp_path, "plain", {}, "--seed", "3")
