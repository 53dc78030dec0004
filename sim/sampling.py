"""Random draws: one stream per store, per local day and per purpose.

Every draw comes from a numpy Generator built from the run's seed by
``SeedSequence(seed, spawn_key=(store, day, purpose))`` (:mod:`sim.streams`
works those out many days at once, the same streams): the same children
``SeedSequence.spawn`` would hand out, but addressed by name, so any day of
any store can be drawn on its own. That is what makes a run reproducible
whatever its window (``--start``/``--days`` only select which days are drawn),
lets a restarted producer regenerate exactly the day it stopped in, and keeps
adding a store from changing another store's events.

A day is drawn in one batch per purpose: the slot counts, then every
arrival's placement, dwell and customer id at once.

The profile's calendar (closures, special days, seasonality) scales each
slot's expected count; ordinary days are drawn exactly as without a calendar.
With a fixed daily total (``DAILY_CUSTOMERS``) the calendar scales that total:
a closure day has 0 customers, a special day with multiplier 2.5 has
round(2.5 x total), spread over the slots in proportion to their scaled
expected counts (a multiplier restricted to some slots changes the day's total
by those slots' share only).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sim.batch import ColumnTable
from sim.dwell import sample_day
from sim.groups import Groups
from sim.limits import check_daily_mean
from sim.scenario_effects import with_scenarios
from sim.store import DayPlan, Store
from sim.streams import keyed
from sim.uuids import format_uuids

#: Purposes, each its own stream. Never renumber: it would change every run.
COUNTS, PLACEMENT, DWELL, IDS = 0, 1, 2, 3
#: Group sizes, members' entry offsets and leaving together (only drawn when the profile has groups).
GROUPS = 4

#: With prefetch, simulated seconds before a store's day ends that its next day's draw begins
#: (6 hours: 6 wall minutes at SPEED=60, 2 s at SPEED=10,000 for a second or so of drawing).
AHEAD = 6 * 3600

# Scenarios draw from purposes 20 to 24 (sim.scenario_draw, sim.scenario_effects), the sensor from 10 to 13.


def stream(seed: int, store: Store, day: dt.date, purpose: int) -> np.random.Generator:
    """The Generator for one store, one local day and one purpose (its seed worked out
    with the neighbouring days', :mod:`sim.streams`: the same stream, cheaper)."""
    return keyed(seed, store.key, day.toordinal(), purpose)


def expected_counts(store: Store, plan: DayPlan, factor: float = 1.0) -> np.ndarray:
    """Expected arrivals per slot of a day (``factor`` is the day's variation).

    With a fixed daily total the counts are multinomial and these are their
    means; otherwise each slot is Poisson with this mean. The calendar's
    multipliers for the day (if any) are applied last.
    """
    weights = np.asarray(store.profile.weights[plan.weekday], dtype=float)
    shares = weights * plan.length_ratio
    if store.daily_customers is not None:
        total = shares.sum()
        expected = store.daily_customers * shares / total if total > 0 else shares * 0
    elif weights.sum() == 0:  # a weekday closed all day
        expected = shares * 0
    else:
        mean = store.baseline * store.profile.weekday_factor(plan.weekday) * store.multiplier
        expected = mean * factor * shares / weights.sum()
    scale = store.profile.calendar.factors(plan.day, store.profile.n_slots)
    if scale is not None:
        expected = expected * scale
    # Where the day's mean is formed: it must be something numpy can draw and hold.
    check_daily_mean(float(expected.sum()), f"store {store.store_id!r} on {plan.day.isoformat()}")
    return expected


def day_total(store: Store, plan: DayPlan) -> int:
    """With a fixed daily total: the day's customers after the calendar.

    ``DAILY_CUSTOMERS`` on an ordinary day; on a calendar day the fixed total
    scaled as the calendar says, rounded to the nearest whole customer.
    """
    assert store.daily_customers is not None
    if store.profile.calendar.factors(plan.day, store.profile.n_slots) is None:
        return store.daily_customers
    return int(np.floor(expected_counts(store, plan).sum() + 0.5))


@dataclass
class Arrivals(ColumnTable):
    """Customers in entry order, as parallel arrays."""

    store: np.ndarray  #: index of the store in the run (int16)
    entry: np.ndarray  #: entry time, epoch seconds (int64)
    weekday: np.ndarray  #: local weekday of the entry (int8)
    slot: np.ndarray  #: local slot of the entry (int16)
    minutes: np.ndarray  #: dwell in whole minutes (int64)
    exit: np.ndarray  #: exit time, epoch seconds (int64)
    exit_weekday: np.ndarray  #: local weekday of the exit (int8)
    exit_slot: np.ndarray  #: local slot of the exit (int16)
    customer_id: np.ndarray  #: UUID strings (S36)

    def __len__(self) -> int:
        return int(self.entry.shape[0])

    @staticmethod
    def empty() -> Arrivals:
        return Arrivals(
            store=np.empty(0, np.int16), entry=np.empty(0, np.int64),
            weekday=np.empty(0, np.int8), slot=np.empty(0, np.int16),
            minutes=np.empty(0, np.int64), exit=np.empty(0, np.int64),
            exit_weekday=np.empty(0, np.int8), exit_slot=np.empty(0, np.int16),
            customer_id=np.empty(0, "S36"),
        )


#: Days drawn, by ``(store index, local day)``: handed to an :class:`ArrivalFeed` (``drawn``) or left by one (``keep``).
Days = MutableMapping[tuple[int, dt.date], Arrivals]


def draw_day(seed: int, store: Store, index: int, day: dt.date) -> Arrivals:
    """All of one store's customers arriving on one local day, in entry order (its scenarios applied)."""
    plan = store.day_plan(day)
    arrivals = _draw_plain_day(seed, store, index, day, plan)
    if not (store.profile.scenarios or store.scenarios):  # the day as it always was
        return arrivals
    return with_scenarios(seed, store, index, day, plan, arrivals, expected_counts(store, plan))


def _draw_plain_day(seed: int, store: Store, index: int, day: dt.date, plan: DayPlan) -> Arrivals:
    """:func:`draw_day` before any scenario."""
    if store.profile.groups is not None:
        return _draw_day_in_groups(seed, store, index, day, plan, store.profile.groups)
    rng = stream(seed, store, day, COUNTS)
    if store.daily_customers is not None:
        probs = expected_counts(store, plan) / max(store.daily_customers, 1)
        total = day_total(store, plan)
        if total > 0 and probs.sum() > 0:
            counts = rng.multinomial(total, probs / probs.sum())
        else:  # a closure, a closed weekday or DAILY_CUSTOMERS=0: nothing to spread
            counts = np.zeros(len(probs), dtype=np.int64)
    else:
        factor = rng.uniform(1 - store.variation, 1 + store.variation) if store.variation else 1.0
        counts = rng.poisson(expected_counts(store, plan, factor))
    slot = np.repeat(np.arange(len(counts), dtype=np.int16), counts)
    # Every second of a slot's real time is equally likely, its last minute
    # included (on a daylight-saving day a slot may be two stretches of time).
    offset = stream(seed, store, day, PLACEMENT).integers(0, plan.lengths[slot])
    entry = plan.place(slot, offset)
    order = np.argsort(entry, kind="stable")
    entry, slot = entry[order], slot[order]
    minutes = sample_day(store.dwell, stream(seed, store, day, DWELL), plan.weekday, counts)
    exit_ = entry + 60 * minutes
    return _arrivals(seed, store, index, day, plan.weekday, entry, slot, minutes, exit_)


def _arrivals(
    seed: int, store: Store, index: int, day: dt.date, weekday: int,
    entry: np.ndarray, slot: np.ndarray, minutes: np.ndarray, exit_: np.ndarray,
) -> Arrivals:
    """A day's arrivals from entries in order: ids drawn, exits located."""
    n = len(entry)
    raw = np.frombuffer(stream(seed, store, day, IDS).bytes(16 * n), dtype=np.uint8)
    exit_weekday, exit_slot = store.locate(exit_)
    return Arrivals(
        store=np.full(n, index, dtype=np.int16),
        entry=entry.astype(np.int64),
        weekday=np.full(n, weekday, dtype=np.int8),
        slot=slot,
        minutes=minutes.astype(np.int64),
        exit=exit_,
        exit_weekday=exit_weekday,
        exit_slot=exit_slot,
        customer_id=format_uuids(raw.reshape(n, 16)),
    )


def _group_counts(rng: np.random.Generator, sizes_rng: np.random.Generator,
                  store: Store, plan: DayPlan, groups: Groups) -> tuple[np.ndarray, np.ndarray]:
    """Groups per slot and each group's size (in slot order).

    Poisson slots: groups are Poisson with the slot's mean over E[G]. A fixed
    daily total: sizes are drawn until they reach the total (the last group
    cut to fit, so the day holds exactly the total), and the groups are
    spread over the slots multinomially.
    """
    if store.daily_customers is None:
        factor = rng.uniform(1 - store.variation, 1 + store.variation) if store.variation else 1.0
        counts = rng.poisson(expected_counts(store, plan, factor) / groups.mean())
        return counts, groups.draw_sizes(sizes_rng, int(counts.sum()))
    probs = expected_counts(store, plan)
    total = day_total(store, plan)
    if total <= 0 or probs.sum() <= 0:
        return np.zeros(len(probs), dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes = groups.draw_sizes(sizes_rng, int(total / groups.mean() * 1.2) + 16)
    while sizes.sum() < total:
        sizes = np.concatenate([sizes, groups.draw_sizes(sizes_rng, len(sizes))])
    reach = np.cumsum(sizes)
    cut = int(np.searchsorted(reach, total)) + 1
    sizes = sizes[:cut].copy()
    sizes[-1] -= int(reach[cut - 1]) - total
    return rng.multinomial(cut, probs / probs.sum()), sizes


def _draw_day_in_groups(seed: int, store: Store, index: int, day: dt.date, plan: DayPlan,
                        groups: Groups) -> Arrivals:
    """:func:`draw_day` when people arrive in groups (see :mod:`sim.groups`)."""
    g_rng = stream(seed, store, day, GROUPS)
    counts, sizes = _group_counts(stream(seed, store, day, COUNTS), g_rng, store, plan, groups)
    g_slot = np.repeat(np.arange(len(counts), dtype=np.int16), counts)
    g_offset = stream(seed, store, day, PLACEMENT).integers(0, plan.lengths[g_slot])
    group = np.repeat(np.arange(len(sizes)), sizes)  # each person's group
    first = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)  # each group's first person
    lag = g_rng.integers(0, groups.spread + 1, size=len(group))
    lag[first[sizes > 0]] = 0
    slot = g_slot[group]
    # Members follow the first within ``spread`` seconds of real time and stay inside their
    # group's slot (so slot counts are compound Poisson): inside the first member's stretch of it.
    entry = plan.after(plan.place(g_slot, g_offset)[group], lag)
    order = np.argsort(entry, kind="stable")
    entry, slot, group = entry[order], slot[order], group[order]
    people = np.bincount(slot, minlength=len(counts))
    minutes = sample_day(store.dwell, stream(seed, store, day, DWELL), plan.weekday, people)
    exit_ = entry + 60 * minutes
    together = g_rng.random(len(sizes)) < groups.together
    leave = together[group]
    if leave.any():
        last_entry = np.zeros(len(sizes), dtype=np.int64)
        np.maximum.at(last_entry, group, entry)
        lead = np.full(len(sizes), len(entry), dtype=np.int64)  # each group's first member, in entry order
        np.minimum.at(lead, group, np.arange(len(entry)))
        group_exit = last_entry + 60 * minutes[np.minimum(lead, len(entry) - 1)]
        exit_ = np.where(leave, group_exit[group], exit_)
        minutes = (exit_ - entry) // 60
    return _arrivals(seed, store, index, day, plan.weekday, entry, slot, minutes, exit_)


class ArrivalFeed:
    """Hands out every store's arrivals in ``[start, end)`` window by window.

    Each store's local days are drawn lazily as the windows reach them and
    merged by entry time; ties keep store order, then draw order. Memory
    holds at most a day or so of arrivals, whatever the run's length.

    With ``prefetch``, each store's next day is drawn in a background thread
    while the current one is handed out, so a real-time run does not stall
    at midnight while a busy day is drawn (numpy releases the GIL for most of
    the work). A draw is a pure function of seed, store and day: prefetching
    changes when it happens, never what it gives. The next day's draw begins
    :data:`AHEAD` simulated seconds before the day ends, and never in the
    first hand-out: a live run's first hand-out is made before its clock
    starts, and a chain's next days (a second of drawing per 2,000 stores)
    drawn beside it doubled that wait.
    """

    def __init__(
        self, seed: int, stores: Sequence[Store], start: int, end: int, prefetch: bool = False,
        drawn: Mapping[tuple[int, dt.date], Arrivals] | None = None,
        keep: Days | None = None,
    ) -> None:
        self.seed, self.stores, self.start, self.end = seed, tuple(stores), start, end
        #: Days drawn before the feed was made (``(store index, local day)`` -> the day's
        #: :func:`draw_day`): a live run draws its first day before it fixes its start.
        self._drawn = dict(drawn or {})
        #: Where each store's latest day drawn is left, as ``drawn`` takes it (the earlier one removed):
        #: a live backfill's last days are the model's first, drawn once.
        self._keep = keep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draw") if prefetch else None
        self._days = [self._days_of(i) for i in range(len(self.stores))]
        self._pending = [Arrivals.empty() for _ in self.stores]
        self._drawn_to = [start for _ in self.stores]
        #: With ``prefetch``: each store's next day, the hand-out at which its draw begins, its draw begun.
        self._ahead_day: list[dt.date | None] = [None for _ in self.stores]
        self._ahead_at = [math.inf for _ in self.stores]
        self._ahead: list[Future[Arrivals] | None] = [None for _ in self.stores]
        self._next_ahead = math.inf  # the earliest of ``_ahead_at``
        self._handed_out = False  # a first hand-out was made

    def _days_of(self, index: int) -> Iterator[Arrivals]:
        store = self.stores[index]
        day = store.local_date(self.start)
        while True:
            plan = store.day_plan(day)
            if plan.begin >= self.end:
                return
            self._drawn_to[index] = plan.end
            ahead, self._ahead[index], self._ahead_at[index] = self._ahead[index], None, math.inf
            arrivals = ahead.result() if ahead is not None else self._drawn.pop((index, day), None)
            if arrivals is None:
                arrivals = draw_day(self.seed, store, index, day)
            if self._keep is not None:
                self._keep.pop((index, day - dt.timedelta(days=1)), None)
                self._keep[index, day] = arrivals
            following = day + dt.timedelta(days=1)
            if self._pool is not None and store.day_plan(following).begin < self.end:
                self._ahead_day[index], self._ahead_at[index] = following, plan.end - AHEAD
                self._next_ahead = min(self._next_ahead, plan.end - AHEAD)
            if plan.begin < self.start:  # the run starts inside this day
                arrivals = arrivals.take(arrivals.entry >= self.start)
            yield arrivals
            day = following

    def take(self, until: int) -> Arrivals:
        """Arrivals with entry in ``[previous until, until)``, in entry order."""
        until = min(until, self.end)
        if self._handed_out and until >= self._next_ahead:
            self._draw_ahead(until)
        self._handed_out = True
        parts = []
        for i in range(len(self.stores)):
            while self._drawn_to[i] < until:
                nxt = next(self._days[i], None)
                if nxt is None:
                    break
                self._pending[i] = Arrivals.concat([self._pending[i], nxt]) if len(self._pending[i]) else nxt
            pending = self._pending[i]
            cut = int(np.searchsorted(pending.entry, until, side="left"))
            parts.append(pending.take(slice(0, cut)))
            self._pending[i] = pending.take(slice(cut, None))
        merged = Arrivals.concat(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            merged = merged.take(np.argsort(merged.entry, kind="stable"))
        return merged

    def _draw_ahead(self, until: int) -> None:
        """Begin the next day's draw of every store whose day ends within :data:`AHEAD` of ``until``."""
        assert self._pool is not None
        for i, at in enumerate(self._ahead_at):
            day = self._ahead_day[i]
            if at <= until and self._ahead[i] is None and day is not None:
                self._ahead[i] = self._pool.submit(draw_day, self.seed, self.stores[i], i, day)
                self._ahead_at[i] = math.inf
        self._next_ahead = min(self._ahead_at, default=math.inf)
