"""The SimPy model: an arrival process per run, a process per customer.

The arrival process schedules each customer that
:class:`~sim.sampling.ArrivalFeed` drew, one day at a time (an hour's worth
at a time): an entry event at the entry time, whose callback tells the
observer and schedules the exit event, whose callback tells the observer
again. Two events per customer and no generator: a process per customer
would add a start event, a finish event and a generator resume to each
visit (the bare SimPy loop of ``bench/bench_engine.py`` pays them). Customers
of a store with a capacity interact, so they are processes that hold a
:class:`simpy.Resource`'s places (below). The same model runs in a plain
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

import datetime as dt
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from functools import partial
from itertools import islice, repeat
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, Event

from sim.batch import Labels, texts
from sim.events import ENTRY, EXIT, GAVE_UP, TURNED_AWAY, DoorEvent, Session
from sim.observers import Observer
from sim.profile import WEEKDAYS
from sim.sampling import ArrivalFeed, Arrivals
from sim.store import Store

HOUR = 3_600
DAY = 86_400


#: Build the NamedTuples straight from field tuples (C speed, no Python frame).
_new_session = partial(tuple.__new__, Session)
_new_door = partial(tuple.__new__, DoorEvent)


class Due(Event):
    """An event that succeeds when it is due: a ``simpy.Timeout`` without its checks.

    Made twice per customer, so it is made without ``__init__`` (SimPy's own
    hot paths inline ``Event.__init__`` too): the model sets ``env`` and
    ``callbacks`` and schedules it; the outcome (succeeded, no value) is the
    class's.
    """

    _value = None
    _ok = True


_new_due = partial(Event.__new__, Due)


class Leave(Event):
    """A timeout with URGENT priority: a customer's exit after ``delay``.

    Written out like ``simpy.Timeout.__init__`` (not via ``super()``): it is
    created once per customer, on the hot path.
    """

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, URGENT, delay)


class StoreModel:
    """Customers of one or more stores arriving, dwelling and leaving.

    ``end`` is exclusive: nothing at or after it reaches the observer.
    ``end=None`` runs until the environment is stopped. ``prefetch`` draws
    each next day in a background thread (see :class:`ArrivalFeed`): the
    real-time producer's choice, so that midnight costs no lateness.
    ``drawn`` hands over days already drawn (:func:`~sim.sampling.draw_day`
    is a pure function of seed, store and day, so this changes nothing).
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
        prefetch: bool = False,
        drawn: Mapping[tuple[int, dt.date], Arrivals] | None = None,
    ) -> None:
        self.env, self.stores, self.observer = env, tuple(stores), observer
        self.start, self.end, self.window = start, end, window
        self._last = end if end is not None else 2**62
        self.feed = ArrivalFeed(seed, stores, start, self._last, prefetch, drawn)
        self._labels = Labels(stores)
        self._slot_labels = [s.profile.labels for s in stores]
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
        kinds = [self._plain_customer if p is None else self._capped_customer for p in self.places]
        while t < self._last:
            until = min(t + self.window, self._last)
            for row in self._rows(until):
                delay = row[2] - env.now
                if delay > 0:
                    yield env.timeout(delay)
                env.process(kinds[row[0]](*row))
            t = until

    def _arrivals(self) -> Generator[Event, Any, None]:
        """Start every customer of the next window, then wait for the window's end.

        Each customer process waits for its own entry time, so the arrival
        process wakes once per window rather than once per customer.
        """
        env, t = self.env, self.start
        while t < self._last:
            until = min(t + self.window, self._last)
            arr = self.feed.take(until)
            todo = zip(self._window(arr), arr.entry.tolist())
            # Schedule the window's customers an hour's worth at a time, so that a
            # busy day does not stall a real-time run while they are scheduled.
            ends = [*range(t + HOUR, until, HOUR), until]
            done = 0
            schedule = env.schedule
            for end, cut in zip(ends, np.searchsorted(arr.entry, ends).tolist()):
                now = env.now
                for call, entry in islice(todo, cut - done):  # once per customer
                    event = _new_due()
                    event.env = env
                    event.callbacks = [call]
                    schedule(event, NORMAL, entry - now)
                done = cut
                if end < self._last:
                    yield env.timeout(end - env.now)
            t = until

    def _window(self, arr: Arrivals) -> Iterator[Callable[[Event], None]]:
        """A window's entry callbacks (:meth:`_enter` with the session and door events), built in bulk.

        Strings are resolved for the whole window with array lookups and the
        tuples and callbacks are built by ``map`` at C speed: per customer,
        the Python work left is its two events.
        """
        labels, n = self._labels, len(arr)
        ids, stores = texts(arr.customer_id), labels.store_ids[arr.store].tolist()
        entry, exit_ = arr.entry.tolist(), arr.exit.tolist()
        weekday, slot = labels.weekdays(arr.weekday).tolist(), labels.slots(arr.store, arr.slot).tolist()
        sessions = map(_new_session, zip(ids, stores, entry, exit_, weekday, slot, repeat(0, n)))
        entries = map(_new_door, zip(repeat(ENTRY, n), entry, weekday, slot, ids, stores))
        exits = map(_new_door, zip(
            repeat(EXIT, n), exit_, labels.weekdays(arr.exit_weekday).tolist(),
            labels.slots(arr.store, arr.exit_slot).tolist(), ids, stores,
        ))
        return map(partial, repeat(self._enter), sessions, entries, exits)

    def _enter(self, session: Session, entry: DoorEvent, exit_: DoorEvent, _: Event) -> None:
        """A customer entering (the entry event's callback): the exit is scheduled URGENT.

        Entry events are NORMAL, scheduled in entry order, so at equal times
        entries keep entry order and come after every (URGENT) exit.
        """
        obs = self.observer
        obs.on_session(session)
        obs.on_entry(entry)
        event = _new_due()  # once per customer
        event.env = env = self.env
        event.callbacks = [partial(self._leave, exit_)]
        env.schedule(event, URGENT, exit_.time - entry.time)

    def _leave(self, exit_: DoorEvent, _: Event) -> None:
        if exit_.time < self._last:
            self.observer.on_exit(exit_)

    def _customer(self, session: Session, entry: DoorEvent, exit_: DoorEvent) -> Generator[Event, Any, None]:
        # A customer of a store without a capacity in a run where another store
        # has one: started at the entry time by the arrival process.
        env, obs = self.env, self.observer
        obs.on_session(session)
        obs.on_entry(entry)
        yield Leave(env, exit_.time - entry.time)
        if exit_.time < self._last:
            obs.on_exit(exit_)

    def _plain_customer(
        self, store: int, cid: bytes, entry: int, exit_: int,
        weekday: int, slot: int, exit_weekday: int, exit_slot: int,
    ) -> Generator[Event, Any, None]:
        """A customer of a store without a capacity, in a run where another store has one."""
        labels, store_id, customer_id = self._slot_labels[store], self.stores[store].store_id, cid.decode()
        session = Session(customer_id, store_id, entry, exit_, WEEKDAYS[weekday], labels[slot])
        entry_ev = DoorEvent(ENTRY, entry, WEEKDAYS[weekday], labels[slot], customer_id, store_id)
        exit_ev = DoorEvent(EXIT, exit_, WEEKDAYS[exit_weekday], labels[exit_slot], customer_id, store_id)
        yield from self._customer(session, entry_ev, exit_ev)

    def _capped_customer(
        self, store: int, cid: bytes, arrival: int, exit_: int,
        weekday: int, slot: int, exit_weekday: int, exit_slot: int,
    ) -> Generator[Event, Any, None]:
        """A customer of a store with a capacity: queue (or turn away), enter, dwell, leave."""
        env, spec = self.env, self.stores[store]
        places = self.places[store]
        assert places is not None
        labels, store_id, customer_id = self._slot_labels[store], spec.store_id, cid.decode()
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
