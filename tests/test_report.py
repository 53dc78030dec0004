"""``foot-traffic report`` draws the data it reads, beside the profile's expectation.

Each data set is written by the real ``simulate`` command; the checks read the
files again independently (json, csv, pyarrow) and compare with the series the
report says it plotted, then decode every embedded PNG.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from producer.cli import main
from producer.dataset import read_dataset
from producer.manifest import read_manifest
from producer.report import build_report, render_html
from producer.settings import Settings
from sim.expect import expected_daily_totals
from sim.run import to_epoch

START, DAYS, SEED = "2025-11-06", 3, 5
FIGURES = ("arrivals", "occupancy", "dwell", "daily")


def simulate(folder: Path, fmt: str, *extra: str) -> None:
    result = CliRunner().invoke(main, [
        "simulate", "--start", START, "--days", str(DAYS), "--seed", str(SEED), "--out", str(folder),
        "--format", fmt, "--quiet", *extra,
    ])
    assert result.exit_code == 0, result.output


def raw_events(folder: Path, fmt: str) -> tuple[list[str], list[int], list[tuple[str, str]]]:
    """Entry times, dwell minutes and (kind, time) of door events, read without the report's code."""
    if fmt == "jsonl":
        sessions = [json.loads(line) for line in (folder / "foot_traffic.jsonl").read_text().splitlines()]
        doors = [json.loads(line) for line in (folder / "foot_traffic_realistic.jsonl").read_text().splitlines()]
    elif fmt == "csv":
        with open(folder / "foot_traffic.csv", newline="") as f:
            sessions = list(csv.DictReader(f))
        with open(folder / "foot_traffic_realistic.csv", newline="") as f:
            doors = list(csv.DictReader(f))
    else:
        sessions = pq.read_table(folder / "foot_traffic.parquet").to_pylist()
        doors = pq.read_table(folder / "foot_traffic_realistic.parquet").to_pylist()
        for s in sessions:
            s["entry_time"] = s["entry_time"].isoformat()
        for d in doors:
            d["time"] = d["time"].isoformat()
    return (
        [s["entry_time"] for s in sessions],
        [int(s["trip_duration_minutes"]) for s in sessions],
        [(d["event_type"], d["time"]) for d in doors],
    )


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def assert_not_blank(png: bytes) -> None:
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 400
    rgb = pixels[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05  # not a flat page
    colors = np.unique((rgb * 255).round().astype(np.uint8), axis=0)
    assert len(colors) > 20  # axes, text, both series' colors and their blends


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_report_reads_every_format_alike(tmp_path: Path, fmt: str) -> None:
    simulate(tmp_path / "jsonl", "jsonl")
    simulate(tmp_path / fmt, fmt)
    ref, other = read_dataset(tmp_path / "jsonl"), read_dataset(tmp_path / fmt)
    assert other.fmt == fmt and ref.entry.size > 1000
    for name in ("entry", "minutes", "store_id", "door_kind", "door_time"):
        assert np.array_equal(getattr(ref, name), getattr(other, name)), name
    # And the values are the files' own, read without the report's code.
    entries, minutes, doors = raw_events(tmp_path / fmt, fmt)
    assert other.entry.tolist() == [to_epoch(e) for e in entries]
    assert other.minutes.tolist() == minutes
    assert other.door_time.tolist() == [to_epoch(t) for _, t in doors]


def test_report_draws_the_data_and_its_expectation(tmp_path: Path) -> None:
    data, fmt = tmp_path / "data", "jsonl"
    simulate(data, fmt)
    report = build_report(data)
    page = render_html(report)
    pngs = embedded_pngs(page)
    assert [f.name for f in report.figures] == list(FIGURES) and len(pngs) == len(FIGURES)
    for name, png in zip(FIGURES, pngs, strict=True):
        assert f'id="{name}"' in page
        assert_not_blank(png)

    entries, minutes, doors = raw_events(data, fmt)
    series = {f.name: f.series for f in report.figures}
    assert report.notes == []
    # Daily totals: the plotted bars are the data's visits per UTC day.
    per_day = Counter(e[:10] for e in entries)
    days = [str(d)[:10] for d in series["daily"]["day_start"].astype("datetime64[s]")]
    assert days == ["2025-11-06", "2025-11-07", "2025-11-08"]
    assert series["daily"]["simulated"].tolist() == [per_day[d] for d in days]
    # ...beside the profile's expected totals for those days.
    info, _ = read_manifest(data)
    dates = [np.datetime64(d).astype(object) for d in days]
    np.testing.assert_allclose(series["daily"]["expected"], expected_daily_totals(info.stores, dates))
    # Dwell histogram: visits per whole minute.
    counts = Counter(minutes)
    hist = series["dwell"]
    assert {int(m): int(c) for m, c in zip(hist["minutes"], hist["simulated"], strict=True) if c} == dict(counts)
    assert hist["expected"].sum() == pytest.approx(len(minutes))
    # Arrivals by weekday and hour: mean per day x number of days gives back every visit.
    arr = series["arrivals"]
    assert np.nansum(arr["simulated"] * arr["days"]) == pytest.approx(len(entries))
    assert np.nansum(arr["expected"] * arr["days"]) == pytest.approx(series["daily"]["expected"].sum())
    # Occupancy: entries minus exits before each sampled time, counted by hand at a few of them.
    occ = series["occupancy"]
    kinds = np.array([k for k, _ in doors])
    times = np.array([to_epoch(t) for _, t in doors])
    for i in (10, len(occ["time"]) // 2, len(occ["time"]) - 1):
        t = occ["time"][i]
        by_hand = np.sum((kinds == "entry") & (times < t)) - np.sum((kinds == "exit") & (times < t))
        assert occ["simulated"][i] == by_hand
    assert occ["simulated"].max() > 10 and occ["expected"].max() > 10


def test_run_json_describes_the_run(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        'name = "night owls"\nslots = ["00:00", "12:00"]\n[weights]\n'
        + "".join(f"{d} = [3, 1]\n" for d in
                  ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
    )
    simulate(tmp_path / "d", "jsonl", "--profile-file", str(profile), "--daily-customers", "300")
    info, dwell_known = read_manifest(tmp_path / "d")
    expected = Settings.load({}, {"profile_file": str(profile), "daily_customers": "300"}).stores()
    assert info.stores == expected and dwell_known
    assert (info.seed, info.start, info.end - info.start) == (SEED, to_epoch(START), DAYS * 86400)
    assert info.stores[0].profile.name == "night owls"


def test_report_command_writes_the_page_and_figures_without_run_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    simulate(data, "parquet")
    (data / "run.json").unlink()
    figs, opened = tmp_path / "figs", tmp_path / "opened.txt"
    # --open goes through webbrowser, which runs the command in BROWSER (%s is the URL).
    browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    result = subprocess.run(
        [sys.executable, "-m", "producer.cli", "report", str(data), "--static", "--figures", str(figs), "--open"],
        capture_output=True, text=True, env={**os.environ, "BROWSER": browser},
    )
    assert result.returncode == 0, result.stderr
    assert "note: No run.json" in result.stderr
    assert opened.read_text() == (data / "report.html").resolve().as_uri()
    page = (data / "report.html").read_text()
    pngs = embedded_pngs(page)
    assert "No run.json" in page and len(pngs) == len(FIGURES)
    for name, png in zip(FIGURES, pngs, strict=True):
        assert (figs / f"{name}.png").read_bytes() == png
        assert_not_blank(png)
    # Without the manifest the data are drawn alone: no expectation anywhere.
    report = build_report(data)
    assert all("expected" not in f.series for f in report.figures)
    assert report.figures[3].series["simulated"].sum() == report.data.entry.size


@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: (d / "run.json").write_text("{"), "run.json: not valid JSON"),
    (lambda d: (d / "run.json").write_text('{"format_version": 1, "seed": 1}'), "missing key 'start'"),
    (lambda d: (d / "foot_traffic.jsonl").unlink(), "no data set found"),
])
def test_bad_data_sets_give_one_line_errors(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    simulate(tmp_path, "jsonl")
    setup(tmp_path)
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("foot-traffic: error:") and message in lines[0], lines
