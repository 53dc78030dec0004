"""Which local days a fit may use, and how long their slots really are.

Observed data are usually exported by whole days of some clock (UTC dates,
say) that is not the store's. A store in Rome exported by UTC date starts
with a local day missing its first hour and ends with a one-hour sliver of
the next local day; averaged in as ordinary days they pull every level down.
So a fit uses only the local days the data's span covers entirely
(:func:`whole_days`), or, for hourly counts, the local days all of whose hours
are present (:func:`days_with_every_hour`).

A daylight-saving day has 23 or 25 hours: the slots holding the change are
an hour shorter or longer than usual, and expect proportionally fewer or more
customers (:class:`sim.store.DayPlan`). :func:`slot_length_ratios` gives each
slot's real length over its nominal one, the exposure the fit divides by.

Days are proleptic Gregorian ordinals of the store's local calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.profile import Profile
from sim.store import Store


@dataclass(frozen=True)
class LocalDays:
    """Local days ``first..last`` of a store on the UTC timeline."""

    first: int  #: ordinal of the first day
    begin: np.ndarray  #: each day's local midnight, epoch seconds
    end: np.ndarray  #: the next local midnight, epoch seconds
    ratios: np.ndarray  #: (days, slots): each slot's real length over its nominal length

    @property
    def hours(self) -> np.ndarray:
        """Each day's length in hours (23, 24 or 25 around daylight-saving changes)."""
        return (self.end - self.begin) / 3600


def local_days(starts: Sequence[int], timezone: str, first: int, last: int) -> LocalDays:
    """The days ``first..last`` (ordinals, both included) of a store with these slot starts."""
    # Slot lengths do not depend on the weights: any profile with these slots will do.
    store = Store(profile=Profile(starts=tuple(starts), weights=((1.0,) * len(starts),) * 7), timezone=timezone)
    n = last - first + 1
    begin, end = np.empty(n, np.int64), np.empty(n, np.int64)
    ratios = np.empty((n, len(starts)))
    for i in range(n):
        plan = store.day_plan(dt.date.fromordinal(first + i))
        begin[i], end[i], ratios[i] = plan.begin, plan.end, plan.length_ratio
    return LocalDays(first, begin, end, ratios)


def whole_days(days: LocalDays, span_start: int, span_end: int) -> np.ndarray:
    """Which days lie entirely inside the span ``[span_start, span_end)`` (epoch seconds)."""
    return (days.begin >= span_start) & (days.end <= span_end)


def days_with_every_hour(days: LocalDays, hour_rows_per_day: np.ndarray) -> np.ndarray:
    """Which days have a row for each of their hours (hourly counts; 23 or 25 on DST days)."""
    return np.asarray(hour_rows_per_day) >= np.rint(days.hours)
