"""``foot-traffic report`` for a store with a capacity limit: who got in, and Erlang's loss figure.

The data set is written by the real ``simulate`` (loss mode, turned-away
customers written); the checks count the JSONL files again in the store's
local time, and recompute Erlang B by another formula than the report's
recursion: B(c, A) = P(X = c) / P(X <= c) for X ~ Poisson(A).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from producer.cli import main
from producer.report import build_report, render_html
from sim.dwell import DEFAULT_DWELL
from sim.profile import DEFAULT_WEIGHTS, WEEKDAYS

ZONE = "America/New_York"
CAPACITY = 30
SLOT_HOURS = [7, 3, 4, 3, 3, 4]


def simulate(folder: Path, *extra: str) -> Path:
    result = CliRunner().invoke(main, [
        "simulate", "--start", "2025-11-01", "--days", "3", "--seed", "11", "--out", str(folder),
        "--format", "jsonl", "--timezone", ZONE, "--store-capacity", str(CAPACITY), "--quiet", *extra,
    ])
    assert result.exit_code == 0, result.output
    return folder


def local_day(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE)).date().isoformat()


def test_a_loss_store_shows_who_was_admitted_and_turned_away(tmp_path: Path) -> None:
    data = simulate(tmp_path / "run", "--capacity-mode", "loss", "--write-rejected")
    report = build_report(data)
    figures = {f.name: f for f in report.figures}
    assert list(figures) == ["arrivals", "occupancy", "dwell", "daily", "admission"]
    sessions = [json.loads(x) for x in (data / "foot_traffic.jsonl").read_text().splitlines()]
    doors = [json.loads(x) for x in (data / "foot_traffic_realistic.jsonl").read_text().splitlines()]
    admitted = Counter(local_day(s["entry_time"]) for s in sessions)
    away = Counter(local_day(d["time"]) for d in doors if d["event_type"] == "turned_away")
    adm = figures["admission"].series
    days = adm["day"].tolist()
    assert adm["admitted"].tolist() == [admitted[d] for d in days]
    assert adm["turned_away"].tolist() == [away[d] for d in days]
    assert adm["gave_up"].sum() == 0 and np.array_equal(adm["arrivals"], adm["admitted"] + adm["turned_away"])
    assert sum(away.values()) > 50  # the limit did bite
    assert ZONE in figures["admission"].x_label and f"capacity {CAPACITY}" in figures["admission"].x_label
    # The occupancy expectation says it knows no limit.
    assert "without a capacity limit" in figures["occupancy"].caption

    # Erlang's figure per weekday x slot: A = arrivals per minute x mean dwell, B by another formula.
    (table,) = report.erlang
    sums = {d: sum(DEFAULT_WEIGHTS[d]) for d in WEEKDAYS}
    for w, name in enumerate(WEEKDAYS):
        mean = 1000 * sums[name] / (sum(sums.values()) / 7)
        for j, hours in enumerate(SLOT_HOURS):
            a = mean * DEFAULT_WEIGHTS[name][j] / sums[name] / (hours * 60) * DEFAULT_DWELL.mean_minutes()
            assert table.load[w, j] == pytest.approx(a)
            assert table.loss[w, j] == pytest.approx(stats.poisson.pmf(CAPACITY, a) / stats.poisson.cdf(CAPACITY, a))
    # ... beside the share the data turned away in each local weekday and slot.
    tz = ZoneInfo(ZONE)
    tally: Counter[tuple[int, int, bool]] = Counter()
    for when, turned in [(s["entry_time"], False) for s in sessions] + [
            (d["time"], True) for d in doors if d["event_type"] == "turned_away"]:
        t = dt.datetime.fromisoformat(when).astimezone(tz)
        slot = sum(1 for start in (0, 7, 10, 14, 17, 20) if t.hour >= start) - 1
        tally[(t.weekday(), slot, turned)] += 1
    assert table.observed is not None and table.arrivals is not None
    for (w, j, _), _n in tally.items():
        total = tally[(w, j, True)] + tally[(w, j, False)]
        assert table.arrivals[w, j] == total
        assert table.observed[w, j] == pytest.approx(tally[(w, j, True)] / total)
    assert 'id="erlang-store-1"' in render_html(report)


def test_a_queue_without_written_rejections_says_so(tmp_path: Path) -> None:
    data = simulate(tmp_path / "run", "--capacity-mode", "queue", "--patience-minutes", "5")
    report = build_report(data)
    assert any("WRITE_REJECTED=0" in n for n in report.notes)
    (table,) = report.erlang
    assert table.observed is None and "queues at the door" in table.notes[0]
    admission = next(f for f in report.figures if f.name == "admission").series
    assert admission["turned_away"].sum() == admission["gave_up"].sum() == 0
    assert admission["admitted"].sum() == report.data.entry.size
