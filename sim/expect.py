"""What a store's traffic should look like on average: the profile's expectations.

Given stores and a time span, this module computes, with no simulation:

- the arrival rate λ(t), piecewise constant: each slot of each local day
  carries its expected count (:func:`sim.sampling.expected_counts`, the
  profile's share times the daily mean with its weekday factor) spread evenly
  over the slot's real length (:meth:`sim.store.Store.day_plan`, DST aware);
- expected arrivals per hour (or any bin) and per day: integrals of λ;
- the expected number of customers inside an infinite-capacity store,
  ``E[N(t)] = ∫ λ(t − u) G(u) du`` with ``G`` the dwell survival function;
- a store's local clock hours and days on the UTC timeline
  (:func:`local_hours`, :func:`local_day_bounds`), to bin data and
  expectations by the store's own weekday and hour.

The day-to-day variation factor is uniform with mean 1, so it leaves every
mean here unchanged; a fixed daily total (``daily_customers``) makes the slot
counts multinomial with the same means. Everything is exact, not sampled:
``Λ(t) = ∫ λ`` is piecewise linear, and the default dwell is whole minutes, so
``G`` is a step function on one-minute steps and the occupancy integral is a
finite sum of differences of ``Λ`` (see :func:`expected_occupancy`).

Pure numpy, no I/O: the notebooks, ``foot-traffic report`` and the tests use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sim.calendar import Calendar
from sim.dwell import Dwell, DwellBySlot
from sim.profile import MINUTES_PER_DAY, Profile
from sim.sampling import expected_counts
from sim.store import DayPlan, Store

#: The occupancy sum stops where the dwell survival falls below this (the
#: default dwell reaches exactly 0 after 75 minutes; a long-tailed model is
#: cut where the rest can no longer matter).
SURVIVAL_CUTOFF = 1e-12
#: And in any case after this many minutes (a week).
MAX_DWELL_MINUTES = 7 * MINUTES_PER_DAY

Stores = Store | Sequence[Store]


def _stores(stores: Stores) -> tuple[Store, ...]:
    return (stores,) if isinstance(stores, Store) else tuple(stores)


@dataclass(frozen=True)
class RateCurve:
    """A piecewise-constant arrival rate on the epoch-second timeline.

    ``edges`` are increasing epoch seconds; ``rates[i]`` is the rate (arrivals
    per second) on ``[edges[i], edges[i+1])``. The rate is 0 outside
    ``[edges[0], edges[-1])``: the run simulates no one before its start.
    """

    edges: np.ndarray  #: float64, increasing
    rates: np.ndarray  #: float64, arrivals per second, one fewer than edges

    @property
    def _cumulative_at_edges(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.rates * np.diff(self.edges))])

    def cumulative(self, times: np.ndarray | float) -> np.ndarray:
        """Λ(t): expected arrivals from the curve's start up to each time."""
        # Λ is linear between edges and flat outside, which is what interp does.
        return np.interp(np.asarray(times, dtype=float), self.edges, self._cumulative_at_edges)

    def rate(self, times: np.ndarray | float) -> np.ndarray:
        """λ(t) in arrivals per second at each time (right-continuous)."""
        t = np.asarray(times, dtype=float)
        i = np.searchsorted(self.edges, t, side="right") - 1
        inside = (i >= 0) & (i < self.rates.shape[0])
        return np.where(inside, self.rates[np.clip(i, 0, self.rates.shape[0] - 1)], 0.0)

    def between(self, start: np.ndarray | float, end: np.ndarray | float) -> np.ndarray:
        """Expected arrivals in ``[start, end)``."""
        return self.cumulative(end) - self.cumulative(start)


def rate_curve(
    stores: Stores, start: int, end: int, slots: Callable[[int, int], bool] | None = None,
) -> RateCurve:
    """λ(t) of the stores together on ``[start, end)``.

    Built from every local day of every store that overlaps the span: each
    slot's expected count over its real length. Slots of zero length (inside
    a spring-forward gap) carry no rate. ``slots(weekday, slot)``, when
    given, keeps only the (local weekday, slot) pairs it accepts.
    """
    if end <= start:
        raise ValueError("the span must end after it starts")
    pieces_start: list[np.ndarray] = []
    pieces_end: list[np.ndarray] = []
    pieces_rate: list[np.ndarray] = []
    for store in _stores(stores):
        day = store.local_date(start)
        while True:
            plan = store.day_plan(day)
            if plan.begin >= end:
                break
            lengths = plan.lengths.astype(float)
            counts = expected_counts(store, plan)
            rate = np.divide(counts, lengths, out=np.zeros_like(lengths), where=lengths > 0)
            if slots is not None:
                rate = rate * np.array([slots(plan.weekday, j) for j in range(rate.shape[0])])
            # Pieces, not slots: on a daylight-saving day a slot may be two stretches of time.
            pieces_start.append(plan.piece_start.astype(float))
            pieces_end.append(plan.piece_end.astype(float))
            pieces_rate.append(rate[plan.piece_slot])
            day += dt.timedelta(days=1)
    seg_start = np.clip(np.concatenate(pieces_start), start, end)
    seg_end = np.clip(np.concatenate(pieces_end), start, end)
    seg_rate = np.concatenate(pieces_rate)
    # Sum the stores' step functions: +rate at each segment start, -rate at its end.
    keep = seg_end > seg_start
    points = np.concatenate([seg_start[keep], seg_end[keep]])
    jumps = np.concatenate([seg_rate[keep], -seg_rate[keep]])
    edges, inverse = np.unique(np.concatenate([points, [float(start), float(end)]]), return_inverse=True)
    level = np.zeros(edges.shape[0])
    np.add.at(level, inverse[: points.shape[0]], jumps)
    rates = np.cumsum(level)[:-1]
    # Cumulative sums of +r/-r can leave -1e-17 where the rate is really 0.
    return RateCurve(edges=edges, rates=np.where(np.abs(rates) < 1e-15, 0.0, rates))


