"""One simulation run: seed, stores and a time window, on either engine.

:class:`Simulation` is the engine's front door, for the command line and for
notebooks alike::

    from sim import Simulation
    sessions, doors = Simulation.of(start="2025-11-03", days=7, seed=42).frames()

``engine="auto"`` takes the vectorized engine where it is exact (no capacity
limit) and the exact event engine (:mod:`sim.exact`) elsewhere; every
engine gives the same events as the SimPy model, the reference.
"""

from __future__ import annotations

import datetime as dt
import gc
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import simpy

from sim.batch import Batch, BatchCollector, concat_columns, texts
from sim.exact import EventLoop
from sim.extras import need
from sim.fast import DAY, fast_batches
from sim.limits import check_window
from sim.model import StoreModel
from sim.observers import Observer, replay
from sim.store import Store

if TYPE_CHECKING:
    import pandas as pd

Engine = Literal["auto", "fast", "exact", "simpy"]
#: Batch windows, in seconds: each divides a day.
_WINDOWS = (DAY, 43_200, 21_600, 14_400, 10_800, 7_200, 3_600, 1_800, 900, 600, 300, 60)
ENGINES: tuple[str, ...] = ("auto", "fast", "exact", "simpy")


@contextmanager
def fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """Run the SimPy model with fewer garbage collections.

    The model makes and drops a handful of small objects per customer (its
    process, events, the tuples it hands out), many in reference cycles that
    SimPy's events and processes form. With CPython's default threshold (700
    allocations) the collector runs every few customers and walks everything
    alive: a third of a 50-store run's time. Freezing what existed before the
    run and collecting every ``threshold`` allocations instead keeps the
    cycles collected at a small fraction of that cost. Restored on exit.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold, old[0]), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def to_epoch(when: int | float | str | dt.date | dt.datetime) -> int:
    """Epoch seconds from a date (its UTC midnight), a datetime or an ISO string.

    A naive time is taken as UTC. Sub-second parts are dropped: the
    simulation's clock ticks in whole seconds.
    """
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return int(when)
    if isinstance(when, str):
        text = when.strip()
        when = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return int(when.timestamp())
    if isinstance(when, dt.date):
        return int(dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC).timestamp())
    raise TypeError(f"cannot read a time from {when!r}")


def fresh_seed() -> int:
    """A seed from OS entropy, small enough to print and type back."""
    return secrets.randbits(63)


@dataclass(frozen=True)
class Simulation:
    """Every event of ``stores`` with a time in ``[start, end)``, from ``seed``."""

    seed: int
    stores: tuple[Store, ...]
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the run must end after it starts")
        check_window(self.start, self.end)
        if not self.stores:
            raise ValueError("a run needs at least one store")
        ids = [s.store_id for s in self.stores]
        if len(set(ids)) != len(ids):
            raise ValueError("store ids must be unique")

    @classmethod
    def of(
        cls,
        start: int | str | dt.date | dt.datetime,
        days: float = 7,
        seed: int | None = None,
        stores: Sequence[Store] | Store | None = None,
    ) -> Simulation:
        """A run of ``days`` days from ``start`` (the notebook shortcut)."""
        begin = to_epoch(start)
        if isinstance(stores, Store):
            stores = (stores,)
        return cls(
            seed=fresh_seed() if seed is None else seed,
            stores=tuple(stores or (Store(),)),
            start=begin,
            end=begin + int(round(days * DAY)),
        )

    def pick_engine(self, engine: Engine = "auto") -> Literal["fast", "exact", "simpy"]:
        """The engine a run takes: ``auto`` is the vectorized one where no store
        has a capacity, the exact event engine where one has."""
        if engine not in ENGINES:
            raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
        interact = any(s.interacts for s in self.stores)
        if engine == "fast" and interact:
            raise ValueError("engine 'fast' cannot model a capacity limit; use 'exact', 'simpy' or 'auto'")
        if engine == "auto":
            return "exact" if interact else "fast"
        return engine

    def default_window(self, customers: int = 10_000) -> int:
        """A window that holds about ``customers`` visits at most.

        Batches of a few tens of thousands of events keep every array and
        list in cache: a 50-store day in one batch wrote JSONL three times
        slower than the same day in hourly batches. Windows divide the day.
        """
        daily = sum(
            s.daily_customers if s.daily_customers is not None
            else s.baseline * s.multiplier * (1 + s.variation) * 1.5  # 1.5: the busiest weekday
            for s in self.stores
        )
        for window in _WINDOWS:
            if daily * window / DAY <= customers:
                return window
        return _WINDOWS[-1]

    def batches(
        self, engine: Engine = "auto", window: int | None = None, rejected: bool = False,
    ) -> Iterator[Batch]:
        """The run's events as batches in time order, one per window (or more).

        ``window`` (seconds) defaults to :meth:`default_window`; it changes how
        the events are cut into batches, never the events.

        With ``rejected=True`` the door events include the customers of a
        store at capacity who never got in (``turned_away``, ``gave_up``);
        they are counted in each batch either way.
        """
        window = window or self.default_window()
        picked = self.pick_engine(engine)
        if picked == "fast":
            yield from fast_batches(self.seed, self.stores, self.start, self.end, window)
            return
        if picked == "exact":
            loop = EventLoop(self.seed, self.stores, self.start, self.end, rejected)
            with fewer_collections():
                yield from loop.batches(window)
            return
        with fewer_collections():
            yield from self._simpy_batches(window, rejected)

    def _simpy_batches(self, window: int, rejected: bool) -> Iterator[Batch]:
        env = simpy.Environment(initial_time=self.start)
        ready: list[Batch] = []
        collector = BatchCollector(ready.append, rejected=rejected)
        StoreModel(env, self.seed, self.stores, self.start, self.end, collector)
        t = self.start
        while t < self.end:
            t = min(t + window, self.end)
            env.run(until=t)
            collector.flush()
            yield from ready
            ready.clear()

    def run(self, observer: Observer, engine: Engine = "auto") -> None:
        """Hand every event to ``observer`` in simulated-time order."""
        if self.pick_engine(engine) == "simpy":
            env = simpy.Environment(initial_time=self.start)
            StoreModel(env, self.seed, self.stores, self.start, self.end, observer)
            with fewer_collections():
                env.run(until=self.end)
            return
        for batch in self.batches(engine, rejected=True):  # the observer may want the rejected too
            replay(batch, observer)

    def frames(self, engine: Engine = "auto") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Sessions and door events as pandas DataFrames (needs pandas, the ``pandas`` extra).

        Times are timezone-aware UTC timestamps; the other columns are those
        of the JSON payload.
        """
        pd = need("pandas", "Simulation.frames()")

        batches = list(self.batches(engine))
        sessions = concat_columns([b.sessions for b in batches])
        doors = concat_columns([b.doors for b in batches])
        utc = "datetime64[s]"
        s_df = pd.DataFrame({
            "event_type": "foot_traffic",
            "customer_id": texts(sessions.customer_id),
            "entry_time": pd.to_datetime(sessions.entry.astype(utc)).tz_localize("UTC"),
            "exit_time": pd.to_datetime(sessions.exit.astype(utc)).tz_localize("UTC"),
            "trip_duration_minutes": sessions.trip_duration_minutes,
            "weekday": sessions.weekday,
            "time_slot": sessions.time_slot,
            "store_id": sessions.store_id,
            "queue_seconds": sessions.queue_seconds,
        })
        d_df = pd.DataFrame({
            "event_type": doors.event_type,
            "time": pd.to_datetime(doors.time.astype(utc)).tz_localize("UTC"),
            "weekday": doors.weekday,
            "time_slot": doors.time_slot,
            "customer_id": texts(doors.customer_id),
            "store_id": doors.store_id,
        })
        return s_df, d_df
