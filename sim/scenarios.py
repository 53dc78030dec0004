"""Scenarios: things that happen to a store on purpose, as configuration (the ``[[scenarios]]`` tables).

A profile file and a stores file's store may list scenarios::

    [[scenarios]]
    kind = "surge"                  # arrivals x factor over the window
    factor = 2.5
    start = "2025-11-28T10:00"      # the store's local time ...
    end = "2025-11-28T12:00"

    [[scenarios]]
    kind = "counter_offline"        # ... or drawn: a Poisson number a local month,
    per_month = 2                   # each starting at a uniform minute of the month
    minutes = 90                    # and lasting this long

The kinds (:data:`KINDS`) and what they do:

- ``surge`` (``factor``): the arrival rate times ``factor`` over the window
  (above 1 extra customers, below 1 fewer: :mod:`sim.scenario_effects`);
- ``early_closure``: no one enters from ``start`` to the end of that local
  day; those inside leave after their dwell as usual (no ``end``, no ``minutes``);
- ``door_blocked`` (``direction`` ``"in"`` or ``"out"``): the door sensor
  counts nothing in that direction over the window;
- ``counter_offline``: a scheduled sensor outage over the window, beside the
  sensor's random ones (``outage_mode`` says whether its crossings are held or lost);
- ``slow_checkout`` (``factor`` >= 1): the dwell of everyone entering in the
  window times ``factor`` (whole minutes, rounded up).

The two sensor kinds need the store's profile to have a ``[sensor]`` table.
Every problem is one :class:`~sim.errors.ProfileError` line naming the key
and what it accepts. When each scenario happens is :mod:`sim.scenario_draw`;
the whole story is ``docs/scenarios.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.errors import ProfileError
from sim.limits import Range
from sim.numbers import plain as _num

KINDS: tuple[str, ...] = ("surge", "early_closure", "door_blocked", "counter_offline", "slow_checkout")
#: Kinds that act on the door sensor, not on the customers.
SENSOR_KINDS: tuple[str, ...] = ("door_blocked", "counter_offline")
DIRECTIONS: tuple[str, ...] = ("in", "out")
#: The longest window a scenario may have, minutes (a week): bounds how far back a day looks for them.
MAX_MINUTES = 7 * 24 * 60

SURGE_FACTOR = Range(0.0, 100.0, open_low=True, what="the arrival rate's multiplier")
SLOW_FACTOR = Range(1.0, 10.0, what="the dwell's multiplier")
PER_MONTH = Range(0.0, 100.0, open_low=True, what="occurrences a month on average")
MINUTES = Range(1, MAX_MINUTES, whole=True, what="the window's length in minutes")
#: A counter offline lasts at most a day, as the sensor's random outages: a held reading is then at most
#: a day late (sim.sensor_stream.HORIZON_MS, what a restarted live producer and a partition rely on).
OFFLINE_MINUTES = Range(1, 24 * 60, whole=True, what="the window's length in minutes, at most a day")

#: Keys every scenario may have, and those of each kind.
_TIMING = ("kind", "start", "end", "per_month", "minutes")
_KEYS: dict[str, tuple[str, ...]] = {
    "surge": (*_TIMING, "factor"),
    "early_closure": ("kind", "start", "per_month"),
    "door_blocked": (*_TIMING, "direction"),
    "counter_offline": _TIMING,
    "slow_checkout": (*_TIMING, "factor"),
}


@dataclass(frozen=True)
class Scenario:
    """One ``[[scenarios]]`` table: its kind, its parameters and when it happens.

    Fixed: ``start`` (and ``end``, but for an early closure) in the store's
    local time, naive. Drawn: ``per_month`` occurrences a local month on
    average, each ``minutes`` long (an early closure: to the end of its day).
    """

    kind: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    per_month: float | None = None
    minutes: int | None = None
    factor: float | None = None
    direction: str | None = None

    @property
    def drawn(self) -> bool:
        return self.per_month is not None

    @property
    def parameters(self) -> dict[str, Any]:
        """What the scenario does, beside when (the labels' ``parameters``)."""
        out: dict[str, Any] = {}
        if self.factor is not None:
            out["factor"] = _num(self.factor)
        if self.direction is not None:
            out["direction"] = self.direction
        return out

    def to_mapping(self) -> dict[str, Any]:
        """The scenario as the table :func:`scenario_from_mapping` reads back."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.start is not None:
            out["start"] = _local_text(self.start)
        if self.end is not None:
            out["end"] = _local_text(self.end)
        if self.per_month is not None:
            out["per_month"] = _num(self.per_month)
        if self.minutes is not None:
            out["minutes"] = self.minutes
        return {**out, **self.parameters}


def _local_text(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds" if when.second else "minutes")


def _local_time(value: Any, key: str) -> dt.datetime:
    """A local date and time ``"YYYY-MM-DDTHH:MM"`` (a TOML local date-time is accepted too)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None and not value.microsecond:
        return value
    if isinstance(value, str):
        try:
            parsed = dt.datetime.strptime(value.strip().replace(" ", "T"), "%Y-%m-%dT%H:%M")
        except ValueError:
            pass
        else:
            if 1900 <= parsed.year < 3000:
                return parsed
    raise ProfileError(f"{key}: {value!r} is not a local time; expected 'YYYY-MM-DDTHH:MM' from 1900 to 2999 "
                       "(the store's own clock)")


def scenario_from_mapping(table: Any, key: str = "scenarios[0]") -> Scenario:
    """One ``[[scenarios]]`` table, validated (one-line :class:`ProfileError` naming ``key``)."""
    if not isinstance(table, Mapping):
        raise ProfileError(f"{key}: expected a table ([[scenarios]]) with a kind, e.g. kind = \"surge\"")
    kind = table.get("kind")
    if kind not in KINDS:
        got = "missing" if "kind" not in table else repr(kind)
        raise ProfileError(f"{key}.kind: {got}; expected one of {', '.join(KINDS)}")
    unknown = sorted(set(table) - set(_KEYS[kind]))
    if unknown:
        raise ProfileError(f"{key}: unknown key {unknown[0]!r} for a {kind}; accepted keys are {list(_KEYS[kind])}")
    if ("start" in table) == ("per_month" in table):
        raise ProfileError(f"{key}: give start (a fixed time) or per_month (drawn at a rate), exactly one of them")
    timing = _fixed(table, key, kind) if "start" in table else _drawn(table, key, kind)
    return Scenario(kind=kind, **timing, **_parameters(table, key, kind))


def _longest(kind: str) -> Range:
    return OFFLINE_MINUTES if kind == "counter_offline" else MINUTES


def _needs_second(table: Mapping[str, Any], key: str, kind: str, fixed: bool) -> bool:
    """Whether the scenario's way of saying when (at a fixed time, or drawn at a rate) goes on
    to its second key (``end``, ``minutes``; an early closure has none). The other way's second
    key is refused, and this way's, when needed, required: one line each."""
    second, other = ("end", "minutes") if fixed else ("minutes", "end")
    if other in table:
        way = "a scenario drawn at a rate (per_month)" if fixed else "a scenario at a fixed time (start)"
        raise ProfileError(f"{key}.{other}: only for {way}; give {second} instead")
    if kind == "early_closure":
        return False
    if second not in table:
        needs = (f"a {kind} at a fixed time needs its end 'YYYY-MM-DDTHH:MM'" if fixed
                 else f"a drawn {kind} needs its length, {MINUTES.accepts()}")
        raise ProfileError(f"{key}.{second}: missing; {needs}")
    return True


def _fixed(table: Mapping[str, Any], key: str, kind: str) -> dict[str, Any]:
    """``start`` and ``end`` (an early closure: ``start`` only), local times."""
    start = _local_time(table["start"], f"{key}.start")
    if not _needs_second(table, key, kind, fixed=True):
        return {"start": start}
    end = _local_time(table["end"], f"{key}.end")
    most = _longest(kind).high
    if not 1 <= (end - start).total_seconds() / 60 <= most:
        raise ProfileError(f"{key}.end: {table['end']!r} must come 1 to {most:,.0f} minutes after start {table['start']!r}")
    return {"start": start, "end": end}


def _drawn(table: Mapping[str, Any], key: str, kind: str) -> dict[str, Any]:
    """``per_month`` and ``minutes`` (an early closure: ``per_month`` only)."""
    per_month = PER_MONTH.check(table["per_month"], f"{key}.per_month", ProfileError)
    if not _needs_second(table, key, kind, fixed=False):
        return {"per_month": per_month}
    return {"per_month": per_month, "minutes": _longest(kind).check(table["minutes"], f"{key}.minutes", ProfileError)}


def _parameters(table: Mapping[str, Any], key: str, kind: str) -> dict[str, Any]:
    """``factor`` (surge, slow checkout) or ``direction`` (door blocked)."""
    if kind in ("surge", "slow_checkout"):
        factor = SURGE_FACTOR if kind == "surge" else SLOW_FACTOR
        if "factor" not in table:
            raise ProfileError(f"{key}.factor: missing; a {kind} needs one, {factor.accepts()}")
        return {"factor": factor.check(table["factor"], f"{key}.factor", ProfileError)}
    if kind == "door_blocked":
        direction = table.get("direction")
        if direction not in DIRECTIONS:
            got = "missing" if "direction" not in table else repr(direction)
            raise ProfileError(f"{key}.direction: {got}; expected one of {', '.join(map(repr, DIRECTIONS))}")
        return {"direction": direction}
    return {}


def scenarios_from_list(value: Any, key: str = "scenarios") -> tuple[Scenario, ...]:
    """A ``[[scenarios]]`` array of tables, each validated."""
    if not isinstance(value, list):
        raise ProfileError(f"{key}: expected an array of tables ([[scenarios]] with a kind each)")
    return tuple(scenario_from_mapping(t, f"{key}[{i}]") for i, t in enumerate(value))


def slow_factor(scenarios: tuple[Scenario, ...]) -> float:
    """The largest dwell multiplier of the slow checkouts (1 without any): it lengthens the longest visit."""
    return max((s.factor or 1.0 for s in scenarios if s.kind == "slow_checkout"), default=1.0)


def slowed_minutes(minutes: int, factor: float) -> int:
    """Whole minutes times a slow checkout's factor, rounded up (never shorter)."""
    return max(minutes, math.ceil(minutes * factor - 1e-9))
