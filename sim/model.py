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

A store with a ``capacity`` gets a :class:`simpy.Resource` with that many
places. In queue mode an arriving customer who finds it full waits at the
door, first come first served, and enters when a place frees up (or gives
up after the store's patience); the session and the entry are handed out at
that real entry time, with ``queue_seconds`` the wait, and the exit is the
entry plus the dwell drawn for the customer. In loss mode a customer who
finds the store full turns away. Stores without a capacity keep the plain
customer process, untouched, so an uncapped run costs what it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy
from simpy.events import URGENT, Event

from sim.events import ENTRY, EXIT, GAVE_UP, TURNED_AWAY, DoorEvent, Session
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
        self.env, self.stores, self.observer = env, tuple(stores), observer
        self.start, self.end, self.window = start, end, window
        self._last = end if end is not None else 2**62
        self.feed = ArrivalFeed(seed, stores, start, self._last)
        self._labels = [s.profile.labels for s in stores]
        #: A place-holding resource per store with a capacity (None: no limit).
        self.places: list[simpy.Resource | None] = [
            simpy.Resource(env, s.capacity) if s.capacity is not None else None for s in self.stores
        ]
        self._turned_away: Callable[[DoorEvent], None] | None = getattr(observer, "on_turned_away", None)
        self._gave_up: Callable[[DoorEvent], None] | None = getattr(observer, "on_gave_up", None)
        if any(p is not None for p in self.places):
            self.process = env.process(self._arrivals_capped())
        else:
            self.process = env.process(self._arrivals())

    def _rows(self, until: int) -> Any:
        arr = self.feed.take(until)
        return zip(
            arr.store.tolist(), arr.customer_id.tolist(), arr.entry.tolist(),
            arr.exit.tolist(), arr.weekday.tolist(), arr.slot.tolist(),
            arr.exit_weekday.tolist(), arr.exit_slot.tolist(), strict=True,
        )

    def _arrivals_capped(self) -> Generator[Event, Any, None]:
        """The arrival process when some store has a capacity: each customer
        gets the process of its store's kind."""
        env, t = self.env, self.start
        kinds = [self._customer if p is None else self._capped_customer for p in self.places]
        while t < self._last:
            until = min(t + self.window, self._last)
            for row in self._rows(until):
                delay = row[2] - env.now
                if delay > 0:
                    yield env.timeout(delay)
                env.process(kinds[row[0]](*row))
            t = until

    def _arrivals(self) -> Generator[Event, Any, None]:
        env, t = self.env, self.start
        while t < self._last:
            until = min(t + self.window, self._last)
            for row in self._rows(until):
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

    def _capped_customer(
        self, store: int, cid: bytes, arrival: int, exit_: int,
        weekday: int, slot: int, exit_weekday: int, exit_slot: int,
    ) -> Generator[Event, Any, None]:
        """A customer of a store with a capacity: queue (or turn away), enter, dwell, leave."""
        env, spec = self.env, self.stores[store]
        places = self.places[store]
        assert places is not None
        labels, store_id, customer_id = self._labels[store], spec.store_id, cid.decode()
        if spec.capacity_mode == "loss" and places.count >= places.capacity:
            if self._turned_away is not None:
                self._turned_away(
                    DoorEvent(TURNED_AWAY, arrival, WEEKDAYS[weekday], labels[slot], customer_id, store_id)
                )
            return
        place = places.request()  # granted at once (triggered) when a place is free
        if not place.triggered:
            if spec.patience is None:
                yield place
            else:
                yield place | env.timeout(spec.patience)
                if not place.triggered:
                    place.cancel()
                    if self._gave_up is not None:
                        now = int(env.now)
                        wd, sl = spec.locate_one(now)
                        self._gave_up(DoorEvent(GAVE_UP, now, WEEKDAYS[wd], labels[sl], customer_id, store_id))
                    return
        entry = int(env.now)
        if entry >= self._last:  # the run ends before this customer gets in
            places.release(place)
            return
        wait = entry - arrival
        if wait:
            # The visit starts late: same dwell, new times, so new local labels.
            exit_ = entry + (exit_ - arrival)
            weekday, slot = spec.locate_one(entry)
            exit_weekday, exit_slot = spec.locate_one(exit_)
        obs = self.observer
        obs.on_session(Session(customer_id, store_id, entry, exit_, WEEKDAYS[weekday], labels[slot], wait))
        obs.on_entry(DoorEvent(ENTRY, entry, WEEKDAYS[weekday], labels[slot], customer_id, store_id))
        yield Leave(env, exit_ - entry)
        places.release(place)
        if exit_ < self._last:
            obs.on_exit(
                DoorEvent(EXIT, exit_, WEEKDAYS[exit_weekday], labels[exit_slot], customer_id, store_id)
            )
