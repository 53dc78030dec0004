"""A restart's backfill and the model after it draw each store's day once, not twice.

The backfill's vectorized engine draws every store's days up to now; the
model then starts in the last of them (:func:`~producer.live.resume.model_start`)
and drew it again: at 2,000 stores a second more before the clock. The
engine now leaves each store's last day drawn (``keep``, the earlier one
removed), and the model's feed takes it as drawn; a draw is a pure function
of seed, store and day, so the events are the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim import sampling
from sim.fast import fast_batches
from sim.run import to_epoch
from sim.sampling import ArrivalFeed, Arrivals
from sim.store import Store

STORES = tuple(Store(store_id=f"s{i}", baseline=4000) for i in range(3))


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    draws: list[int] = []
    real = sampling.draw_day

    def counted(seed: int, store: Store, index: int, day: Any) -> Arrivals:
        draws.append(index)
        return real(seed, store, index, day)

    monkeypatch.setattr(sampling, "draw_day", counted)
    return draws


def test_the_backfills_last_days_are_the_models_first(monkeypatch: pytest.MonkeyPatch) -> None:
    begin, now = to_epoch("2025-11-03T23:00:00"), to_epoch("2025-11-04T00:20:00")  # across a midnight
    plain = ArrivalFeed(1, STORES, now - 600, now + 7200).take(now + 7200)
    draws = _counted(monkeypatch)
    kept: dict[Any, Arrivals] = {}
    assert sum(len(b.sessions) for b in fast_batches(1, STORES, begin, now, 600, kept)) > 0
    assert len(draws) == 6, "two days of three stores"
    assert sorted(kept) == [(i, STORES[i].local_date(now)) for i in range(3)], "each store's last day only"
    after = ArrivalFeed(1, STORES, now - 600, now + 7200, drawn=kept).take(now + 7200)
    assert len(draws) == 6, "the model draws none of them again"
    assert (after.entry == plain.entry).all() and (after.customer_id == plain.customer_id).all()
    assert (after.exit == plain.exit).all() and (after.store == plain.store).all()
