"""When a store's scenarios happen: :func:`occurrences`, a pure function of the seed, the store and a span.

A scenario at a fixed time happens once, at its local ``start`` (to its
``end``, or an early closure to the end of that local day). A scenario drawn
at a rate happens a Poisson number of times a local calendar month, with mean
``per_month``, each starting at a minute of the month drawn uniformly, lasting
``minutes`` (an early closure: to the end of its local day). Each month's draws
come from their own Generator::

    SeedSequence(seed, spawn_key=(store key, the month's first day's ordinal, SCENARIOS, origin, index))

``origin`` is 0 for a scenario of the profile and 1 for one of the stores
file's store, ``index`` its place in its list. So any span's occurrences are
the same whichever part of the run asks (a partition, a Dask task, the live
producer after a restart), one store's scenarios never touch another store's
draws, and a store without scenarios draws nothing here: its events are what
they were before scenarios existed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.scenarios import KINDS, MAX_MINUTES, Scenario
from sim.store import Store

#: The purpose of the occurrences' streams (the model's are 0 to 4, the sensor's 10 to 13). Never renumber.
SCENARIOS = 20
#: How far before a span an occurrence may start and still reach into it: the longest window, seconds.
REACH = 60 * MAX_MINUTES + 2 * 86_400


@dataclass(frozen=True)
class Occurrence:
    """One time a scenario happens: its window ``[start, end)`` in epoch seconds."""

    kind: str
    start: int
    end: int
    scenario: Scenario
    origin: int  #: 0: the profile's scenario, 1: the store's own
    index: int  #: the scenario's place in its list

    @property
    def order(self) -> tuple[int, int, int, int, int]:
        """Occurrences are handed out by start, then end, kind, origin and place: one order everywhere."""
        return (self.start, self.end, KINDS.index(self.kind), self.origin, self.index)


def _epoch(store: Store, when: dt.datetime) -> int:
    """A naive local time of the store as epoch seconds (a time skipped by a clock change moves on with it)."""
    return int(when.replace(tzinfo=store.zone).timestamp())


def _day_end(store: Store, start: int) -> int:
    """The end (exclusive) of the local day holding the instant ``start``."""
    return store.day_plan(store.local_date(start)).end


def _fixed(store: Store, scenario: Scenario, origin: int, index: int) -> Occurrence:
    assert scenario.start is not None
    start = _epoch(store, scenario.start)
    end = _day_end(store, start) if scenario.end is None else _epoch(store, scenario.end)
    return Occurrence(scenario.kind, start, max(end, start + 1), scenario, origin, index)


@lru_cache(maxsize=4096)
def _month(seed: int, store: Store, origin: int, index: int, first: int) -> tuple[Occurrence, ...]:
    """The occurrences of a drawn scenario that start in the local month whose first day has ordinal ``first``."""
    scenario = (store.profile.scenarios, store.scenarios)[origin][index]
    assert scenario.per_month is not None
    day = dt.date.fromordinal(first)
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    begin, finish = store.day_plan(day).begin, store.day_plan(following).begin
    seq = np.random.SeedSequence(seed, spawn_key=(store.key, first, SCENARIOS, origin, index))
    rng = np.random.Generator(np.random.PCG64(seq))
    n = int(rng.poisson(scenario.per_month))
    starts = np.sort(begin + 60 * rng.integers(0, (finish - begin) // 60, size=n)).tolist()
    return tuple(
        Occurrence(scenario.kind, s, _day_end(store, s) if scenario.minutes is None else s + 60 * scenario.minutes,
                   scenario, origin, index)
        for s in starts
    )


def _months(store: Store, lo: int, hi: int) -> list[int]:
    """Ordinals of the first days of the local months that hold ``[lo - REACH, hi)``."""
    first, last = store.local_date(lo - REACH).replace(day=1), store.local_date(hi - 1).replace(day=1)
    out = []
    while first <= last:
        out.append(first.toordinal())
        first = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def occurrences(seed: int, store: Store, lo: int, hi: int, kinds: tuple[str, ...] = KINDS) -> list[Occurrence]:
    """The store's occurrences of ``kinds`` whose window meets ``[lo, hi)``, in :attr:`Occurrence.order`."""
    found: list[Occurrence] = []
    for origin, listed in enumerate((store.profile.scenarios, store.scenarios)):
        for index, scenario in enumerate(listed):
            if scenario.kind not in kinds:
                continue
            if not scenario.drawn:
                found.append(_fixed(store, scenario, origin, index))
                continue
            for first in _months(store, lo, hi):
                found.extend(_month(seed, store, origin, index, first))
    return sorted((o for o in found if o.start < hi and o.end > lo), key=lambda o: o.order)
