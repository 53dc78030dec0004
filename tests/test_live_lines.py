"""The backfill's JSON lines (producer/live/lines.py) are byte for byte the events' own JSON.

Awkward labels on purpose: a quote, a backslash, a control character and
the en dash (raw UTF-8, as orjson writes it) in store ids, and the
customer ids of the real engine; sessions and door events over a midnight.
"""

from __future__ import annotations

import numpy as np

from producer.live.lines import door_lines, encoded, session_lines, times
from sim.events import iso
from sim.run import Simulation
from sim.store import Store

AWKWARD = ['a"b', "back\\slash", "tab\there", "en–dash", "plain"]


def test_lines_equal_the_events_json() -> None:
    stores = [Store(store_id=name, daily_customers=3000) for name in AWKWARD]
    checked = 0
    for batch in Simulation.of("2025-11-03T20:00:00", days=0.5, seed=4, stores=stores).batches():
        assert session_lines(batch.sessions) == batch.sessions.json_lines()
        assert door_lines(batch.doors) == batch.doors.json_lines()
        checked += len(batch)
    assert checked > 10_000


def test_times_and_tokens() -> None:
    epochs = np.array([0, 59, 86_399, 86_400, 951_782_400, 1_762_156_799, 4_102_444_800], dtype=np.int64)
    assert [t + b"+00:00" for t in times(epochs)] == [iso(int(t)).encode() for t in epochs]
    values = np.array(["x", 'q"', "x", "–"], dtype=object)
    assert encoded(values) == [b'"x"', b'"q\\""', b'"x"', '"–"'.encode()]
