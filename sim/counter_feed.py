"""A people counter's cumulative registers and occupancy estimate, from its interval counts.

Pure numpy and the standard library, no I/O. Vendors deliver a counter's
traffic in two shapes: per-interval counts (:class:`~sim.sensor_stream.CountColumns`,
one row per counter per interval) and **cumulative registers**: running
totals of entries and exits that never reset except at a scheduled reset
(here daily, at a local time of the store), so a consumer must difference
consecutive readings and notice the reset. :class:`Registers` turns the
counts into the registers, one row per counter per interval (the totals at
the interval's end), with an **occupancy estimate**: entries minus exits
since the reset, clipped at 0 (a real counter's estimate drifts with its
misses and double counts, and the clip hides more exits than entries).

The reset takes effect at the first interval boundary at or after the reset
time (its own boundary when the interval divides the store's UTC offset,
e.g. 15 minutes); ``reset_at`` names it, so a consumer differences two rows
of a counter only when their ``reset_at`` agree (otherwise the later row's
totals are the counts since the reset). The run's start is a reset too: the
registers start at 0. Differencing the registers therefore gives exactly
the interval counts (``tests/test_counter_feed.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import wire
from sim.batch import ColumnTable
from sim.sensor_stream import CountColumns
from sim.store import Store

DAY = 86_400


@dataclass
class RegisterColumns(ColumnTable):
    """Cumulative registers: one row per interval and store, the totals at the interval's end."""

    store_id: np.ndarray
    interval_start: np.ndarray  #: epoch seconds (int64)
    interval_end: np.ndarray  #: epoch seconds (int64), exclusive: the totals are at this instant
    reset_at: np.ndarray  #: epoch seconds (int64): the last reset (the run's start or a scheduled reset)
    in_total: np.ndarray  #: entries counted since ``reset_at`` (int64)
    out_total: np.ndarray  #: exits counted since ``reset_at`` (int64)
    occupancy: np.ndarray  #: ``max(0, in_total - out_total)`` (int64)

    def __len__(self) -> int:
        return int(self.interval_start.shape[0])

    @staticmethod
    def empty() -> RegisterColumns:
        obj, i64 = np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        return RegisterColumns(obj, i64, i64, i64, i64, i64, i64)

    def json_lines(self) -> list[bytes]:
        """Each row's JSON (:mod:`sim.wire`)."""
        return wire.register_lines(self)


@functools.lru_cache(maxsize=1 << 12)
def _boundary(zone_key: str, ordinal: int, minute: int, interval: int) -> int:
    """The reset of one local date: the first interval boundary at or after ``minute`` past local midnight."""
    from sim.store import zone_named

    day = dt.date.fromordinal(ordinal)
    at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone_named(zone_key))
    return -(-int(at.timestamp()) // interval) * interval


def last_reset(store: Store, minute: int, interval: int, t: int) -> int:
    """The latest scheduled reset boundary at or before ``t`` (epoch s) of ``store``'s counter.

    ``minute``: the reset's local time, minutes past midnight. A local time a
    daylight-saving change skips is read with the offset before the change
    (``zoneinfo``'s ``fold=0``), one that it repeats at its first occurrence.
    """
    today = store.local_date(t).toordinal()
    for ordinal in (today, today - 1, today - 2):
        b = _boundary(store.timezone, ordinal, minute, interval)
        if b <= t:
            return b
    raise AssertionError("a reset boundary is at most two local days before")  # pragma: no cover


def next_reset(store: Store, minute: int, interval: int, t: int) -> int:
    """The earliest scheduled reset boundary after ``t`` (epoch s): until then :func:`last_reset` stays put.

    The boundaries are in the order of their local dates; an earlier date's may still lie after ``t``
    (a reset is moved up to an interval later, to a boundary), so the search starts days before.
    """
    today = store.local_date(t).toordinal()
    for ordinal in range(today - 3, today + 3):
        b = _boundary(store.timezone, ordinal, minute, interval)
        if b > t:
            return b
    raise AssertionError("a reset boundary is at most two local days after")  # pragma: no cover


class Registers:
    """Running totals per store, fed the interval counts in order (see the module's doc).

    ``start``: the run's start (the registers' first reset); ``minute``: the
    daily reset's local time in minutes past midnight.
    """

    def __init__(self, stores: Sequence[Store], start: int, interval: int, minute: int) -> None:
        self.stores, self.interval, self.minute = tuple(stores), interval, minute
        self._index = {s.store_id: i for i, s in enumerate(self.stores)}
        n = len(self.stores)
        # Per store, as Python lists (a row's work is a few list operations): the last reset, the totals
        # since it, and the next reset boundary after the last interval seen (before it, no reset to look up).
        self._since, self._in, self._out = [start] * n, [0] * n, [0] * n
        self._next: list[float] = [-math.inf] * n

    def feed_start(self, t: int) -> int:
        """Where a layer must start counting for the registers at ``t`` to be whole: the UTC midnight
        before the latest reset of any store at or before ``t`` (a partitioned task's layer starts
        there, or at the run's start, whichever is later)."""
        resets = [last_reset(s, self.minute, self.interval, t) for s in self.stores]
        return min(resets) // DAY * DAY

    def add(self, counts: CountColumns) -> RegisterColumns:
        """The registers at the end of each interval of ``counts`` (in interval order, as the layer gives)."""
        since, ins, outs = [], [], []
        index, stores, minute, interval = self._index, self.stores, self.minute, self.interval
        last, tin, tout, nxt = self._since, self._in, self._out, self._next
        for store_id, begin, entries, exits in zip(counts.store_id.tolist(), counts.interval_start.tolist(),
                                                   counts.entries.tolist(), counts.exits.tolist(), strict=True):
            i = index[store_id]
            if begin >= nxt[i]:  # a reset boundary may lie between this store's last interval and this one
                reset = last_reset(stores[i], minute, interval, begin)
                if reset > last[i]:
                    last[i], tin[i], tout[i] = reset, 0, 0
                nxt[i] = next_reset(stores[i], minute, interval, begin)
            tin[i] += entries
            tout[i] += exits
            since.append(last[i])
            ins.append(tin[i])
            outs.append(tout[i])
        in_total, out_total = np.array(ins, dtype=np.int64), np.array(outs, dtype=np.int64)
        return RegisterColumns(
            store_id=counts.store_id, interval_start=counts.interval_start, interval_end=counts.interval_end,
            reset_at=np.array(since, dtype=np.int64), in_total=in_total, out_total=out_total,
            occupancy=np.maximum(in_total - out_total, 0),
        )
