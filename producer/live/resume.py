"""Where a restarted run's model may start: late enough to skip most of the past, early enough to be exact.

A restarted producer must regenerate the events at and after the point
where the streams end, with the same ids. Replaying from the run's start
does that, but costs the whole history (about 10 us per past event). The
model can instead start at ``resume - longest dwell - margin``:

- arrivals are drawn per store and local day from the run's seed, whatever
  the model's start, and filtered to ``entry >= start``; so every customer
  who enters after the model's start is the same customer;
- an event at time ``T >= resume`` is an entry at ``T`` or an exit of a
  customer who entered after ``T - longest dwell``, i.e. after the model's
  start; so every such instant holds exactly the events of the full run, in
  the same order, and the per-millisecond sequence numbers of the entry ids
  come out the same;
- events before ``resume`` may be incomplete, but they are all older than
  what both streams already hold, and are skipped.

This needs a longest visit, the engine's own (:attr:`sim.store.Store.lookback`:
the dwell bound over every model a store uses, plus a leaving group's
spread); a store whose dwell has no bound replays from the start. Where
stores have a capacity (customers then interact) the model may start at
an instant when every such store was empty, as the backfill saw them
(:class:`~producer.live.catchup.QuietTimes`), a longest visit of the other
stores (and the margin) before the tops; without one seen, from the start.
"""

from __future__ import annotations

from collections.abc import Sequence

import simpy

from producer.live.catchup import QuietTimes
from producer.live.emitter import Emitter
from producer.live.layout import StreamLayout
from producer.live.sink import Entry, StreamId
from sim.model import StoreModel
from sim.store import Store, lookback

#: Extra simulated seconds kept before the bound, beyond the longest dwell.
MARGIN = 3600


def longest_dwell(stores: Sequence[Store]) -> int | None:
    """The longest possible visit in seconds over ``stores``, or ``None`` if unbounded or customers interact."""
    return lookback(stores)


def model_start(
    sim_start: int, last_ids: Sequence[tuple[int, int]], stores: Sequence[Store], quiet: QuietTimes | None = None,
) -> int:
    """The simulated time the model may start at, given each stream's last entry id.

    ``quiet``: the instants the backfill saw every store with a capacity empty.
    """
    resume = min(ms // 1000 for ms, _ in last_ids) if last_ids else 0
    if resume <= sim_start:
        return sim_start
    bound = longest_dwell(stores)
    if bound is not None:
        return max(sim_start, resume - bound - MARGIN)
    at = _quiet_start(resume, stores, quiet)
    return sim_start if at is None else max(sim_start, at)


def _quiet_start(resume: int, stores: Sequence[Store], quiet: QuietTimes | None) -> int | None:
    """The latest quiet instant a longest visit of the stores without a capacity (and the margin) before ``resume``."""
    plain = [s for s in stores if not s.interacts]
    others = lookback(plain)
    if quiet is None or others is None:
        return None
    return quiet.latest(resume - others - MARGIN if plain else resume)


class Collector:
    """What the :class:`~producer.live.emitter.Emitter` writes to, keeping entries in ``(since, upto]``."""

    def __init__(self, since: Sequence[StreamId], upto: Sequence[StreamId]) -> None:
        self.since, self.upto = list(since), list(upto)
        self.entries: list[Entry] = []

    def written_already(self, stream: int, ms: int, seq: int) -> bool:
        return (ms, seq) <= self.since[stream] or (ms, seq) > self.upto[stream]

    def put(self, entry: Entry) -> None:
        self.entries.append(entry)


def replay_entries(
    seed: int, stores: Sequence[Store], sim_start: int, since: Sequence[StreamId], upto: Sequence[StreamId],
    rejected: bool, layout: StreamLayout | None = None,
) -> list[Entry]:
    """The run's stream entries with ids in ``(since[s], upto[s]]`` for each stream ``s``, in order.

    The same model as the live run, in a plain SimPy environment, from
    where a restart would start (:func:`model_start`): the events are a pure
    function of the seed and settings, so what Redis lost can be made again
    exactly. ``layout`` maps events to streams (the run's own: one pair of
    streams, the default, or a pair per store).
    """
    begin = model_start(sim_start, list(since), stores)
    end = max(ms for ms, _ in upto) // 1000 + 1
    env = simpy.Environment(initial_time=begin)
    collector = Collector(since, upto)
    emitter = Emitter(collector, rejected, layout)
    StoreModel(env, seed, stores, begin, end, emitter)
    env.run()
    return collector.entries
