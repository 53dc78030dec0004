"""Small helpers shared by the tests (no fixtures: plain functions)."""

from __future__ import annotations

import numpy as np

from sim.batch import DoorColumns, SessionColumns, concat_columns
from sim.run import Simulation


def columns(run: Simulation, engine: str = "fast") -> tuple[SessionColumns, DoorColumns]:
    """All sessions and door events of a run, concatenated."""
    batches = list(run.batches(engine))  # type: ignore[arg-type]
    return (concat_columns([b.sessions for b in batches]), concat_columns([b.doors for b in batches]))


def json_lines(run: Simulation, engine: str = "fast") -> tuple[list[bytes], list[bytes]]:
    sessions: list[bytes] = []
    doors: list[bytes] = []
    for batch in run.batches(engine):  # type: ignore[arg-type]
        sessions += batch.sessions.json_lines()
        doors += batch.doors.json_lines()
    return sessions, doors


def day_slot_counts(entry: np.ndarray, start: int, days: int, starts_min: tuple[int, ...]) -> np.ndarray:
    """Arrivals per (day, slot) of a UTC profile, as a (days, slots) array."""
    rel = entry - start
    day = rel // 86400
    slot = np.searchsorted(np.asarray(starts_min) * 60, rel % 86400, side="right") - 1
    out = np.zeros((days, len(starts_min)), dtype=np.int64)
    np.add.at(out, (day, slot), 1)
    return out
