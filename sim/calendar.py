"""A profile's calendar: closure dates, special days and monthly seasonality.

The weekly weights say how an *ordinary* day looks. The calendar scales
particular local days on top of that, slot by slot:

- a **closure** date has no arrivals at all;
- a **special** day multiplies the expected customers of the whole day, or of
  some of its slots only (``2.5`` a holiday rush, ``0.5`` a quiet half day,
  ``0`` closed in those slots);
- **seasonality** gives one multiplier per month (January first) that scales
  every day of that month.

:meth:`Calendar.factors` turns all of it into one multiplier per slot for a
given day, or ``None`` when the day is ordinary, so ordinary days are drawn
exactly as without a calendar (no extra arithmetic, no extra draws).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ProfileError, checked_keys
from sim.limits import MULTIPLIER
from sim.numbers import plain

MONTHS = 12


@dataclass(frozen=True)
class SpecialDay:
    """One local date whose expected customers are multiplied.

    ``slots`` holds slot indices; ``None`` means every slot of the day.
    """

    date: dt.date
    multiplier: float
    slots: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Calendar:
    """Closures, special days and monthly seasonality (all optional)."""

    closures: tuple[dt.date, ...] = ()
    special: tuple[SpecialDay, ...] = ()
    seasonality: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.seasonality is not None and len(self.seasonality) != MONTHS:
            raise ProfileError(f"seasonality: expected {MONTHS} multipliers, got {len(self.seasonality)}")

    def peak(self) -> float:
        """The largest factor the calendar gives any slot of any day (1 for an ordinary day).

        Entries for one date name disjoint slots, so no slot gets two special
        multipliers; a month's seasonality multiplies them.
        """
        season = max(self.seasonality) if self.seasonality is not None else 1.0
        return season * max([1.0, *(s.multiplier for s in self.special)])

    @property
    def is_empty(self) -> bool:
        return not self.closures and not self.special and self.seasonality is None

    def factors(self, day: dt.date, n_slots: int) -> np.ndarray | None:
        """Multiplier per slot for a local day; ``None`` on an ordinary day."""
        if self.is_empty:
            return None
        if day in self.closures:
            return np.zeros(n_slots)
        specials = [s for s in self.special if s.date == day]
        if not specials and self.seasonality is None:
            return None
        out = np.ones(n_slots)
        if self.seasonality is not None:
            out *= self.seasonality[day.month - 1]
        for s in specials:
            if s.slots is None:
                out *= s.multiplier
            else:
                out[list(s.slots)] *= s.multiplier
        return out

    def to_mapping(self, slot_names: Sequence[str]) -> dict[str, Any]:
        """The calendar's keys of a profile document: ``closures``, ``seasonality``, ``special``."""
        out: dict[str, Any] = {}
        if self.closures:
            out["closures"] = list(self.closures)
        if self.seasonality is not None:
            out["seasonality"] = [plain(m) for m in self.seasonality]
        if self.special:
            out["special"] = [
                {"date": s.date, "multiplier": plain(s.multiplier)}
                | ({} if s.slots is None else {"slots": [slot_names[i] for i in s.slots]})
                for s in self.special
            ]
        return out


def _date(value: Any, key: str) -> dt.date:
    """A date from a TOML local date or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ProfileError(f"{key}: {value!r} is not a date; expected 'YYYY-MM-DD' (e.g. \"2025-12-25\")")


def _multiplier(value: Any, key: str) -> float:
    return float(MULTIPLIER.check(value, key, ProfileError))


def calendar_from_mapping(data: Mapping[str, Any], slot_index: Mapping[str, int]) -> Calendar:
    """Read ``closures``, ``[[special]]`` and ``seasonality`` from a parsed profile.

    ``slot_index`` maps each slot start (``"HH:MM"``) to its index, for
    special days restricted to some slots.
    """
    raw_closures = data.get("closures", [])
    if not isinstance(raw_closures, list):
        raise ProfileError("closures: expected a list of dates like [\"2025-12-25\"]")
    closures = tuple(_date(v, f"closures[{i}]") for i, v in enumerate(raw_closures))
    for i, day in enumerate(closures):
        if day in closures[:i]:
            raise ProfileError(f"closures[{i}]: {day.isoformat()} is listed twice")

    raw_special = data.get("special", [])
    if not isinstance(raw_special, list) or not all(isinstance(t, Mapping) for t in raw_special):
        raise ProfileError("special: expected [[special]] tables with date, multiplier and optional slots")
    special: list[SpecialDay] = []
    for i, table in enumerate(raw_special):
        special.append(_special(table, f"special[{i}]", slot_index, closures, special))

    seasonality = None
    if "seasonality" in data:
        raw = data["seasonality"]
        if not isinstance(raw, list) or len(raw) != MONTHS:
            raise ProfileError(
                f"seasonality: expected a list of {MONTHS} multipliers (January to December), "
                f"got {raw!r}"[:200]
            )
        seasonality = tuple(_multiplier(v, f"seasonality[{i}]") for i, v in enumerate(raw))
    return Calendar(closures=closures, special=tuple(special), seasonality=seasonality)


def _special(
    table: Mapping[str, Any], key: str, slot_index: Mapping[str, int],
    closures: Sequence[dt.date], earlier: Sequence[SpecialDay],
) -> SpecialDay:
    checked_keys(table, ("date", "multiplier", "slots"),
                 lambda name: f"{key}.{name}: unknown key; accepted keys are date, multiplier, slots",
                 {"date": f"{key}.date: missing; a special day needs a date like \"2025-11-28\"",
                  "multiplier": f"{key}.multiplier: missing; a special day needs a multiplier >= 0"})
    day = _date(table["date"], f"{key}.date")
    if day in closures:
        raise ProfileError(f"{key}.date: {day.isoformat()} is also a closure date; give one or the other")
    multiplier = _multiplier(table["multiplier"], f"{key}.multiplier")
    slots: tuple[int, ...] | None = None
    if "slots" in table:
        raw = table["slots"]
        if not isinstance(raw, list) or not raw:
            raise ProfileError(f"{key}.slots: expected a non-empty list of slot starts like [\"17:00\"]")
        picked = []
        for j, name in enumerate(raw):
            if not isinstance(name, str) or name not in slot_index:
                raise ProfileError(
                    f"{key}.slots[{j}]: {name!r} is not a slot start; expected one of {list(slot_index)}"
                )
            if slot_index[name] in picked:
                raise ProfileError(f"{key}.slots[{j}]: {name!r} is listed twice")
            picked.append(slot_index[name])
        slots = tuple(sorted(picked))
    for other in earlier:
        if other.date == day and (
            other.slots is None or slots is None or set(other.slots) & set(slots)
        ):
            raise ProfileError(
                f"{key}: {day.isoformat()} already has a special multiplier for the same slots; "
                "entries for one date must name disjoint slots"
            )
    return SpecialDay(date=day, multiplier=multiplier, slots=slots)
