"""``profile fit`` writes its TOML through a writer: awkward names round-trip.

It used to format the name into the file by hand, so ``--name "Joe's shop"``
wrote a file that no TOML parser would read.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS
from sim.profile import load_profile

CLEAN = {spec.env: None for spec in SPECS.values()}

NAMES = [
    "Joe's shop",
    'the "big" store',
    "back\\slash and C:\\path",
    "two\nlines",
    "tab\there",
    "caf\u00e9 \u2013 \U0001f6d2",
    "'''",
    '"""',
    "[weights]\nMonday = [1]",
    "# not a comment",
    "",
]


def test_profile_fit_round_trips_awkward_names(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "observed"
    made = runner.invoke(main, ["simulate", "--start", "2025-11-03", "--days", "14", "--seed", "7",
                                "--quiet", "--out", str(data)], env=CLEAN)
    assert made.exit_code == 0, made.output
    sessions = data / "foot_traffic.jsonl"
    for i, name in enumerate(NAMES):
        out = tmp_path / f"fitted{i}.toml"
        result = runner.invoke(main, ["profile", "fit", str(sessions), "-o", str(out), "--name", name], env=CLEAN)
        assert result.exit_code == 0, (name, result.output)
        profile = load_profile(out)
        assert profile.name == name
        assert profile.dwell is not None and profile.baseline is not None
        shown = runner.invoke(main, ["profile", "show", str(out)], env=CLEAN)
        assert shown.exit_code == 0, (name, shown.output)
