"""Live labels: each scenario that happens, on ``<REDIS_STREAM>:labels`` when it opens and when it closes.

A run whose stores have scenarios has a labels stream per set of streams
(:class:`~producer.live.layout.StreamLayout`: ``<REDIS_STREAM>:labels``, or
``<REDIS_STREAM>:{<store_id>}:labels`` per store). Each label of the run
(:func:`sim.labels.run_labels`, the offline ``foot_traffic_labels`` rows)
gives two entries, each ``data`` the label's JSON object with two more keys
first::

    {"state": "open", "at": <when>, "store_id": ..., "kind": ..., "start": ..., "end": ..., ...}

- ``"open"`` at the window's start (or the run's start, for a window the
  start cuts); ``"closed"`` at its end (or the run's end, for one the end
  cuts): ``at`` is that instant, and the entry's id ``<at ms>-<seq>``;
- the other keys are exactly the offline label's (its own window, even cut).

Without ``state`` and ``at`` an entry is a line of ``foot_traffic_labels.jsonl``
of the same seed and span. An unbounded run (no ``--days``/``--until``) has
no end to cut or to count expectations to: its labels are those of an
offline run from its start to any end after them.

Exactly once like every stream: the entries are a pure function of the run
(seed, stores, start, end), numbered ``seq`` within their millisecond in one
order (time, a close before an open, the labels' order), and made from the
run's start on every (re)start (a few per store and month), so the outbox
skips what Redis holds and checks its newest entry; the model's own restart
point ignores these streams (:meth:`~producer.live.layout.StreamLayout.model_ids`).
The backfill and the heal take their entries from :meth:`LabelSource.between`.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from itertools import groupby

import numpy as np
import simpy

from producer.live.catchup import Column
from producer.live.emitter import Taker
from producer.live.layout import StreamLayout
from producer.live.sink import Entry, StreamId
from sim.expect import MAX_DWELL_MINUTES
from sim.labels import run_labels
from sim.scenario_draw import REACH
from sim.store import Store
from sim.wire import iso

DAY = 86_400
#: An unbounded run makes its labels a day at a time.
CHUNK = DAY
#: How far before a span an unbounded run's labels are computed from: a window reaching into the span
#: starts at most REACH before it, and its expectation looks back a longest dwell and a day more.
BACK = REACH + 60 * MAX_DWELL_MINUTES + DAY


class LabelSource:
    """The labels streams' entries of a run, by time: :meth:`between`."""

    def __init__(self, seed: int, stores: Sequence[Store], layout: StreamLayout, sim_start: int,
                 end: int | None) -> None:
        self.seed, self.stores, self.layout, self.sim_start, self.end = seed, tuple(stores), layout, sim_start, end
        self._all: list[Entry] | None = None  # a bounded run's, made once

    def between(self, lo: int, hi: int) -> list[Entry]:
        """The entries dated in ``[lo, hi)`` (whole seconds), in time order (each stream's in id order)."""
        if self.end is not None:
            if self._all is None:
                self._all = self._made(self.sim_start, self.end)
            return [e for e in self._all if lo <= e.t < hi]
        return [e for e in self._made(max(self.sim_start, lo - BACK), hi + REACH) if lo <= e.t < hi]

    def lost(self, since: Sequence[StreamId], upto: Sequence[StreamId]) -> list[Entry]:
        """The entries of the labels streams with ids in ``(since[s], upto[s]]`` (Redis lost them)."""
        streams = [s for s in self.layout.labels_streams() if since[s] < upto[s]]
        if not streams:
            return []
        lo, hi = min(since[s][0] for s in streams) // 1000, max(upto[s][0] for s in streams) // 1000 + 1
        return [e for e in self.between(lo, hi) if e.stream in streams and since[e.stream] < e.id <= upto[e.stream]]

    def _made(self, start: int, end: int) -> list[Entry]:
        """The entries of the labels meeting ``[start, end)``, computed over that span (the run's, if bounded)."""
        labels = run_labels(self.seed, self.stores, start, end)
        run_end = self.end
        rows: list[tuple[int, int, int, str, bytes]] = []  # (at, 0 close / 1 open, label, store, the label's JSON)
        for k, (row, a, b) in enumerate(zip(labels.json_lines(), labels.start.tolist(), labels.end.tolist(),
                                            strict=True)):
            store = str(labels.store_id[k])
            rows.append((max(a, self.sim_start), 1, k, store, row))
            rows.append((b if run_end is None else min(b, run_end), 0, k, store, row))
        rows.sort()
        entries = [self._entry(at, opened, store, row) for at, opened, _, store, row in rows]
        out: list[Entry] = []
        for _, same in groupby(sorted(entries, key=lambda e: (e.stream, e.ms)), key=lambda e: (e.stream, e.ms)):
            out += [Entry(e.stream, e.t, e.ms, seq, e.data, e.key) for seq, e in enumerate(same)]
        return sorted(out, key=lambda e: (e.ms, e.stream, e.seq))

    def _entry(self, at: int, opened: int, store: str, row: bytes) -> Entry:
        data = b'{"state":"%s","at":"%s",' % (b"open" if opened else b"closed", iso(at).encode()) + row[1:]
        return Entry(self.layout.stream(store, self.layout.labels_kind), at, at * 1000, 0, data, store.encode())


class LabelPump:
    """Puts a run's label entries in the outbox on the clock, from the run's start (what Redis holds skipped)."""

    def __init__(self, env: simpy.Environment, taker: Taker, source: LabelSource) -> None:
        self.env, self.taker, self.source = env, taker, source
        self._closed = False
        env.process(self._run())

    def _run(self) -> Generator[simpy.Event, None, None]:
        env, end = self.env, self.source.end
        lo = self.source.sim_start
        while end is None or lo < end:
            hi = lo + CHUNK if end is None else min(lo + CHUNK, end)
            for entry in self.source.between(lo, hi):
                if entry.t > env.now:
                    yield env.timeout(entry.t - env.now)
                self._put(entry)
            lo = hi
            if lo > env.now:
                yield env.timeout(lo - env.now)

    def close(self) -> None:
        """The run reached its end: the closes dated at it (the windows the end cuts)."""
        end = self.source.end
        if end is not None and not self._closed:
            self._closed = True
            for entry in self.source.between(end, end + 1):
                self._put(entry)

    def _put(self, entry: Entry) -> None:
        if not self.taker.written_already(entry.stream, entry.ms, entry.seq):
            self.taker.put(entry)



def label_columns(entries: Sequence[Entry]) -> list[Column]:
    """Entries (each stream's in id order) as one backfill column per stream."""
    by_stream: dict[int, list[Entry]] = {}
    for e in entries:
        by_stream.setdefault(e.stream, []).append(e)
    out = []
    for stream, mine in sorted(by_stream.items()):
        out.append(Column(stream, np.array([e.ms for e in mine], dtype=np.int64),
                          np.array([e.seq for e in mine], dtype=np.int64), [e.data for e in mine],
                          [e.key for e in mine]))
    return out
