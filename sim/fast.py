"""The vectorized engine: whole windows of events from numpy arrays.

Where customers do not interact (no capacity limit), a customer's exit is
just entry + dwell, so a window's door events are a merge of its entries and
the exits that fall in it. This path does in a few array operations what the
SimPy model does one event at a time, and yields the very same events in
the very same order (``tests/test_engines_agree.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sim.batch import Batch, Labels, doors_from_arrivals, sessions_from_arrivals
from sim.sampling import ArrivalFeed, Arrivals, Days
from sim.store import Store

DAY = 86_400


def fast_batches(
    seed: int, stores: Sequence[Store], start: int, end: int, window: int = DAY, keep: Days | None = None,
) -> Iterator[Batch]:
    """Every event in ``[start, end)`` as one :class:`Batch` per window.

    ``keep``: days drawn already (used), and where each store's last day drawn is left (see :class:`ArrivalFeed`).
    """
    if any(s.interacts for s in stores):
        raise ValueError("the vectorized engine cannot model a capacity limit; use the SimPy engine")
    feed = ArrivalFeed(seed, stores, start, end, drawn=keep, keep=keep)
    labels = Labels(stores)
    inside = Arrivals.empty()  # customers whose exit is still ahead, in entry order
    t = start
    while t < end:
        until = min(t + window, end)
        new = feed.take(until)
        inside = Arrivals.concat([inside, new]) if len(inside) else new
        leaving = inside.exit < until
        exits = inside.take(leaving)
        inside = inside.take(~leaving)
        yield Batch(sessions_from_arrivals(new, labels), doors_from_arrivals(new, exits, labels))
        t = until