def expected_arrivals(stores: Stores, start: int, end: int, step: int = 3600) -> np.ndarray:
    """Expected arrivals in each bin ``[start + k·step, start + (k+1)·step)`` up to ``end``.

    The last bin is cut at ``end`` when the span is not a whole number of steps.
    """
    if step <= 0:
        raise ValueError("step must be > 0 seconds")
    bounds = np.append(np.arange(start, end, step, dtype=np.int64), end)
    return rate_curve(stores, start, end).between(bounds[:-1], bounds[1:])


def expected_daily_totals(stores: Stores, days: Sequence[dt.date]) -> np.ndarray:
    """Expected customers on each given local day (summed over the stores).

    With day-to-day variation the day's total is the mean times a uniform
    factor of mean 1, so the expectation is the plain mean.
    """
    totals = np.zeros(len(days))
    for store in _stores(stores):
        for i, day in enumerate(days):
            totals[i] += float(expected_counts(store, store.day_plan(day)).sum())
    return totals


def nominal_plan(profile: Profile, weekday: int) -> DayPlan:
    """A day of ``weekday`` with every slot at its nominal length (no DST change).

    Its times count seconds from midnight, not epoch seconds: it serves the
    per-weekday tables below, not the timeline.
    """
    starts = np.asarray(profile.starts, dtype=np.int64) * 60
    ends = np.asarray(profile.ends, dtype=np.int64) * 60
    monday = dt.date(2024, 1, 1)
    return DayPlan(
        day=monday + dt.timedelta(days=weekday), weekday=weekday, starts=starts, ends=ends,
        length_ratio=np.ones(profile.n_slots),
    )


def hourly_rate_table(store: Store) -> np.ndarray:
    """Expected arrivals per hour, weekday × slot (7 rows, one column per slot)."""
    table = np.empty((7, store.profile.n_slots))
    hours = (np.asarray(store.profile.ends) - np.asarray(store.profile.starts)) / 60
    for weekday in range(7):
        table[weekday] = expected_counts(store, nominal_plan(store.profile, weekday)) / hours
    return table


def dwell_survival_steps(store: Store | Dwell) -> np.ndarray:
    """``G_k = P(dwell > k minutes)`` for k = 0, 1, ... until it is (nearly) 0.

    The dwell is whole minutes, so P(dwell·60 s > u) is ``G_k`` for every
    ``u`` in ``[60k, 60(k+1))``: the survival function in seconds is this
    step function, exactly.
    """
    chunk, parts, k = 256, [], 0
    while k < MAX_DWELL_MINUTES:
        dwell = store.dwell if isinstance(store, Store) else store
        g = dwell.survival(np.arange(k, k + chunk, dtype=float))
        small = np.flatnonzero(g < SURVIVAL_CUTOFF)
        if small.size:
            parts.append(g[: small[0]])
            break
        parts.append(g)
        k += chunk
    return np.concatenate(parts) if parts else np.zeros(0)


def expected_occupancy(stores: Stores, times: np.ndarray, start: int, end: int) -> np.ndarray:
    """E[N(t)]: expected customers inside at each time, for arrivals in ``[start, end)``.

    For an infinite-capacity store (no one waits, customers do not interact)
    ``E[N(t)] = ∫₀^∞ λ(t − u) G(u) du``. With ``G`` constant (``G_k``) on each
    minute ``[60k, 60(k+1))`` of ``u``, the integral is the finite sum
    ``Σ_k G_k · (Λ(t − 60k) − Λ(t − 60(k+1)))``, computed exactly.

    The engine places arrivals on whole seconds, uniformly in each slot, and a
    customer who entered at ``s`` with a dwell of ``m`` minutes leaves at
    ``s + 60m``. For a whole-second ``t`` this is then exactly the expected
    number of customers who entered before ``t`` and had not left before ``t``
    (door events with a time ``< t``).
    """
    t = np.asarray(times, dtype=float)
    total = np.zeros(t.shape)
    for store in _stores(stores):
        for model, slots in dwell_groups(store):
            curve = rate_curve(store, start, end, slots)
            for k, g in enumerate(dwell_survival_steps(model)):
                if g > 0:
                    total += g * curve.between(t - 60.0 * (k + 1), t - 60.0 * k)
    return total


