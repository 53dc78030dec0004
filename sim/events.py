"""What the simulation hands out: visits (sessions) and door events.

The JSON form is the wire format of the producer this project replaces
(SPEC.md): the same field names, order and types, times in ISO 8601 UTC with
an explicit ``+00:00``, the slot label joined by an en dash. Fields are only
ever added after the old ones (``store_id``; ``customer_id`` on door events),
which every known consumer ignores. ``queue_seconds`` (the wait at the door
of a store at capacity) is always present, 0 without a capacity limit, so a
stream has one schema whatever the run's settings.

The payload builders and the encoder are :mod:`sim.wire`'s, the one place
they are declared, so a single event and a columnar batch serialise byte for
byte the same.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sim.wire import SESSION_TYPE, door_json, door_payload, iso, iso_many, session_json, session_payload

__all__ = ["SESSION_TYPE", "ENTRY", "EXIT", "TURNED_AWAY", "GAVE_UP", "Session", "DoorEvent",
           "iso", "iso_many", "session_payload", "door_payload"]
ENTRY, EXIT = "entry", "exit"
#: Door events of customers who never got in (a store at capacity): turned
#: away on arrival (loss mode) or gave up waiting in the queue (patience).
TURNED_AWAY, GAVE_UP = "turned_away", "gave_up"


class Session(NamedTuple):
    """One visit, handed out when the customer enters.

    ``entry`` is when the customer got in; ``queue_seconds`` how long they
    waited at the door before that (arrival = entry - queue_seconds).
    A NamedTuple rather than a frozen dataclass: just as immutable, and three
    times cheaper to create, which the SimPy model does for every customer.
    """

    customer_id: str
    store_id: str
    entry: int  #: epoch seconds
    exit: int  #: epoch seconds
    weekday: str  #: local weekday of the entry
    time_slot: str  #: local slot of the entry
    queue_seconds: int = 0  #: wait at the door before the entry

    @property
    def trip_duration_minutes(self) -> int:
        return (self.exit - self.entry) // 60

    def payload(self) -> dict[str, Any]:
        return session_payload(
            self.customer_id, iso(self.entry), iso(self.exit), self.trip_duration_minutes,
            self.weekday, self.time_slot, self.store_id, self.queue_seconds,
        )

    def to_json(self) -> bytes:
        return session_json(self.customer_id, self.entry, self.exit, self.trip_duration_minutes, self.weekday,
                            self.time_slot, self.store_id, self.queue_seconds)


class DoorEvent(NamedTuple):
    """A customer at the door: ``kind`` is ``"entry"`` or ``"exit"``, or
    ``"turned_away"`` / ``"gave_up"`` for one who never got in.

    ``weekday`` and ``time_slot`` describe the event's own time (the old
    producer copied the entry's labels onto the exit).
    """

    kind: str
    time: int  #: epoch seconds
    weekday: str
    time_slot: str
    customer_id: str
    store_id: str

    def payload(self) -> dict[str, Any]:
        return door_payload(
            self.kind, iso(self.time), self.weekday, self.time_slot, self.customer_id, self.store_id
        )

    def to_json(self) -> bytes:
        return door_json(self.kind, self.time, self.weekday, self.time_slot, self.customer_id, self.store_id)
