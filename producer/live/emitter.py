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

from producer.live.layout import SESSIONS, StreamLayout
from producer.live.sink import Entry
from sim.events import DoorEvent, Session


class Taker(Protocol):
    """Where entries go: the :class:`~producer.live.outbox.Outbox`, or a collector of a replay."""

    def written_already(self, stream: int, ms: int, seq: int) -> bool: ...

    def put(self, entry: Entry) -> None: ...


class Emitter:
    """Puts every session and door event on its stream of the :class:`StreamLayout` (one pair by default).

    A store's sessions go to its set's first stream, its door events to the
    set's door stream (the true door events, with a sensor); a store the
    layout does not name writes to set 0 (one set for the run).
    """

    def __init__(self, outbox: Taker, rejected: bool = False, layout: StreamLayout | None = None,
                 visits: int = 0) -> None:
        self.outbox = outbox
        #: Write customers who never got in (``WRITE_REJECTED``) on the door stream.
        self.rejected = rejected
        self.layout = layout = layout or StreamLayout.one_pair()
        self._first = layout.first_streams()  # store id -> its first stream (empty: all at 0)
        self._doors = layout.door_kind
        self._ms = [-1] * len(layout.streams)
        self._seq = [0] * len(layout.streams)
        self.visits = visits  #: visits seen (from ``visits``: those the backfill wrote)

    def _next_id(self, stream: int, t: int) -> tuple[int, int]:
        ms = t * 1000
        if ms == self._ms[stream]:
            self._seq[stream] += 1
        else:
            self._ms[stream], self._seq[stream] = ms, 0
        return ms, self._seq[stream]

    def on_session(self, session: Session) -> None:
        self.visits += 1
        stream = self._first.get(session.store_id, 0) + SESSIONS
        ms, seq = self._next_id(stream, session.entry)
        if not self.outbox.written_already(stream, ms, seq):
            self.outbox.put(Entry(stream, session.entry, ms, seq, session.to_json(), session.customer_id.encode()))

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
        stream = self._first.get(event.store_id, 0) + self._doors
        ms, seq = self._next_id(stream, event.time)
        if not self.outbox.written_already(stream, ms, seq):
            self.outbox.put(Entry(stream, event.time, ms, seq, event.to_json(), event.customer_id.encode()))
