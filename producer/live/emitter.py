"""The emitter: an observer that turns the model's events into stream entries.

Attached to :class:`~sim.model.StoreModel` like any other observer, it gives
each event its stream entry: ``data`` is the event's JSON (the same bytes
``foot-traffic simulate`` writes as a JSONL line), ``key`` the customer id,
and the entry id is ``<epoch_ms>-<seq>``, where ``seq`` counts the stream's
entries at that millisecond. Event times are whole seconds and every run
replays the same events in the same order, so the id is a function of the
event: a restarted run, or a retried write, produces the same id again, and
Redis (which keeps ids strictly increasing) can tell what it already has.
"""

from __future__ import annotations

from typing import Protocol

from producer.live.redis_sink import Entry
from sim.events import DoorEvent, Session

SESSIONS, DOORS = 0, 1


class Taker(Protocol):
    """Where entries go: the :class:`~producer.live.outbox.Outbox`, or a collector of a replay."""

    def written_already(self, stream: int, ms: int, seq: int) -> bool: ...

    def put(self, entry: Entry) -> None: ...


class Emitter:
    """Puts every session on stream 0 and every door event on stream 1 of an outbox."""

    def __init__(self, outbox: Taker, rejected: bool = False) -> None:
        self.outbox = outbox
        #: Write customers who never got in (``WRITE_REJECTED``) on the door stream.
        self.rejected = rejected
        self._ms = [-1, -1]
        self._seq = [0, 0]
        self.visits = 0

    def _next_id(self, stream: int, t: int) -> tuple[int, int]:
        ms = t * 1000
        if ms == self._ms[stream]:
            self._seq[stream] += 1
        else:
            self._ms[stream], self._seq[stream] = ms, 0
        return ms, self._seq[stream]

    def on_session(self, session: Session) -> None:
        self.visits += 1
        ms, seq = self._next_id(SESSIONS, session.entry)
        if not self.outbox.written_already(SESSIONS, ms, seq):
            self.outbox.put(Entry(SESSIONS, session.entry, ms, seq, session.to_json(),
                                  session.customer_id.encode()))

    def on_entry(self, event: DoorEvent) -> None:
        self._door(event)

    def on_exit(self, event: DoorEvent) -> None:
        self._door(event)

    def on_turned_away(self, event: DoorEvent) -> None:
        if self.rejected:
            self._door(event)

    def on_gave_up(self, event: DoorEvent) -> None:
        if self.rejected:
            self._door(event)

    def _door(self, event: DoorEvent) -> None:
        ms, seq = self._next_id(DOORS, event.time)
        if not self.outbox.written_already(DOORS, ms, seq):
            self.outbox.put(Entry(DOORS, event.time, ms, seq, event.to_json(), event.customer_id.encode()))
