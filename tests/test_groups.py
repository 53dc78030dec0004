"""Groups: people arriving together (issue 12, part 1).

Statistical tests use fixed seeds and a stated level: a correct engine fails
each with probability about ALPHA.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim import DEFAULT_PROFILE, Simulation, Store, to_epoch
from sim.groups import Groups
from sim.profile import ProfileError, load_profile
from sim.sampling import GROUPS, _group_counts, stream
from tests.helpers import columns, day_slot_counts, json_lines
from tests.profiles import make_profile

ALPHA = 0.001
LAW = Groups(sizes=(0.6, 0.3, 0.07, 0.03), spread=5, together=0.8)
GROUPED = dataclasses.replace(DEFAULT_PROFILE, groups=LAW)


def _store(**kw: object) -> Store:
    return Store(profile=GROUPED, **kw)  # type: ignore[arg-type]


CASES = [
    ("plain", 1, (_store(),)),
    ("fixed-total", 2, (_store(daily_customers=3_000),)),
    ("dst-rome", 3, (_store(timezone="Europe/Rome", baseline=4_000),)),
    ("two-stores", 4, (_store(store_id="a", baseline=6_000),
                       Store(store_id="b", profile=dataclasses.replace(GROUPED, groups=Groups((0, 0, 1.0), 0, 1.0))))),
]


@pytest.mark.parametrize("name,seed,stores", CASES, ids=[c[0] for c in CASES])
def test_both_engines_write_identical_events_with_groups(name: str, seed: int, stores: tuple[Store, ...]) -> None:
    run = Simulation(seed=seed, stores=stores, start=to_epoch("2025-03-29T13:07:00"),
                     end=to_epoch("2025-04-01T02:00:00"))
    fast, slow = json_lines(run, "fast"), json_lines(run, "simpy")
    assert len(fast[1]) > 1000
    assert fast == slow


def test_groups_of_one_change_nothing() -> None:
    # Every group has one person: the group path draws the very same events as the plain one.
    ones = dataclasses.replace(DEFAULT_PROFILE, groups=Groups((1.0,), 30, 0.5))
    for kw in ({}, {"daily_customers": 2_000}, {"timezone": "America/New_York"}):
        a = Simulation.of("2025-11-01", days=3, seed=8, stores=Store(**kw))  # type: ignore[arg-type]
        b = Simulation.of("2025-11-01", days=3, seed=8, stores=Store(profile=ones, **kw))  # type: ignore[arg-type]
        assert json_lines(a) == json_lines(b), kw


def test_group_sizes_follow_their_law() -> None:
    # Pearson chi-square of the sizes drawn for 60 days, 3 d.o.f., at ALPHA.
    store = _store(variation=0.0)
    sizes = np.concatenate([
        _group_counts(stream(5, store, day, 0), stream(5, store, day, GROUPS), store, store.day_plan(day), LAW)[1]
        for day in (dt_day(i) for i in range(60))
    ])
    observed = np.bincount(sizes, minlength=5)[1:]
    expected = len(sizes) * np.asarray(LAW.sizes)
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=3) > ALPHA, (observed, expected)


def dt_day(i: int) -> dt.date:
    return dt.date(2025, 1, 6) + dt.timedelta(days=i)


@pytest.fixture(scope="module")
def year_counts() -> np.ndarray:
    weeks = 52
    run = Simulation.of("2024-01-01", days=7 * weeks, seed=2026, stores=_store(variation=0.0))
    sessions, _ = columns(run)
    return day_slot_counts(sessions.entry, run.start, 7 * weeks, DEFAULT_PROFILE.starts).reshape(weeks, 7, -1)


def test_people_per_slot_are_compound_poisson(year_counts: np.ndarray) -> None:
    # Index of dispersion of people per (weekday, slot) cell over 52 weeks: variance/mean
    # = E[G^2]/E[G]. Pooled over the 42 cells, the estimate has standard error
    # about D * sqrt(2 / df) (counts of tens to hundreds of people are close to normal).
    weeks = year_counts.shape[0]
    mean = year_counts.mean(axis=0)
    df = mean.size * (weeks - 1)
    estimate = float((((year_counts - mean) ** 2).sum(axis=0) / mean).sum()) / df
    expected = LAW.second_moment() / LAW.mean()
    se = expected * np.sqrt(2 / df)
    assert abs(estimate - expected) < 4 * se, (estimate, expected, se)
    print(f"index of dispersion {estimate:.3f}, expected {expected:.3f} +- {se:.3f}")
    # Plain Poisson (D = 1) must be rejected by the same statistic: the test can fail.
    assert abs(estimate - 1.0) > 4 * se


def test_expected_people_per_slot_is_unchanged(year_counts: np.ndarray) -> None:
    # The year's total people against the profile's mean; variance D x mean (compound Poisson).
    weeks = year_counts.shape[0]
    total = float(year_counts.sum())
    expected = 1000.0 * 7 * weeks
    d = LAW.second_moment() / LAW.mean()
    assert abs(total - expected) < 4 * np.sqrt(d * expected), (total, expected)


def test_a_group_that_leaves_together_leaves_at_one_second() -> None:
    together = dataclasses.replace(DEFAULT_PROFILE, groups=Groups((0.0, 1.0), spread=0, together=1.0))
    run = Simulation.of("2025-11-03", days=1, seed=4, stores=Store(profile=together, baseline=500))
    sessions, _ = columns(run)
    entry, exit_ = sessions.entry, sessions.exit
    assert len(entry) % 2 == 0 and (exit_ > entry).all()
    # Pairs enter at one second and leave at one second (pairs may also coincide with other pairs).
    pairs = np.unique(np.stack([entry, exit_]), axis=1, return_counts=True)[1]
    assert (pairs % 2 == 0).all()


def test_groups_round_trip_and_load_from_a_profile_file(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, tables="[groups]\nsizes = {1 = 0.6, 2 = 0.3, 3 = 0.07, 4 = 0.03}\nspread = 7\n")
    assert profile.groups == Groups((0.6, 0.3, 0.07, 0.03), spread=7, together=1.0)
    again = tmp_path / "again.toml"
    again.write_text(profile.to_toml())
    assert load_profile(again) == profile


@pytest.mark.parametrize("table,key", [
    ("sizes = {1 = 0.6, 2 = 0.3}", "sum to 1"),
    ("sizes = {0 = 1.0}", "groups.sizes.0"),
    ("sizes = {x = 1.0}", "groups.sizes.x"),
    ("sizes = {1 = 1.5, 2 = -0.5}", "groups.sizes.1"),
    ("sizes = {1 = 1.0}\nspread = 601", "groups.spread"),
    ("sizes = {1 = 1.0}\ntogether = 2", "groups.together"),
    ("sizes = {1 = 1.0}\nleave = 2", "unknown key 'leave'"),
    ("spread = 3", "groups.sizes: missing"),
])
def test_bad_groups_are_one_line_errors(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ProfileError) as info:
        make_profile(tmp_path, tables=f"[groups]\n{table}\n")
    message = str(info.value)
    assert key in message and "\n" not in message
