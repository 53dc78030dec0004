"""The notebook API: DataFrames with the payload's fields and values."""

from __future__ import annotations

import orjson

from sim import Simulation, Store
from tests.helpers import json_lines


def test_frames_carry_the_payloads_fields_and_values() -> None:
    run = Simulation.of("2025-11-03", days=2, seed=4, stores=Store(capacity=30))
    sessions, doors = run.frames()
    s_json, d_json = json_lines(run, "auto")
    rows = [orjson.loads(x) for x in s_json]
    assert list(sessions.columns) == list(rows[0])
    assert len(sessions) == len(rows) and len(doors) == len(d_json)
    for frame, payloads, time_cols in ((sessions, rows, ("entry_time", "exit_time")),
                                       (doors, [orjson.loads(x) for x in d_json], ("time",))):
        records = frame.to_dict("records")
        for record, payload in zip(records[:500] + records[-500:], payloads[:500] + payloads[-500:]):
            got = {k: v.isoformat() if k in time_cols else v for k, v in record.items()}
            assert got == payload
    assert str(sessions["entry_time"].dt.tz) == "UTC"
    assert (sessions["queue_seconds"] > 0).any()  # a capacity of 30 makes some wait
