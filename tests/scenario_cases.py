"""Scenarios for tests: every traffic kind in the window the engine identity tests run over."""

from __future__ import annotations

from sim.scenarios import Scenario, scenarios_from_list


def scenarios(*tables: dict[str, object]) -> tuple[Scenario, ...]:
    """``[[scenarios]]`` tables (as TOML would give them), validated."""
    return scenarios_from_list(list(tables))


#: A surge, a dip, an early closure and a slow checkout across 2025-03-29 .. 2025-04-01 (the spring
#: change in Europe), and a slow checkout and a surge drawn at a rate high enough to happen in it.
TRAFFIC = scenarios(
    {"kind": "surge", "factor": 3, "start": "2025-03-29T15:00", "end": "2025-03-29T17:30"},
    {"kind": "surge", "factor": 0.4, "start": "2025-03-30T01:30", "end": "2025-03-30T11:00"},
    {"kind": "early_closure", "start": "2025-03-31T16:00"},
    {"kind": "slow_checkout", "factor": 2.5, "start": "2025-03-30T09:00", "end": "2025-03-30T13:00"},
    {"kind": "slow_checkout", "factor": 1.5, "per_month": 20, "minutes": 180},
    {"kind": "surge", "factor": 2, "per_month": 20, "minutes": 60},
)
#: What the sensor sees: a blocked door each way, a scheduled outage, and outages drawn at a rate.
SENSOR = scenarios(
    {"kind": "door_blocked", "direction": "in", "start": "2025-03-29T14:00", "end": "2025-03-29T16:00"},
    {"kind": "door_blocked", "direction": "out", "per_month": 15, "minutes": 90},
    {"kind": "counter_offline", "start": "2025-03-31T10:00", "end": "2025-03-31T12:00"},
)
