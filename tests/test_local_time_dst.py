"""Local time: slots and weekdays are the store's, daylight-saving days included.

On a spring-forward day a store's local day has 23 hours and on a fall-back
day 25; a slot's expected count scales with its real length, so the arrival
*rate* inside a slot is what the profile says; a wall-clock slot that falls
in the skipped hour is empty and one in the repeated hour happens twice.
Every check here is against an independent reference: the local wall time
of each instant as :mod:`zoneinfo` gives it, minute by minute.

Statistical checks use fixed seeds; a chi-square goodness-of-fit test at
level 0.001 and totals within 4 standard deviations of their Poisson mean
(two-sided level about 6e-5).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest
from scipy import stats

from sim import Profile, Simulation, Store
from sim.batch import concat_columns
from sim.profile import WEEKDAYS
from sim.sampling import expected_counts

LEVEL = 0.001

#: (zone, date, hours in that local day)
DST_DAYS = [
    ("Europe/Rome", "2025-03-30", 23),
    ("Europe/Rome", "2025-10-26", 25),
    ("America/New_York", "2025-03-09", 23),
    ("America/New_York", "2025-11-02", 25),
]

HOURLY = Profile(starts=tuple(range(0, 1440, 60)), weights=((1.0,) * 24,) * 7, name="flat-hourly")

#: Half-hour slots, some closed right where the clocks change (01:00-01:29,
#: 02:00-02:29, 03:30-03:59) and the night (20:00 on).
CLOSED = {2, 4, 7, *range(40, 48)}
HALF_HOURS = Profile(
    starts=tuple(range(0, 1440, 30)),
    weights=(tuple(0.0 if i in CLOSED else 1.0 for i in range(48)),) * 7,
    name="half-hours",
)


def local_minutes(times: np.ndarray, zone: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Reference: local weekday and minute of the day of each epoch second."""
    local = [dt.datetime.fromtimestamp(int(t), zone) for t in times]
    return (
        np.array([d.weekday() for d in local]),
        np.array([d.hour * 60 + d.minute for d in local]),
    )


def labels_at(profile: Profile, minutes: np.ndarray) -> list[str]:
    slots = np.searchsorted(np.asarray(profile.starts), minutes, side="right") - 1
    labels = profile.labels
    return [labels[s] for s in slots]


def day_bounds(zone: ZoneInfo, day: dt.date) -> tuple[int, int]:
    """Reference: first and last-plus-one epoch second of a local date, by search."""
    guess = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    minutes = np.arange(guess - 15 * 3600, guess + 40 * 3600, 60)
    dates = np.array([dt.datetime.fromtimestamp(int(t), zone).date() == day for t in minutes])
    inside = minutes[dates]
    return int(inside[0]), int(inside[-1]) + 60


@pytest.mark.parametrize(("tz", "date", "hours"), DST_DAYS)
def test_a_dst_day_has_the_right_number_of_hours(tz: str, date: str, hours: int) -> None:
    store = Store(timezone=tz)
    day = dt.date.fromisoformat(date)
    plan = store.day_plan(day)
    assert plan.end - plan.begin == hours * 3600
    assert (plan.begin, plan.end) == day_bounds(store.zone, day)
    assert float(np.sum(plan.length_ratio * np.diff([*store.profile.starts, 1440]) * 60)) == hours * 3600


