"""An output folder holds one run (issue 21): a new run replaces the whole earlier one, and ``report``
refuses files that are not the run its ``run.json`` describes.

Before, ``simulate --format jsonl`` into a folder holding a CSV run left the CSV
files beside the new ``run.json``; ``report --format csv`` then drew the old
run's data under the new run's seed and expectation (five times off, no warning).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from producer.cli import main

RUN = ["simulate", "--start", "2025-11-03", "--days", "1", "--quiet"]


def simulate(out: Path, *args: str) -> None:
    result = CliRunner().invoke(main, [*RUN, "--out", str(out), *args])
    assert result.exit_code == 0, result.output


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_run_in_another_format_replaces_the_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    simulate(out, "--format", "csv", "--seed", "1", "--daily-customers", "5000")
    (out / "notes.txt").write_text("mine")  # not a run's file: never touched
    simulate(out, "--format", "jsonl", "--seed", "2", "--daily-customers", "1000")
    assert names(out) == {"foot_traffic.jsonl", "foot_traffic_realistic.jsonl", "run.json", "notes.txt"}
    assert json.loads((out / "run.json").read_text())["seed"] == 2


def test_a_plain_run_replaces_a_partitioned_one_and_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    simulate(out, "--format", "csv", "--partition", "--seed", "1")
    assert {"foot_traffic", "foot_traffic_realistic"} <= names(out)
    simulate(out, "--format", "csv", "--seed", "2")
    assert names(out) == {"foot_traffic.csv", "foot_traffic_realistic.csv", "run.json"}
    simulate(out, "--format", "jsonl", "--partition", "--seed", "3")
    assert names(out) == {"foot_traffic", "foot_traffic_realistic", "run.json"}


def test_a_run_without_a_sensor_removes_a_sensor_runs_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sensor = tmp_path / "sensor.toml"
    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "profiles" / "sensor-and-groups.toml", sensor)
    simulate(out, "--format", "csv", "--profile-file", str(sensor), "--seed", "1")
    assert "foot_traffic_counts.csv" in names(out)
    simulate(out, "--format", "jsonl", "--seed", "2")
    assert names(out) == {"foot_traffic.jsonl", "foot_traffic_realistic.jsonl", "run.json"}


def _report(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "producer.cli", "report", str(folder), "--out",
                           str(folder.parent / "report.html"), *args], capture_output=True, text=True, timeout=300)


def test_report_refuses_files_that_are_not_the_recorded_run(tmp_path: Path) -> None:
    """A folder made before the fix: another run's CSV files beside a JSONL run's run.json."""
    old, out = tmp_path / "old", tmp_path / "out"
    simulate(old, "--format", "csv", "--seed", "1", "--daily-customers", "5000")
    simulate(out, "--format", "jsonl", "--seed", "2", "--daily-customers", "1000")
    for name in ("foot_traffic.csv", "foot_traffic_realistic.csv"):
        shutil.copy(old / name, out / name)
    refused = _report(out, "--format", "csv")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "the csv files are not the run" in lines[0] and "(a jsonl run)" in lines[0], lines
    assert not (tmp_path / "report.html").exists()
    # Without --format the recorded run's files are read (not "several formats; pass --format").
    drawn = _report(out)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "report.html").is_file()
