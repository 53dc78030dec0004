"""One Summary for plain and partitioned runs; its lines are those ``simulate`` has always printed."""

from __future__ import annotations

from pathlib import Path

from producer.summary import Summary
from sim.run import to_epoch

START, END = to_epoch("2026-01-01"), to_epoch("2026-01-03")
HEAD = "simulated 2026-01-01T00:00:00+00:00 to 2026-01-03T00:00:00+00:00, seed 5: "


def test_a_plain_runs_lines() -> None:
    summary = Summary(5, START, END, 1, 2_030, 2.0, (Path("o/a.jsonl"), Path("o/b.jsonl")), capacity=(1, 2))
    assert summary.lines() == [
        f"{HEAD}1 visit, 2,030 events in 2.00 s (1,015 events/s) -> o/a.jsonl, o/b.jsonl",
        "at capacity: 1 customer turned away, 2 gave up waiting",
    ]


def test_a_partitioned_runs_lines() -> None:
    summary = Summary(5, START, END, 2_030, 6_067, 1.0, (Path("o/a"), Path("o/b")), (Path("o/c"), Path("o/d")),
                      tasks=2, where="in one process", sensor_records=12)
    assert summary.lines() == [
        f"{HEAD}2,030 visits, 6,067 events in 1.00 s (6,067 events/s), 2 tasks in one process -> o/a/, o/b/",
        "sensor: 12 records -> o/c/ (what the sensor delivered), o/d/",
    ]
