"""Which run a producer continues, from the metadata stored beside the streams."""

from __future__ import annotations

import pytest

from producer.live.runstate import RunState, resolve
from producer.settings import Settings, SettingsError

KEY = "foot_traffic:run"


def settings(**env: str) -> Settings:
    return Settings.load({"DAILY_CUSTOMERS": "100", **env})


def test_a_new_run_takes_what_is_given_and_draws_the_rest() -> None:
    state, how = resolve(None, settings(SEED="5"), 1_000, {"seed"}, False, now=2_000.5, key=KEY)
    assert how == "new" and (state.seed, state.sim_start, state.wall_start) == (5, 1_000, 2_000.5)
    drawn, _ = resolve(None, settings(), None, set(), False, now=2_000.5, key=KEY)
    assert drawn.sim_start == 2_000 and drawn.seed >= 0


def test_unset_seed_and_start_continue_the_stored_run() -> None:
    stored, _ = resolve(None, settings(SEED="5"), 1_000, {"seed"}, False, now=50.0, key=KEY)
    again = RunState.from_hash(stored.to_hash(), KEY)
    assert again == stored
    state, how = resolve(again, settings(), None, set(), False, now=99.0, key=KEY)
    assert how == "continued" and state == stored


def test_a_new_speed_keeps_simulated_time_continuous() -> None:
    stored = RunState(5, 1_000, 50.0, 10.0, resolve(None, settings(), 0, set(), False, 0.0, KEY)[0].traffic)
    state, how = resolve(stored, settings(SPEED="100"), None, {"speed"}, False, now=60.0, key=KEY)
    assert how == "re-anchored" and state.speed == 100.0
    # At wall 60 the old timeline was at 1,000 + 10 s x 10 = 1,100; so is the new one.
    assert state.sim_time_at(60.0) == pytest.approx(stored.sim_time_at(60.0)) == 1_100
    assert state.sim_time_at(61.0) == pytest.approx(1_200)


def test_contradictions_name_the_setting() -> None:
    stored, _ = resolve(None, settings(SEED="5"), 1_000, {"seed"}, False, now=50.0, key=KEY)
    with pytest.raises(SettingsError, match=r"^BASE_DAILY_CUSTOMERS=50.0 differs .* --fresh"):
        resolve(stored, settings(BASE_DAILY_CUSTOMERS="50"), None, set(), False, now=60.0, key=KEY)
    fresh, how = resolve(stored, settings(SEED="6"), None, {"seed"}, True, now=60.0, key=KEY)
    assert how == "new" and fresh.seed == 6 and fresh.sim_start == 60


def test_malformed_stored_metadata_is_one_line() -> None:
    with pytest.raises(SettingsError, match="malformed; pass --fresh"):
        RunState.from_hash({"seed": "x"}, KEY)


def test_the_clock_is_part_of_the_run() -> None:
    """A run keeps its clock: a restart with CLOCK unset follows it; another clock needs --fresh."""
    stored, _ = resolve(None, settings(SEED="5", CLOCK="redis"), 1_000, {"seed", "clock"}, False, now=50.0, key=KEY)
    assert stored.clock == "redis" and RunState.from_hash(stored.to_hash(), KEY) == stored
    state, how = resolve(stored, settings(), None, set(), False, now=60.0, key=KEY)
    assert how == "continued" and state.clock == "redis"
    with pytest.raises(SettingsError, match=r"^CLOCK=wall differs from the stored run's clock redis; pass --fresh"):
        resolve(stored, settings(CLOCK="wall"), None, {"clock"}, False, now=60.0, key=KEY)
    old = {k: v for k, v in stored.to_hash().items() if k != "clock"}  # a run stored before CLOCK existed
    assert RunState.from_hash(old, KEY).clock == "wall"