def dwell_groups(store: Store) -> list[tuple[Dwell, Callable[[int, int], bool] | None]]:
    """The store's dwell models, each with the (weekday, slot) pairs whose
    entries draw from it (``None``: every pair)."""
    dwell = store.dwell
    if not isinstance(dwell, DwellBySlot):
        return [(dwell, None)]
    return [
        (model, lambda d, j, model=model: dwell.for_slot(d, j) == model)  # type: ignore[misc]
        for model in dwell.models()
    ]


#: One slot per local clock hour: its day plans cut a day into local hours.
_HOURS = Profile(starts=tuple(range(0, MINUTES_PER_DAY, 60)), weights=((1.0,) * 24,) * 7, name="hours")


@dataclass(frozen=True)
class LocalHours:
    """A store's local clock hours inside a span, each a stretch of UTC time.

    On a spring-forward day the skipped hour has no row; on a fall-back day
    the repeated hour is one row twice as long (both of its passes).
    """

    day: np.ndarray  #: local date ordinal
    weekday: np.ndarray  #: 0 = Monday
    hour: np.ndarray  #: local hour of day, 0..23
    start: np.ndarray  #: epoch seconds, clipped to the span
    end: np.ndarray  #: epoch seconds (exclusive), clipped to the span


def _local_pieces(timezone: str, start: int, end: int, profile: Profile) -> LocalHours:
    clock = Store(profile=profile, timezone=timezone)
    parts: list[np.ndarray] = []
    day = clock.local_date(start)
    while True:
        plan = clock.day_plan(day)
        if plan.begin >= end:
            break
        lo, hi = np.clip(plan.piece_start, start, end), np.clip(plan.piece_end, start, end)
        keep = hi > lo
        n = int(keep.sum())
        parts.append(np.stack([np.full(n, day.toordinal()), np.full(n, plan.weekday), plan.piece_slot[keep],
                               lo[keep], hi[keep]]))
        day += dt.timedelta(days=1)
    table = np.concatenate(parts, axis=1) if parts else np.zeros((5, 0), np.int64)
    return LocalHours(*(table[i].astype(np.int64) for i in range(5)))


def local_hours(timezone: str, start: int, end: int) -> LocalHours:
    """The local clock hours of ``timezone`` overlapping ``[start, end)``, in time order per day."""
    return _local_pieces(timezone, start, end, _HOURS)


def local_day_bounds(timezone: str, start: int, end: int) -> tuple[list[dt.date], np.ndarray]:
    """The local days overlapping ``[start, end)`` and their bounds (epoch seconds, clipped to the span).

    ``bounds[i]`` to ``bounds[i + 1]`` is day *i* (23, 24 or 25 hours, or less at the span's ends).
    """
    hours = local_hours(timezone, start, end)
    days, first = np.unique(hours.day, return_index=True)
    bounds = np.append(hours.start[first], end)
    return [dt.date.fromordinal(int(d)) for d in days], bounds


def erlang_b(capacity: int, load: float) -> float:
    """Erlang's loss formula: the share of arrivals a full ``capacity`` turns away at ``load`` Erlangs.

    The steady state of an M/G/c/c system (Poisson arrivals, any dwell
    distribution, no queue), by the stable recursion
    B(0) = 1, B(c) = A B(c - 1) / (c + A B(c - 1)).
    """
    b = 1.0
    for c in range(1, capacity + 1):
        b = load * b / (c + load * b)
    return b


def offered_load_table(store: Store) -> np.ndarray:
    """Offered load in Erlangs, weekday x slot: arrivals per minute times the mean dwell in minutes.

    The load is constant inside a slot of an ordinary day (no calendar, no
    daylight-saving change), so this is where Erlang's formula applies, in
    the steady state a slot much longer than a visit reaches. Each slot's
    dwell is its own model's when the store has one per slot.
    """
    ordinary = dataclasses.replace(store, profile=dataclasses.replace(store.profile, calendar=Calendar()))
    per_minute = hourly_rate_table(ordinary) / 60
    means = np.empty_like(per_minute)
    dwell = store.dwell
    for d in range(7):
        for j in range(store.profile.n_slots):
            model = dwell.for_slot(d, j) if isinstance(dwell, DwellBySlot) else dwell
            means[d, j] = model.mean_minutes()
    return per_minute * means