@pytest.mark.parametrize(("tz", "date", "hours"), DST_DAYS)
def test_arrivals_spread_over_the_real_hours(tz: str, date: str, hours: int) -> None:
    """A flat hourly profile: each real hour of the day gets the same rate."""
    per_hour = 1000
    store = Store(timezone=tz, profile=HOURLY, baseline=24 * per_hour, variation=0)
    plan = store.day_plan(dt.date.fromisoformat(date))
    assert expected_counts(store, plan).sum() == pytest.approx(hours * per_hour)
    run = Simulation(seed=2025, stores=(store,), start=plan.begin, end=plan.end)
    entries = np.concatenate([b.sessions.entry for b in run.batches("fast")])
    assert entries.min() >= plan.begin and entries.max() < plan.end
    counts = np.bincount((entries - plan.begin) // 3600, minlength=hours)
    assert len(counts) == hours
    assert abs(counts.sum() - hours * per_hour) < 4 * np.sqrt(hours * per_hour)
    assert stats.chisquare(counts).pvalue > LEVEL


@pytest.mark.parametrize(("tz", "date", "hours"), DST_DAYS)
def test_half_hour_slots_at_the_change(tz: str, date: str, hours: int) -> None:
    """Slots that start inside the skipped or repeated hour: closed ones stay
    empty, open ones get arrivals in proportion to their real length, and
    every arrival is labelled with its own local slot."""
    per_slot = 1000  # a day's customers go to its open slots: 1000 per open nominal slot
    store = Store(timezone=tz, profile=HALF_HOURS, baseline=(48 - len(CLOSED)) * per_slot, variation=0)
    zone, day = store.zone, dt.date.fromisoformat(date)
    plan = store.day_plan(day)
    # Reference real length of every wall-clock slot, minute by minute.
    minutes = np.arange(plan.begin, plan.end, 60)
    _, wall = local_minutes(minutes, zone)
    real = np.bincount(wall // 30, minlength=48) * 60
    assert np.array_equal(plan.length_ratio * 1800, real)

    run = Simulation(seed=7, stores=(store,), start=plan.begin, end=plan.end)
    sessions = concat_columns([b.sessions for b in run.batches("fast")])
    weekday, minute = local_minutes(sessions.entry, zone)
    slot = minute // 30
    assert not set(slot.tolist()) & CLOSED
    assert sessions.weekday.tolist() == [WEEKDAYS[d] for d in weekday]
    labels = HALF_HOURS.labels
    assert sessions.time_slot.tolist() == [labels[s] for s in slot]
    open_slots = [i for i in range(48) if i not in CLOSED and real[i] > 0]
    counts = np.bincount(slot, minlength=48)[open_slots]
    expected = per_slot * real[open_slots] / 1800
    assert abs(counts.sum() - expected.sum()) < 4 * np.sqrt(expected.sum())
    assert stats.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue > LEVEL


@pytest.mark.parametrize("engine", ["fast", "exact", "simpy"])
def test_labels_are_local_and_times_are_utc(engine: str) -> None:
    """A week around a change, on every engine (those that model a capacity with a queue,
    so late entries are relabelled): every label is the local one of the
    event's own time, every time is written in UTC with +00:00."""
    capacity = None if engine == "fast" else 40
    store = Store(timezone="America/New_York", baseline=3000, capacity=capacity)
    run = Simulation.of(start="2025-10-30", days=6, seed=11, stores=store)
    batches = list(run.batches(engine))  # type: ignore[arg-type]
    sessions = concat_columns([b.sessions for b in batches])
    doors = concat_columns([b.doors for b in batches])
    if engine != "fast":
        assert (sessions.queue_seconds > 0).sum() > 100  # the queue did form
    zone = store.zone
    for times, days, labels in (
        (sessions.entry, sessions.weekday, sessions.time_slot),
        (doors.time, doors.weekday, doors.time_slot),
    ):
        weekday, minute = local_minutes(times, zone)
        assert days.tolist() == [WEEKDAYS[d] for d in weekday]
        assert labels.tolist() == labels_at(store.profile, minute)
    for line, entry, exit_ in zip(sessions.json_lines(), sessions.entry, sessions.exit, strict=True):
        payload = orjson.loads(line)
        for key, epoch in (("entry_time", entry), ("exit_time", exit_)):
            assert payload[key].endswith("+00:00")
            assert dt.datetime.fromisoformat(payload[key]).timestamp() == epoch
