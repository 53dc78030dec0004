"""The SimPy model: an arrival process per run, a process per customer.

The arrival process starts a process for each customer that
:class:`~sim.sampling.ArrivalFeed` drew, one day at a time (started an hour's worth at a time); each
customer process waits for its entry time, enters, dwells and leaves, telling
the observer as it goes. The same model runs in a plain
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

from collections.abc import Generator, Iterator, Sequence
from functools import partial
from itertools import islice, repeat
from typing import Any

import numpy as np
import simpy
from simpy.events import PENDING, URGENT, Event, Process, Timeout

from sim.batch import Labels, texts
from sim.events import ENTRY, EXIT, DoorEvent, Session
from sim.observers import Observer
from sim.sampling import ArrivalFeed, Arrivals
from sim.store import Store

HOUR = 3_600
DAY = 86_400


#: Build the NamedTuples straight from field tuples (C speed, no Python frame).
_new_session = partial(tuple.__new__, Session)
_new_door = partial(tuple.__new__, DoorEvent)


class Arrival(Process):
    """A customer's process, started at its entry time rather than now.

    ``Process.__init__`` schedules an ``Initialize`` event to start the
    generator at once; the customer would then only wait for its entry. Here
    the first resume is the entry itself (a NORMAL-priority timeout), which
    saves one event per customer. The body mirrors ``Process.__init__``
    (SimPy 4), as SimPy's own hot paths inline ``Event.__init__``.
    """

    def __init__(self, env: simpy.Environment, generator: Generator[Event, Any, None], delay: float) -> None:
        self.env = env
        self.callbacks = []
        self._generator = generator
        self._value = PENDING
        self._target = Timeout(env, delay)
        self._target.callbacks.append(self._resume)  # type: ignore[union-attr]


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
        self._labels = Labels(stores)
        self.process = env.process(self._arrivals())

    def _arrivals(self) -> Generator[Event, Any, None]:
        """Start every customer of the next window, then wait for the window's end.

        Each customer process waits for its own entry time, so the arrival
        process wakes once per window rather than once per customer.
        """
        env, t = self.env, self.start
        while t < self._last:
            until = min(t + self.window, self._last)
            arr = self.feed.take(until)
            todo = self._window(arr)
            # Start the window's customers an hour's worth at a time, so that a
            # busy day does not stall a real-time run while its processes start.
            ends = [*range(t + HOUR, until, HOUR), until]
            done = 0
            for end, cut in zip(ends, np.searchsorted(arr.entry, ends).tolist()):
                for session, entry, exit_ in islice(todo, cut - done):
                    Arrival(env, self._customer(session, entry, exit_), entry.time - env.now)
                done = cut
                if end < self._last:
                    yield env.timeout(end - env.now)
            t = until

    def _window(self, arr: Arrivals) -> Iterator[tuple[Session, DoorEvent, DoorEvent]]:
        """A window's sessions and door events, built in bulk.

        Strings are resolved for the whole window with array lookups and the
        tuples are built by ``map`` at C speed: per customer, the Python work
        left is the process itself.
        """
        labels, n = self._labels, len(arr)
        ids, stores = texts(arr.customer_id), labels.store_ids[arr.store].tolist()
        entry, exit_ = arr.entry.tolist(), arr.exit.tolist()
        weekday, slot = labels.weekdays(arr.weekday).tolist(), labels.slots(arr.store, arr.slot).tolist()
        sessions = map(_new_session, zip(ids, stores, entry, exit_, weekday, slot))
        entries = map(_new_door, zip(repeat(ENTRY, n), entry, weekday, slot, ids, stores))
        exits = map(_new_door, zip(
            repeat(EXIT, n), exit_, labels.weekdays(arr.exit_weekday).tolist(),
            labels.slots(arr.store, arr.exit_slot).tolist(), ids, stores,
        ))
        return zip(sessions, entries, exits)

    def _customer(self, session: Session, entry: DoorEvent, exit_: DoorEvent) -> Generator[Event, Any, None]:
        # Runs first at the entry time (see Arrival): NORMAL priority, scheduled
        # in entry order, so at equal times entries keep entry order and come
        # after every (URGENT) exit.
        env, obs = self.env, self.observer
        obs.on_session(session)
        obs.on_entry(entry)
        yield Leave(env, exit_.time - entry.time)
        if exit_.time < self._last:
            obs.on_exit(exit_)
