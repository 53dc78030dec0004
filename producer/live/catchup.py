"""What the backfill writes, made: the engine's batches cut at whole seconds, and where the model may start after it.

The backfill (:mod:`producer.live.backfill`) writes what is due already
from the events of an engine that equals the SimPy model event for event:
the vectorized engine where no store has a capacity, the exact event
engine (:func:`sim.exact.exact_batches`) where one has (queue with
patience, loss mode, groups, ``WRITE_REJECTED``).

What it hands the writer is a :class:`Column` per stream (ids, payloads,
keys, column-wise; :func:`sequence` numbers a stream's ids within their
second as the emitter does). Two things differ from the vectorized
engine's windows:

- the exact engine cuts batches where the SimPy run does (a window's end
  falls between the exits and the arrivals of one second; the collector
  hands over every 50,000 door events), so one second's events may lie in
  two batches. Entry ids number a stream's events within their second, so
  :func:`whole_seconds` holds each batch's last second back for the next;
- customers interact, so a restarted model cannot start a longest visit
  before the streams' tops (:func:`~producer.live.resume.model_start`): it
  needs an instant at which every store with a capacity is empty. At such
  an instant nobody who arrived earlier has anything left to do (nobody
  inside, nobody waiting: a free place is given to the head of the queue in
  the same instant), so a model started there, with every store empty, makes
  exactly the full run's events from then on. :class:`QuietTimes` notes
  those instants while the backfill runs the engine over the run, so the
  model after it replays hours, not the run's whole history. A store open
  around the clock and never empty has no such instant: the model then
  replays from the run's start (writing nothing it finds in the streams),
  unless the backfill wrote the run to its end (``SPEED=max``): then the
  model has nothing left to make.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from producer.live.sink import Entry, StreamId
from sim.batch import Batch, DoorColumns, texts
from sim.events import ENTRY, EXIT
from sim.exact import exact_batches
from sim.sampling import Days
from sim.store import Store

#: Simulated seconds per batch of the engine.
WINDOW = 3600


@dataclass
class Column:
    """Entries of one stream, column-wise: ids (``ms``, ``seq``), payloads and keys."""

    stream: int
    ms: np.ndarray
    seq: np.ndarray
    data: list[bytes]
    key: list[bytes]

    def __len__(self) -> int:
        return len(self.data)

    def part(self, lo: int, hi: int) -> Column:
        return Column(self.stream, self.ms[lo:hi], self.seq[lo:hi], self.data[lo:hi], self.key[lo:hi])

    def entry(self, i: int) -> Entry:
        ms = int(self.ms[i])
        return Entry(self.stream, ms // 1000, ms, int(self.seq[i]), self.data[i], self.key[i])

    def entries(self) -> list[Entry]:
        return [self.entry(i) for i in range(len(self))]


def sequence(t: np.ndarray) -> np.ndarray:
    """Each event's number within its second (0, 1, 2 ... for events at the same time), as the emitter counts."""
    n = len(t)
    idx = np.arange(n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = t[1:] != t[:-1]
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def store_index(store_id: np.ndarray, stores: Sequence[Store]) -> np.ndarray:
    """Each row's store as its index in ``stores`` (the engine's codes when the column still has them)."""
    codes = getattr(store_id, "codes", None)
    if codes is not None:
        return np.asarray(codes, dtype=np.int64)
    index = {st.store_id: k for k, st in enumerate(stores)}
    return np.array([index[v] for v in texts(store_id)], dtype=np.int64)


class QuietTimes:
    """The instants at which every store with a capacity was empty, as seen in the engine's door events.

    Instant ``q`` (epoch s) is *quiet* when every customer of a store with a
    capacity who arrived before ``q`` was gone before ``q``. After the
    events of a second ``t`` that leave every such store empty, each
    instant of ``(t, t']`` is quiet, where ``t'`` is the next second with an
    event of one of them (an arrival at an empty store enters at once, so no
    one arrives unseen in between). With no store with a capacity there is no
    such constraint: :meth:`latest` gives the bound itself.
    """

    def __init__(self, stores: Sequence[Store], start: int) -> None:
        """``start``: the run's start, where the engine the backfill runs begins (every store empty)."""
        self.stores = tuple(stores)
        self._capped = np.array([s.capacity is not None for s in self.stores], dtype=bool)
        self._inside = 0  # customers inside the stores with a capacity, after the events seen
        self._open: int | None = start - 1  # empty after this second (no event since): a span still open
        self._spans: list[tuple[int, int]] = []  # (t, t'] quiet, in time order
        self._seen = start  # every event before this second has been seen
        self._end: int | None = None  # the run's end, once every event before it is in the streams

    def see(self, doors: DoorColumns) -> None:
        """The door events of the next whole seconds (in time order, after those seen before)."""
        if not len(doors):
            return
        capped = self._capped[store_index(doors.store_id, self.stores)]
        kind = doors.event_type
        step = np.where(kind == ENTRY, 1, np.where(kind == EXIT, -1, 0)) * capped
        rows = np.flatnonzero(step != 0)
        self._seen = int(doors.time[-1]) + 1
        if not len(rows):
            return
        time = doors.time[rows].astype(np.int64)
        inside = self._inside + np.cumsum(step[rows])
        if self._open is not None:
            self._spans.append((self._open, int(time[0])))
        last = np.r_[time[1:] != time[:-1], True]  # the instant's last event
        empty = np.flatnonzero(last & (inside == 0))
        nxt = np.r_[time[1:], 0]
        # Each empty instant but the last is followed by one with an event (the next row's).
        self._spans += [(int(time[i]), int(nxt[i])) for i in empty.tolist() if i + 1 < len(rows)]
        self._inside = int(inside[-1])
        self._open = int(time[-1]) if self._inside == 0 else None

    def close(self, until: int) -> None:
        """Every event before ``until`` has been seen: a span still open lasts at least until then."""
        self._seen = max(self._seen, until)

    def written_to_end(self, end: int) -> None:
        """Every event of the run (it ends at ``end``) is in the streams: the model has nothing left to make."""
        self._end = end

    def latest(self, at_most: int) -> int | None:
        """The latest quiet instant at or before ``at_most`` (``None``: none seen), or the run's end once written."""
        if self._end is not None:
            return max(self._end, at_most)
        if not self._capped.any():
            return at_most
        spans = self._spans + ([(self._open, self._seen)] if self._open is not None else [])
        for lo, hi in reversed(spans):
            if lo < at_most:
                return min(hi, at_most)
        return None


def whole_seconds(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The same events, each second's in one batch: each batch's last second (per stream) waits for the next."""
    held: Batch | None = None
    for batch in batches:
        if held is not None:
            batch = Batch(type(batch.sessions).concat([held.sessions, batch.sessions]),
                          type(batch.doors).concat([held.doors, batch.doors]), batch.turned_away, batch.gave_up)
        s, d = batch.sessions, batch.doors
        cut_s = int(np.searchsorted(s.entry, s.entry[-1])) if len(s) else 0
        cut_d = int(np.searchsorted(d.time, d.time[-1])) if len(d) else 0
        held = Batch(s.take(slice(cut_s, None)), d.take(slice(cut_d, None)))
        yield Batch(s.take(slice(0, cut_s)), d.take(slice(0, cut_d)), batch.turned_away, batch.gave_up)
    if held is not None:
        yield held


def newest(batch: Batch) -> int:
    """The latest event time in a batch (epoch s; -1 when empty)."""
    s, d = batch.sessions, batch.doors
    return max(int(s.entry[-1]) if len(s) else -1, int(d.time[-1]) if len(d) else -1)


def due_batches(
    seed: int, stores: Sequence[Store], begin: int, until: int, rejected: bool, last: Sequence[StreamId],
    quiet: QuietTimes | None = None, keep: Days | None = None,
) -> Iterator[Batch]:
    """Every event in ``[begin, until)`` of the engine equal to the model, in batches of whole seconds.

    Batches wholly below every stream's top are left out (the exact engine
    runs from the run's start: its history is only generated, not turned
    into entries). ``quiet`` notes the quiet instants as the events go by.
    ``keep``: where the vectorized engine leaves each store's last day drawn (the model's first, after a backfill).
    """
    lowest = min(ms for ms, _ in last) if last else 0
    made = exact_batches(seed, stores, begin, until, WINDOW, rejected, keep)
    batches = whole_seconds(made) if any(s.capacity is not None for s in stores) else made
    for batch in batches:
        if quiet is not None:
            quiet.see(batch.doors)
        if newest(batch) * 1000 < lowest:
            continue
        yield batch
    if quiet is not None:
        quiet.close(until)
