"""The observer interface: how the engine hands out what happens.

An observer is attached once, when a model is built, and is called in
simulated-time order: ``on_session`` then ``on_entry`` when a customer
enters, ``on_exit`` when one leaves. At equal times exits come first (a
leaving customer frees the door before an arriving one), then customers in
entry order. Observers must not block: the real-time producer's pacing
depends on them returning quickly.

Customers of a store at capacity who never get in are reported through two
optional methods, ``on_turned_away`` (loss mode: the store was full on
arrival) and ``on_gave_up`` (queue mode: the patience ran out). An observer
without them is simply not told (:class:`RejectionObserver`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sim.batch import Batch
from sim.events import ENTRY, EXIT, GAVE_UP, TURNED_AWAY, DoorEvent, Session


class Observer(Protocol):
    def on_session(self, session: Session) -> None: ...

    def on_entry(self, event: DoorEvent) -> None: ...

    def on_exit(self, event: DoorEvent) -> None: ...


class RejectionObserver(Observer, Protocol):
    """An observer that also wants the customers who never got in."""

    def on_turned_away(self, event: DoorEvent) -> None: ...

    def on_gave_up(self, event: DoorEvent) -> None: ...


@dataclass
class Collector:
    """Keeps every event in lists (for tests and small notebook runs)."""

    sessions: list[Session] = field(default_factory=list)
    entries: list[DoorEvent] = field(default_factory=list)
    exits: list[DoorEvent] = field(default_factory=list)
    doors: list[DoorEvent] = field(default_factory=list)
    turned_away: list[DoorEvent] = field(default_factory=list)
    gave_up: list[DoorEvent] = field(default_factory=list)

    def on_session(self, session: Session) -> None:
        self.sessions.append(session)

    def on_entry(self, event: DoorEvent) -> None:
        self.entries.append(event)
        self.doors.append(event)

    def on_exit(self, event: DoorEvent) -> None:
        self.exits.append(event)
        self.doors.append(event)

    def on_turned_away(self, event: DoorEvent) -> None:
        self.turned_away.append(event)

    def on_gave_up(self, event: DoorEvent) -> None:
        self.gave_up.append(event)


@dataclass
class Counter:
    """Counts events and tracks occupancy (customers inside) per store."""

    sessions: int = 0
    entries: int = 0
    exits: int = 0
    inside: dict[str, int] = field(default_factory=dict)
    min_inside: int = 0
    max_inside: dict[str, int] = field(default_factory=dict)
    turned_away: int = 0
    gave_up: int = 0

    def on_session(self, session: Session) -> None:
        self.sessions += 1

    def on_entry(self, event: DoorEvent) -> None:
        self.entries += 1
        now = self.inside.get(event.store_id, 0) + 1
        self.inside[event.store_id] = now
        if now > self.max_inside.get(event.store_id, 0):
            self.max_inside[event.store_id] = now

    def on_exit(self, event: DoorEvent) -> None:
        self.exits += 1
        now = self.inside.get(event.store_id, 0) - 1
        self.inside[event.store_id] = now
        self.min_inside = min(self.min_inside, now)

    def on_turned_away(self, event: DoorEvent) -> None:
        self.turned_away += 1

    def on_gave_up(self, event: DoorEvent) -> None:
        self.gave_up += 1


def replay(batch: Batch, observer: Observer) -> None:
    """Hand a batch's events to an observer in simulated-time order.

    A batch's sessions are exactly its entries, in the same order, so each
    entry door event is preceded by its session. Door events of customers
    who never got in go to the observer's optional ``on_turned_away`` /
    ``on_gave_up``.
    """
    sessions = iter(batch.sessions)
    rejected = {
        TURNED_AWAY: getattr(observer, "on_turned_away", None),
        GAVE_UP: getattr(observer, "on_gave_up", None),
    }
    for event in batch.doors:
        if event.kind == ENTRY:
            observer.on_session(next(sessions))
            observer.on_entry(event)
        elif event.kind == EXIT:
            observer.on_exit(event)
        else:
            tell = rejected[event.kind]
            if tell is not None:
                tell(event)
