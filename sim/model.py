"""The SimPy model: an arrival process per run, a process per customer.

The arrival process schedules what :class:`~sim.sampling.ArrivalFeed` drew,
one window at a time; each customer is a process that enters, dwells and
leaves, telling the observer as it goes. The same model runs in a plain
``simpy.Environment`` (offline, as fast as possible) and in a
``simpy.rt.RealtimeEnvironment`` (the live producer): only the environment
differs.

Ordering at equal times is made explicit rather than left to chance: exits
are scheduled with URGENT priority, arrivals with NORMAL, so at any instant
every exit is handled before any entry, and exits among themselves in the
order they were scheduled, which is entry order. That is the canonical order
the vectorized engine reproduces.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import simpy
from simpy.events import URGENT, Event

from sim.events import ENTRY, EXIT, DoorEvent, Session
from sim.observers import Observer
from sim.profile import WEEKDAYS
from sim.sampling import ArrivalFeed
from sim.store import Store

DAY = 86_400


class Leave(Event):
    """A timeout with URGENT priority: a customer's exit after ``delay``."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class StoreModel:
    """Customers of one or more stores arriving, dwelling and leaving.

    ``end`` is exclusive: nothing at or after it reaches the observer.
    ``end=None`` runs until the environment is stopped.
    """

    def __init__(
        self,
        env: simpy.Environment,
        seed: int,
        stores: Sequence[Store],
        start: int,
        end: int | None,
        observer: Observer,
        window: int = DAY,
    ) -> None:
        if any(s.capacity is not None for s in stores):
            raise NotImplementedError("capacity limits are not modelled yet")
        self.env, self.stores, self.observer = env, tuple(stores), observer
        self.start, self.end, self.window = start, end, window
        self._last = end if end is not None else 2**62
        self.feed = ArrivalFeed(seed, stores, start, self._last)
        self._labels = [s.profile.labels for s in stores]
        self.process = env.process(self._arrivals())

    def _arrivals(self) -> Generator[Event, Any, None]:
        env, t = self.env, self.start
        while t < self._last:
            until = min(t + self.window, self._last)
            arr = self.feed.take(until)
            rows = zip(
                arr.store.tolist(), arr.customer_id.tolist(), arr.entry.tolist(),
                arr.exit.tolist(), arr.weekday.tolist(), arr.slot.tolist(),
                arr.exit_weekday.tolist(), arr.exit_slot.tolist(),
            )
            for row in rows:
                delay = row[2] - env.now
                if delay > 0:
                    yield env.timeout(delay)
                env.process(self._customer(*row))
            t = until

    def _customer(
        self, store: int, cid: bytes, entry: int, exit_: int,
        weekday: int, slot: int, exit_weekday: int, exit_slot: int,
    ) -> Generator[Event, Any, None]:
        labels, store_id, customer_id = self._labels[store], self.stores[store].store_id, cid.decode()
        obs = self.observer
        obs.on_session(Session(customer_id, store_id, entry, exit_, WEEKDAYS[weekday], labels[slot]))
        obs.on_entry(DoorEvent(ENTRY, entry, WEEKDAYS[weekday], labels[slot], customer_id, store_id))
        yield Leave(self.env, exit_ - entry)
        if exit_ < self._last:
            obs.on_exit(
                DoorEvent(EXIT, exit_, WEEKDAYS[exit_weekday], labels[exit_slot], customer_id, store_id)
            )
