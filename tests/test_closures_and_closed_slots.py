"""Closure dates and closed slots: no arrivals, on either engine; other days untouched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sim.profile import DEFAULT_PROFILE
from sim.run import Simulation
from sim.sampling import draw_day
from sim.store import Store
from tests.profiles import make_profile

WEEK = dt.date(2025, 12, 22)  # a Monday; the 25th is a Thursday


@pytest.mark.parametrize("engine", ["fast", "simpy"])
@pytest.mark.parametrize("daily", [None, 700])
def test_a_closure_date_has_no_arrivals(tmp_path: Path, engine: str, daily: int | None) -> None:
    profile = make_profile(tmp_path, top='closures = ["2025-12-25", 2025-12-26]')
    store = Store(profile=profile, daily_customers=daily)
    sessions, doors = Simulation.of(start=WEEK, days=7, seed=11, stores=store).frames(engine)  # type: ignore[arg-type]
    per_day = sessions.groupby(sessions.entry_time.dt.date).size()
    assert dt.date(2025, 12, 25) not in per_day.index
    assert dt.date(2025, 12, 26) not in per_day.index
    entries = doors[doors.event_type == "entry"]
    assert not entries.time.dt.date.isin([dt.date(2025, 12, 25), dt.date(2025, 12, 26)]).any()
    # The other five days are open, with their usual traffic.
    assert len(per_day) == 5 and per_day.min() > 500
    if daily is not None:
        assert (per_day == daily).all()


def test_ordinary_days_are_drawn_exactly_as_without_a_calendar(tmp_path: Path) -> None:
    """Calendar entries leave every other day byte-identical (no extra draws)."""
    with_calendar = make_profile(
        tmp_path, top='closures = ["2025-12-25"]',
        tables='[[special]]\ndate = "2025-12-24"\nmultiplier = 2.0\n',
    )
    for daily in (None, 900):
        plain = Store(profile=DEFAULT_PROFILE, daily_customers=daily)
        cal = Store(profile=with_calendar, daily_customers=daily)
        for offset in (0, 1, 5, 6):
            day = WEEK + dt.timedelta(days=offset)
            a, b = draw_day(3, plain, 0, day), draw_day(3, cal, 0, day)
            for name in ("entry", "slot", "minutes", "exit", "customer_id"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), (offset, name)
        # ...and the calendar days do differ.
        assert len(draw_day(3, cal, 0, dt.date(2025, 12, 25))) == 0
        assert len(draw_day(3, cal, 0, dt.date(2025, 12, 24))) > 1.5 * len(draw_day(3, plain, 0, dt.date(2025, 12, 24)))


def test_closed_slots_and_a_closed_weekday_have_no_arrivals(tmp_path: Path) -> None:
    # Monday's night slot closed by weight 0, Saturday's by the [closed] table, Sunday closed all day.
    profile = make_profile(
        tmp_path,
        tables='[closed]\nSaturday = ["00:00", "20:00"]\n',
        weights={"Monday": [0, 17, 20, 17, 13, 10], "Sunday": [0, 0, 0, 0, 0, 0]},
    )
    assert profile.weights[5] == (0, 24, 27, 22, 20, 0)
    for daily in (None, 1000):
        store = Store(profile=profile, daily_customers=daily)
        sessions, _ = Simulation.of(start=WEEK, days=14, seed=5, stores=store).frames()
        weekday, slot = sessions.weekday, sessions.time_slot
        assert not ((weekday == "Monday") & (slot == "00:00–06:59")).any()
        assert not ((weekday == "Saturday") & slot.isin(["00:00–06:59", "20:00–23:59"])).any()
        assert not (weekday == "Sunday").any()
        # The open slots of those days still get customers.
        assert ((weekday == "Monday") & (slot == "07:00–09:59")).sum() > 100
        assert ((weekday == "Saturday") & (slot == "10:00–13:59")).sum() > 100
