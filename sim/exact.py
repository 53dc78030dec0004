"""The exact event engine: stores with a capacity, without SimPy, same events.

Where customers interact (a store with a capacity, in queue or loss mode)
an exit can let a waiting customer in, so events cannot be computed a window
at a time as :mod:`sim.fast` does. This engine runs the SimPy model's events
in a tight loop over two heaps of plain tuples instead of SimPy processes:
the same arrivals (:class:`~sim.sampling.ArrivalFeed`, the same keyed random
streams), the same decisions, and the same order at equal times, so that it
writes byte for byte what ``--engine simpy`` writes
(``tests/test_exact_engine.py``).

The order at equal times is SimPy's: an event is ``(time, priority, id)``
with ids handed out in scheduling order. The loop schedules exactly the
events of the model that can change what happens next, in the same relative
order, and leaves out those that cannot (a customer process ending, a
request granted on the spot, a release while nobody waits). Events due
later go to a heap:

- a customer's exit (URGENT), scheduled when the customer enters;
- ``TMO``: a waiting customer's patience running out (NORMAL);
- the arrival process's timeout to the next arrival time (NORMAL, kept
  beside the heap); the customers arriving then start at once (their
  processes' URGENT start events run before anything else due then).

Events due now (NORMAL, no delay) come after everything already scheduled
for now, in the order they are made, so they need no id: a FIFO holds them.

- ``REL``: a release while customers wait, which gives the place to the
  head of the queue;
- ``REQ``: a waiting customer's request granted (``GO`` without a
  patience: the customer, who waits on the request alone, enters);
- ``COND``: the "granted or patience over" condition met: the customer
  enters if granted, otherwise gives up.

Every visit lasts at least a minute and every patience at least a second,
so nothing due now is ever put on the heap.

Batches are cut where the SimPy run cuts them (each window's end is SimPy's
URGENT stop event, scheduled when the window starts; the batch collector's
50,000 door events), so even the Parquet row groups come out the same.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from sim.batch import Batch, Coded, DoorColumns, Labels, SessionColumns
from sim.events import ENTRY, EXIT, GAVE_UP, TURNED_AWAY
from sim.fast import DAY, fast_batches
from sim.sampling import ArrivalFeed, Arrivals, Days
from sim.store import Store

#: Door event kinds, as coded in the loop (``4 * customer + kind``).
_EXIT, _ENTRY, _TURNED_AWAY, _GAVE_UP = 0, 1, 2, 3
_KINDS = np.array([EXIT, ENTRY, TURNED_AWAY, GAVE_UP], dtype=object)
#: Events of the loop: on the heap, exits (URGENT) and patience timeouts; in the FIFO, the rest.
_LEAVE, _TMO, _REL, _REQ, _COND, _GO = 0, 1, 2, 3, 4, 5
#: Store kinds: no capacity, loss mode, queue mode.
_PLAIN, _LOSS, _QUEUE = 0, 1, 2
#: Door events the SimPy run's batch collector gathers before it hands a batch over.
COLLECT = 50_000
_NEVER = 2**62
_FORGET_AT = 1 << 13
#: The heap's last entry, never taken: after everything, even the last arrival (and no customer to hold).
_TOP = (_NEVER + 1, 1, 0, _NEVER)
Entry = tuple[int, int, int, int]  #: an event due later: (time, priority, id, customer)


def exact_batches(
    seed: int, stores: Sequence[Store], start: int, end: int, window: int = DAY, rejected: bool = False,
    keep: Days | None = None,
) -> Iterator[Batch]:
    """Every event in ``[start, end)`` as batches, for any stores (with a capacity or not).

    :func:`sim.fast.fast_batches`'s signature: the vectorized engine where no
    store has a capacity, the event loop (:class:`EventLoop`) where one has.
    With ``rejected`` the door events include the customers who never got in.
    ``keep``: the vectorized engine leaves each store's last day drawn there (:class:`~sim.sampling.ArrivalFeed`).
    """
    if all(s.capacity is None for s in stores):
        yield from fast_batches(seed, stores, start, end, window, keep)
        return
    yield from EventLoop(seed, stores, start, end, rejected).batches(window)


class EventLoop:
    """The SimPy model's capped run (``StoreModel``), as a loop over two heaps.

    Customers are numbered in arrival order over the whole run; the lists and
    arrays hold those from ``base`` on (older ones are dropped as the run
    moves on: once ``forget_at`` customers are held, and then whenever their
    number has doubled, so memory holds a day or so of customers).
    """

    def __init__(self, seed: int, stores: Sequence[Store], start: int, end: int, rejected: bool = False,
                 forget_at: int = _FORGET_AT) -> None:
        self.stores, self.start, self.end, self.rejected = tuple(stores), start, end, rejected
        self.feed = ArrivalFeed(seed, self.stores, start, end)
        self.labels = Labels(self.stores)
        self.kind = [_PLAIN if s.capacity is None else _LOSS if s.capacity_mode == "loss" else _QUEUE
                     for s in self.stores]
        self.capacity = [s.capacity if s.capacity is not None else _NEVER for s in self.stores]
        self.patience = [s.patience for s in self.stores]
        #: What a place granted to a waiting customer makes: with patience, a REQ (the condition
        #: "granted or patience over" is met next); without, the customer enters (waiting on the request).
        self.granting = [_GO if s.patience is None else _REQ for s in self.stores]
        self.inside = [0 for _ in self.stores]  #: places taken (SimPy's ``users``; counted without a capacity too)
        self.queues: list[deque[int]] = [deque() for _ in self.stores]  #: waiting customers (cancelled ones linger)
        self.waiting = [0 for _ in self.stores]  #: customers really waiting
        self.granted: set[int] = set()  #: waiting customers given a place
        self.met: set[int] = set()  #: waiting customers whose condition (place or patience) is met
        self.cancelled: set[int] = set()  #: customers who gave up, still in a queue
        # Customers from ``base`` on: arrival, dwell (seconds) and store.
        self.base = 0
        self.arrival: list[int] = []
        self.dwell: list[int] = []
        self.store: list[int] = []
        self.drawn = Arrivals.empty()
        self.loaded_until, self.exhausted = start, False
        self.next_row = 0  #: the first customer not arrived yet
        self.hold = forget_at  #: customers held before those no event needs are dropped
        self.forget_at = forget_at  #: customers held when they are next dropped
        #: Events due later: (time, priority, id, customer); priority 0 (URGENT) is an exit, 1 a timeout.
        self.heap: list[Entry] = [_TOP]
        self.now = start
        self.fifo: deque[tuple[int, int]] = deque()  #: events due now: (kind, customer or store)
        self.ids = itertools.count(1)  #: event ids, in scheduling order (0: the arrival process's start)
        self.next_arrival, self.arrival_eid = self._first_arrival(), 0
        # What the batch collector holds: door events (4 x customer + kind, and time); the
        # sessions are the entries, in the same order.
        self.doors: list[int] = []
        self.door_times: list[int] = []
        self.turned_away = self.gave_up = 0
        self.ready: list[Batch] = []

    # -- arrivals ------------------------------------------------------------

    def _load(self) -> bool:
        """Draw the next day of arrivals; False once the run has none left."""
        if self.exhausted:
            return False
        until = min(self.loaded_until + DAY, self.end)
        new = self.feed.take(until)
        self.loaded_until = until
        self.exhausted = until >= self.end
        if len(new):
            if (new.exit <= new.entry).any():
                raise ValueError("the event engine needs every visit to last at least a second")
            self.drawn = Arrivals.concat([self.drawn, new]) if len(self.drawn) else new
            entry = new.entry.tolist()
            self.arrival += entry
            self.dwell += (new.exit - new.entry).tolist()
            self.store += new.store.tolist()
        return True

    def _first_arrival(self) -> int:
        while not self.arrival and self._load():
            pass
        return self.arrival[0] if self.arrival else _NEVER

    # -- places --------------------------------------------------------------

    def _grant(self, s: int) -> None:
        """SimPy's ``_trigger_put``: the head of the queue gets a place if one is free."""
        queue = self.queues[s]
        while queue and queue[0] in self.cancelled:
            self.cancelled.discard(queue.popleft())
        if queue and self.inside[s] < self.capacity[s]:
            head = queue.popleft()
            self.waiting[s] -= 1
            self.inside[s] += 1
            self.granted.add(head)
            self.fifo.append((self.granting[s], head))

    def _reject(self, c: int, now: int, kind: int) -> None:
        if kind == _TURNED_AWAY:
            self.turned_away += 1
        else:
            self.gave_up += 1
        if self.rejected:
            self.doors.append(4 * c + kind)
            self.door_times.append(now)
            if len(self.doors) >= COLLECT:
                self._flush()

    def _flush(self) -> None:
        """The batch collector's flush: what it holds becomes a batch."""
        if not self.doors and not (self.turned_away or self.gave_up):
            return
        code = np.asarray(self.doors, dtype=np.int64)
        i, kind = (code >> 2) - self.base, code & 3
        time = np.asarray(self.door_times, dtype=np.int64)
        entered = kind == _ENTRY
        self.ready.append(Batch(
            self._session_columns(i[entered], time[entered]), self._door_columns(i, kind, time),
            self.turned_away, self.gave_up,
        ))
        self.doors.clear()  # in place: the loop holds these lists
        self.door_times.clear()
        self.turned_away = self.gave_up = 0

    def _locate(self, store: np.ndarray, times: np.ndarray,
                weekday: np.ndarray, slot: np.ndarray, stale: np.ndarray) -> None:
        """Local weekday and slot, in place, of the ``stale`` rows (their time moved)."""
        if not stale.any():
            return
        for s in np.unique(store[stale]).tolist():
            rows = stale & (store == s)
            weekday[rows], slot[rows] = self.stores[s].locate(times[rows])

    def _session_columns(self, i: np.ndarray, entry: np.ndarray) -> SessionColumns:
        """Sessions of customers ``i`` (rows of ``drawn``) who entered at ``entry``."""
        d, labels = self.drawn, self.labels
        arrival = d.entry[i]
        store, weekday, slot = d.store[i], d.weekday[i], d.slot[i]
        wait = entry - arrival
        self._locate(store, entry, weekday, slot, wait > 0)
        return SessionColumns(
            customer_id=d.customer_id[i], store_id=labels.stores(store), entry=entry,
            exit=entry + (d.exit[i] - arrival), weekday=labels.weekdays(weekday),
            time_slot=labels.slots(store, slot), queue_seconds=wait,
        )

    def _door_columns(self, i: np.ndarray, kind: np.ndarray, time: np.ndarray) -> DoorColumns:
        """Door events of ``kind`` at ``time`` of customers ``i`` (rows of ``drawn``)."""
        d, labels = self.drawn, self.labels
        store = d.store[i]
        is_exit = kind == _EXIT
        weekday = np.where(is_exit, d.exit_weekday[i], d.weekday[i])
        slot = np.where(is_exit, d.exit_slot[i], d.slot[i])
        self._locate(store, time, weekday, slot, time != np.where(is_exit, d.exit[i], d.entry[i]))
        return DoorColumns(
            event_type=Coded.of(_KINDS, kind), time=time, weekday=labels.weekdays(weekday),
            time_slot=labels.slots(store, slot), customer_id=d.customer_id[i], store_id=labels.stores(store),
        )

    # -- the loop ------------------------------------------------------------

    def batches(self, window: int) -> Iterator[Batch]:
        """Run window by window, as the SimPy run does (``env.run(until=...)`` per window)."""
        t = self.start
        while t < self.end:
            t = min(t + window, self.end)
            # SimPy's stop event: URGENT at t, scheduled now. At the run's end it comes before
            # everything due then: exits at the end are not written, and nothing else happens then.
            stop = next(self.ids) if t < self.end else -1
            self._run(t, stop)
            self._flush()
            yield from self.ready
            self.ready.clear()
            if len(self.arrival) >= self.forget_at:  # not every (maybe one-minute) window: it scans the heap
                self._forget()
                self.forget_at = max(self.hold, 2 * len(self.arrival))

    def _run(self, until: int, stop: int) -> None:
        """Process every event before the stop event ``(until, URGENT, stop)``.

        Next is the earliest of the heap's top and the arrival process's
        timeout, both compared as heap entries ``(time, priority, id, _)``; but
        what is due now (the FIFO) comes before anything due later. The steps
        of exits, patience running out and what is due now are written out here
        with the state in locals: at a busy store's million events a year, a
        method call and its attribute look-ups per step were a third of the run
        (a call to drain the FIFO, a tenth of a queue's). The customers arriving
        at one time are one call (:meth:`_arrivals`).
        """
        heap, fifo, met, granted, cancelled = self.heap, self.fifo, self.met, self.granted, self.cancelled
        pop, push, popleft, later, new_id = heapq.heappop, heapq.heappush, fifo.popleft, fifo.append, self.ids.__next__
        arrive, flush, grant, reject = self._arrivals(until), self._flush, self._grant, self._reject
        store, dwell, base, waiting, inside = self.store, self.dwell, self.base, self.waiting, self.inside
        doors, door_times = self.doors, self.door_times
        now, next_row = self.now, self.next_row
        timeout = (self.next_arrival, _TMO, self.arrival_eid, 0)  # the arrival process's next timeout (NORMAL)
        last = (until, _LEAVE, stop, 0)  # the stop event (URGENT): ids are unique, so no entry equals it
        while True:
            top = heap[0]  # never empty: _TOP stays last
            first = top < timeout
            if fifo and (top[0] if first else timeout[0]) != now:
                if now >= until:
                    break  # what is due at the stop's time comes after the stop (NORMAL)
                # Every event due now, in order (what they make is due now too). Nothing else can
                # come between them: what is on the heap or arrives is due later (or came first).
                while fifo:
                    kind, x = popleft()
                    if kind == _REL:
                        grant(x)
                        continue
                    if kind == _REQ:
                        if x not in met:  # the first of "place granted" or "patience over"
                            met.add(x)
                            later((_COND, x))
                        continue
                    if kind == _COND and x not in granted:
                        cancelled.add(x)
                        waiting[store[x - base]] -= 1
                        reject(x, now, _GAVE_UP)
                        continue
                    # Entering (_GO: granted without patience, waiting on the request itself; or
                    # the condition met by the place).
                    doors.append(4 * x + _ENTRY)
                    door_times.append(now)
                    push(heap, (now + dwell[x - base], _LEAVE, new_id(), x))
                    if len(doors) >= COLLECT:
                        flush()
                continue
            if first:
                if top > last:
                    break
                t, priority, _, c = pop(heap)
                now = t
                if priority == _TMO:
                    if c not in met:  # patience over first: the condition is met
                        met.add(c)
                        later((_COND, c))
                    continue
                # A customer's exit (a store without a capacity counts its customers too, never
                # has any waiting). At the run's end nothing is due at the end (see batches()).
                s = store[c - base]
                inside[s] -= 1
                if waiting[s]:
                    later((_REL, s))
                doors.append(4 * c)
                door_times.append(t)
                if len(doors) >= COLLECT:
                    flush()
                continue
            if timeout[0] >= until:
                break
            now, next_row, timeout = arrive(timeout[0], next_row)
        self.now, self.next_row = now, next_row
        self.next_arrival, _, self.arrival_eid, _ = timeout

    def _arrivals(self, until: int) -> Callable[[int, int], tuple[int, int, Entry]]:
        """The arrival process's step, as a closure over the state (for one :meth:`_run`:
        ``base`` moves between runs). :meth:`_run` calls it about once a customer, and a
        method's attribute look-ups at each call made the run a third slower."""
        arrival, dwell, store, base, load = self.arrival, self.dwell, self.store, self.base, self._load
        inside, capacity, waiting, kinds, queues = self.inside, self.capacity, self.waiting, self.kind, self.queues
        doors, door_times, heap, new_id, patience = self.doors, self.door_times, self.heap, self.ids.__next__, self.patience
        push, flush, reject, grant, no_more = heapq.heappush, self._flush, self._reject, self._grant, (_NEVER, _TMO, 0, 0)
        fifo = self.fifo

        def arrive(now: int, next_row: int) -> tuple[int, int, Entry]:
            """The arrival process at ``now``: its next timeout, then every customer due now
            starting (their URGENT start events), in arrival order; and again at the next
            arrival time while nothing else comes first (nothing due now, nothing on the heap
            before it, the stop not reached).

            ``arrival[next_row - base]`` is due now. Returns the time of the last arrivals,
            the first customer not arrived yet and the process's next timeout as a heap entry.
            """
            while True:
                i = next_row - base + 1
                while True:
                    n = len(arrival)
                    while i < n and arrival[i] == now:
                        i += 1
                    if i < n or not load():
                        break
                timeout = (arrival[i], _TMO, new_id(), 0) if i < len(arrival) else no_more
                for c in range(next_row, base + i):
                    s = store[c - base]
                    if inside[s] < capacity[s] and not waiting[s]:  # (only a queue has customers waiting)
                        inside[s] += 1
                        doors.append(4 * c + _ENTRY)
                        door_times.append(now)
                        push(heap, (now + dwell[c - base], _LEAVE, new_id(), c))
                        if len(doors) >= COLLECT:
                            flush()
                    elif kinds[s] == _LOSS:
                        reject(c, now, _TURNED_AWAY)
                    else:  # queueing (a request not granted on the spot)
                        queues[s].append(c)
                        waiting[s] += 1
                        if inside[s] < capacity[s]:
                            grant(s)  # the request's own try: the head of the queue may get a place
                        wait = patience[s]
                        if wait is not None:
                            push(heap, (now + wait, _TMO, new_id(), c))
                next_row = base + i
                if fifo or heap[0] < timeout or timeout[0] >= until:
                    return now, next_row, timeout
                now = timeout[0]

        return arrive

    def _forget(self) -> None:
        """Drop the customers no event refers to any more."""
        low = min([self.next_row] + [c for _, _, _, c in self.heap]
                  + [x for k, x in self.fifo if k != _REL] + [q[0] for q in self.queues if q])
        drop = low - self.base
        if drop <= 0:
            return
        del self.arrival[:drop], self.dwell[:drop], self.store[:drop]
        self.drawn = self.drawn.take(slice(drop, None))
        self.base = low
        self.granted = {c for c in self.granted if c >= low}
        self.met = {c for c in self.met if c >= low}
        self.cancelled = {c for c in self.cancelled if c >= low}
