"""The report of a run with a door sensor: true against counted occupancy (issue 12, part 4)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from producer.cli import main
from producer.report import build_report
from tests.profiles import profile_text, write_profile

SENSOR = "[sensor]\nmiss_in = 0.03\nmiss_out = 0.06\ndouble_in = 0.01\nduplicate = 0.02\noutages_per_day = 1\n"


def _simulate(folder: Path, profile: Path, fmt: str = "jsonl") -> None:
    result = CliRunner().invoke(main, [
        "simulate", "--start", "2025-11-03", "--days", "8", "--seed", "3", "--profile-file", str(profile),
        "--out", str(folder), "--format", fmt, "--quiet",
    ], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_the_sensor_figure_draws_the_true_and_the_counted_occupancy(tmp_path: Path, fmt: str) -> None:
    _simulate(tmp_path / "o", write_profile(tmp_path, profile_text(tables=SENSOR)), fmt)
    report = build_report(tmp_path / "o")
    figure = next(f for f in report.figures if f.name == "sensor")
    assert imread(io.BytesIO(figure.png)).shape[0] > 100
    times = figure.series["time"]
    assert times[0] == _epoch("2025-11-03T00:15:00+00:00") and times[-1] == _epoch("2025-11-10T00:00:00+00:00")
    if fmt != "jsonl":
        return
    # Read the files again, independently: the truth from the true door events ...
    truth = [orjson.loads(x) for x in (tmp_path / "o" / "foot_traffic_realistic_true.jsonl").read_bytes().splitlines()]
    moves = np.array([(_epoch(d["time"]), 1 if d["event_type"] == "entry" else -1) for d in truth])
    inside = np.array([moves[moves[:, 0] < t, 1].sum() for t in times])
    assert (figure.series["true"] == inside).all()
    # ... the counted line from the counts file; and the two differ (the sensor errs).
    counts = [orjson.loads(x) for x in (tmp_path / "o" / "foot_traffic_counts.jsonl").read_bytes().splitlines()]
    net = np.array([(_epoch(c["interval_end"]), c["in"] - c["out"]) for c in counts])
    assert (figure.series["counted"] == np.array([net[net[:, 0] <= t, 1].sum() for t in times])).all()
    assert (figure.series["counted"] != figure.series["true"]).any()
    # The other figures read the true door events too.
    assert report.data.door_time.size == len(truth)


def test_no_sensor_no_sensor_figure(tmp_path: Path) -> None:
    _simulate(tmp_path / "o", write_profile(tmp_path, profile_text()))
    assert "sensor" not in [f.name for f in build_report(tmp_path / "o").figures]
