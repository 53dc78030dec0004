"""What scenarios do to a day's customers (surge, early closure, slow checkout) and to the sensor (the rest).

:func:`with_scenarios` takes a local day's arrivals as :func:`sim.sampling.draw_day`
drew them and applies the day's occurrences, in their order, where every engine
reads its customers: the SimPy model, the vectorized and the exact engine all
see the same customers, so they write the same events.

- **surge**, factor above 1: extra customers, a Poisson process of rate
  ``(factor - 1)`` times the profile's mean rate over the window (the
  expected counts of :func:`sim.sampling.expected_counts`, without the day's
  variation, so the expected extra visitors are exactly the label's), each
  with a dwell from the store's model and an id of its own; with groups, the
  extra customers come alone. Factor below 1: each customer entering in the
  window stays away with probability ``1 - factor``.
- **early closure**: no one enters from its start to the end of its day.
- **slow checkout**: everyone entering in the window stays ``ceil(m x factor)``
  minutes instead of ``m`` (the seconds past the whole minutes kept).

Draws come from the day's own streams (purposes 21 to 24, keyed by store and
local day like the model's): one Generator per purpose, drawn occurrence after
occurrence in their order, so a day is the same whoever draws it.
:func:`sensor_windows` gives the sensor layer its windows (door blocked,
counter offline): :mod:`sim.sensor_stream` applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.dwell import sample_day
from sim.scenario_draw import Occurrence, occurrences
from sim.store import DayPlan, Store
from sim.streams import keyed
from sim.uuids import format_uuids

if TYPE_CHECKING:  # sim.sampling imports this module
    from sim.sampling import Arrivals

#: Purposes of the scenarios' day streams. Never renumber.
SURGE, SURGE_DWELL, SURGE_IDS, THINNING = 21, 22, 23, 24
#: The kinds that change the customers.
TRAFFIC_KINDS = ("surge", "early_closure", "slow_checkout")


def _stream(seed: int, store: Store, day: dt.date, purpose: int) -> np.random.Generator:
    return keyed(seed, store.key, day.toordinal(), purpose)


def with_scenarios(seed: int, store: Store, index: int, day: dt.date, plan: DayPlan, arrivals: Arrivals,
                   expected: np.ndarray) -> Arrivals:
    """The day's arrivals (of the run's store ``index``) after its occurrences (``expected``: the profile's
    expected count per slot)."""
    found = occurrences(seed, store, plan.begin, plan.end, TRAFFIC_KINDS)
    if not found:
        return arrivals
    streams: dict[int, np.random.Generator] = {}

    def rng(purpose: int) -> np.random.Generator:
        if purpose not in streams:
            streams[purpose] = _stream(seed, store, day, purpose)
        return streams[purpose]

    for occ in found:
        if occ.kind == "surge":
            arrivals = _surge(store, index, plan, arrivals, expected, occ, rng)
        elif occ.kind == "early_closure":
            arrivals = arrivals.take(~_entering(arrivals, occ))
        else:
            arrivals = _slow(store, arrivals, occ)
    return arrivals


def _entering(arrivals: Arrivals, occ: Occurrence) -> np.ndarray:
    return (arrivals.entry >= occ.start) & (arrivals.entry < occ.end)


def _surge(store: Store, index: int, plan: DayPlan, arrivals: Arrivals, expected: np.ndarray, occ: Occurrence,
           rng: Callable[[int], np.random.Generator]) -> Arrivals:
    factor = occ.scenario.factor or 1.0
    if factor < 1:  # one uniform per customer of the day: the same draws whatever the window holds
        stay_away = rng(THINNING).random(len(arrivals)) >= factor
        return arrivals.take(~(_entering(arrivals, occ) & stay_away))
    lo = np.maximum(plan.piece_start, occ.start)
    hi = np.minimum(plan.piece_end, occ.end)
    lengths = plan.lengths
    share = np.where(hi > lo, hi - lo, 0) / np.maximum(lengths[plan.piece_slot], 1)
    mean = (factor - 1) * expected[plan.piece_slot] * share
    draws = rng(SURGE)
    per_piece = draws.poisson(mean)
    piece = np.repeat(np.arange(len(mean)), per_piece)
    entry = draws.integers(lo[piece], hi[piece]) if len(piece) else np.zeros(0, np.int64)
    order = np.argsort(entry, kind="stable")
    entry, slot = entry[order].astype(np.int64), plan.piece_slot[piece][order].astype(np.int16)
    counts = np.bincount(slot, minlength=len(lengths))
    minutes = sample_day(store.dwell, rng(SURGE_DWELL), plan.weekday, counts).astype(np.int64)
    n = len(entry)
    exit_ = entry + 60 * minutes
    exit_weekday, exit_slot = store.locate(exit_)
    raw = np.frombuffer(rng(SURGE_IDS).bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    extra = dataclasses.replace(
        arrivals, store=np.full(n, index, dtype=np.int16),
        entry=entry, weekday=np.full(n, plan.weekday, dtype=np.int8), slot=slot, minutes=minutes, exit=exit_,
        exit_weekday=exit_weekday, exit_slot=exit_slot, customer_id=format_uuids(raw),
    )
    both = arrivals.concat([arrivals, extra])
    return both.take(np.argsort(both.entry, kind="stable"))


def _slow(store: Store, arrivals: Arrivals, occ: Occurrence) -> Arrivals:
    slowed = _entering(arrivals, occ)
    if not slowed.any():
        return arrivals
    factor = occ.scenario.factor or 1.0
    minutes = arrivals.minutes.copy()
    longer = np.maximum(minutes[slowed], np.ceil(minutes[slowed] * factor - 1e-9).astype(np.int64))
    exit_ = arrivals.exit.copy()
    exit_[slowed] += 60 * (longer - minutes[slowed])
    minutes[slowed] = longer
    exit_weekday, exit_slot = arrivals.exit_weekday.copy(), arrivals.exit_slot.copy()
    exit_weekday[slowed], exit_slot[slowed] = store.locate(exit_[slowed])
    return dataclasses.replace(arrivals, minutes=minutes, exit=exit_, exit_weekday=exit_weekday, exit_slot=exit_slot)


def sensor_windows(seed: int, store: Store, lo: int, hi: int) -> list[Occurrence]:
    """The store's door-blocked and counter-offline occurrences that meet ``[lo, hi)``."""
    if not (store.profile.scenarios or store.scenarios):
        return []
    return occurrences(seed, store, lo, hi, ("door_blocked", "counter_offline"))
