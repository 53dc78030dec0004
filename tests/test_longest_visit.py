"""The longest visit, one fact of the engine: partitioned runs and the live resume start that far back.

A group that leaves together leaves when its first member would have,
counted from its last member's entry: the first member stays up to the
dwell model's bound plus the group's ``spread``. A task of a partitioned
run (one process or Dask workers) that started only one dwell bound before
its span lost those exits just after the span's start (issue 20, item 0).
And on a fall-back day, a slot that happens twice must not carry a group's
members from one of its stretches into the other, an hour later: members
enter within ``spread`` seconds of their group's first member, in real time.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.live.resume import longest_dwell
from sim import DEFAULT_PROFILE, Profile, Simulation, Store, to_epoch
from sim.dwell import DEFAULT_DWELL, LognormalDwell, MixtureDwell, UniformBand
from sim.groups import Groups
from tests.helpers import columns
from tests.partitioned import DATASETS, flat_lines, partitioned_lines, simulate
from tests.profiles import profile_text, write_profile

#: Visits of 70 to 75 minutes; groups of three entering up to ten minutes apart and leaving together.
GROUP_TABLES = """
[dwell]
kind = "mixture"
bands = [[70, 75]]
shares = [1.0]

[groups]
sizes = {3 = 1.0}
spread = 600
together = 1
"""
ARGS = ("--base-daily-customers", "3000", "--start", "2026-09-07", "--days", "3", "--seed", "3", "--format", "jsonl")


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The profile file and the plain run's folder."""
    folder = tmp_path_factory.mktemp("grouped")
    profile = write_profile(folder, profile_text(tables=GROUP_TABLES))
    _run(*ARGS, "--profile-file", str(profile), "--out", str(folder / "plain"))
    return profile, folder / "plain"


def _same_rows(plain: Path, out: Path) -> None:
    for dataset in DATASETS:
        want = flat_lines(plain, dataset)
        assert len(want) > 5_000
        assert sorted(partitioned_lines(out, dataset)) == sorted(want), dataset


def test_a_partitioned_run_keeps_the_exits_of_groups_that_leave_together(
    tmp_path: Path, grouped: tuple[Path, Path]
) -> None:
    profile, plain = grouped
    _run(*ARGS, "--profile-file", str(profile), "--out", str(tmp_path / "out"), "--partition")
    _same_rows(plain, tmp_path / "out")


def test_a_dask_run_keeps_the_exits_of_groups_that_leave_together(tmp_path: Path, grouped: tuple[Path, Path]) -> None:
    pytest.importorskip("distributed")
    profile, plain = grouped
    result = simulate(*ARGS, "--profile-file", str(profile), "--out", str(tmp_path / "out"), "--workers", "2",
                      timeout=300)
    assert result.returncode == 0, result.stderr
    _same_rows(plain, tmp_path / "out")


def _grouped_store(spread: int, together: float, **kw: object) -> Store:
    profile = dataclasses.replace(DEFAULT_PROFILE, groups=Groups((0.5, 0.5), spread=spread, together=together))
    return Store(profile=profile, **kw)  # type: ignore[arg-type]


def test_the_longest_visit_is_the_dwell_bound_plus_a_leaving_groups_spread() -> None:
    assert Store().longest_visit == 75 * 60
    assert _grouped_store(600, 1.0).longest_visit == 75 * 60 + 600
    assert _grouped_store(600, 0.3).longest_visit == 75 * 60 + 600
    assert _grouped_store(600, 0.0).longest_visit == 75 * 60  # everyone keeps their own dwell
    assert Store(dwell=LognormalDwell(30, 0.5)).longest_visit is None
    # A queue adds the wait: at most the patience, unbounded without one; turned away, no wait.
    assert Store(capacity=5, patience=300).longest_visit == 75 * 60 + 300
    assert Store(capacity=5).longest_visit is None
    assert Store(capacity=5, capacity_mode="loss").longest_visit == 75 * 60


def test_customers_interact_only_with_a_capacity() -> None:
    assert not Store().interacts and not _grouped_store(600, 1.0).interacts
    assert Store(capacity=5).interacts and Store(capacity=5, capacity_mode="loss").interacts


def test_the_live_resume_starts_a_longest_visit_back() -> None:
    assert longest_dwell([Store(), _grouped_store(600, 1.0, store_id="b")]) == 75 * 60 + 600
    assert longest_dwell([Store(), Store(store_id="b", capacity=5, capacity_mode="loss")]) is None


def test_a_group_enters_within_its_spread_on_a_fall_back_day() -> None:
    """Pairs leaving together after exactly 30 minutes: exit - entry - 1800 is each member's lag behind the last.

    New York falls back on 2026-11-01 at 06:00 UTC: local 01:00 to 02:00
    happens twice, so the slot from 00:00 ends at 05:30 UTC and comes back
    from 06:00 to 06:30 UTC, and the slot from 01:30 runs 05:30 to 06:00 UTC
    and again from 06:30 UTC.
    """
    thirty = MixtureDwell(shares=(1.0,), bands=(UniformBand(30, 30),))
    profile = Profile(starts=(0, 90), weights=((1.0, 1.0),) * 7, name="fall-back", dwell=thirty,
                      groups=Groups((0.0, 1.0), spread=50, together=1.0))
    store = Store(profile=profile, baseline=20_000, timezone="America/New_York", variation=0.0)
    run = Simulation(seed=3, stores=(store,), start=to_epoch("2026-11-01T04:00:00"),
                     end=to_epoch("2026-11-02T05:00:00"))
    sessions, _ = columns(run)
    lag = sessions.exit - sessions.entry - 1800
    assert len(lag) > 15_000
    assert lag.min() == 0 and lag.max() <= 50, np.sort(lag)[-5:]


def test_the_dwell_models_give_their_upper_bound() -> None:
    assert DEFAULT_DWELL.upper_minutes() == 75
    assert LognormalDwell(30, 0.5).upper_minutes() is None
