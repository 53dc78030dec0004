"""Which run a producer continues, from the metadata stored beside the streams."""

from __future__ import annotations

import pytest

from producer.live.runstate import RunRecordError, RunState, resolve
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
    with pytest.raises(RunRecordError, match="malformed; pass --fresh"):
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


def test_every_run_defining_setting_is_checked_on_resume() -> None:
    """WRITE_REJECTED, the time zone, the capacity ... : one list defines a run, and a resume checks it all."""
    from producer.live.runstate import RUN_SETTINGS

    assert {"write_rejected", "timezone", "store_capacity", "capacity_mode", "patience_minutes",
            "stores_file"} <= set(RUN_SETTINGS)
    base = {"SEED": "5", "STORE_CAPACITY": "20"}
    stored, _ = resolve(None, settings(**base), 1_000, {"seed"}, False, now=50.0, key=KEY)
    with pytest.raises(SettingsError, match=r"^WRITE_REJECTED=true differs from the stored run's WRITE_REJECTED=false"):
        resolve(stored, settings(**base, WRITE_REJECTED="1"), None, set(), False, now=60.0, key=KEY)
    with pytest.raises(SettingsError, match=r"^TIMEZONE=Europe/Rome differs"):
        resolve(stored, settings(**base, TIMEZONE="Europe/Rome"), None, set(), False, now=60.0, key=KEY)


def test_the_fingerprint_is_canonical() -> None:
    """The same stores give the same digest whatever the object identity; any change of a store changes it."""
    from producer.live.runstate import store_fingerprint
    from sim.store import Store

    assert store_fingerprint((Store(),)) == store_fingerprint((Store(),))
    assert store_fingerprint((Store(),)) != store_fingerprint((Store(baseline=1000.5),))
    assert store_fingerprint((Store(),)) != store_fingerprint((Store(timezone="Europe/Rome"),))
    assert len(store_fingerprint((Store(),))) == 32


def test_a_version_1_record_is_checked_as_it_was_and_upgraded() -> None:
    from producer.live.runstate import VERSION, _v1_traffic_of

    s = settings(SEED="5")
    old = RunState(5, 1_000, 50.0, 1.0, _v1_traffic_of(s), version="1")
    state, how = resolve(RunState.from_hash(old.to_hash(), KEY), s, None, set(), False, now=60.0, key=KEY)
    assert how == "continued" and state.version == VERSION and state.traffic != old.traffic
    with pytest.raises(SettingsError, match="DAILY_CUSTOMERS differs"):
        resolve(old, settings(SEED="5", DAILY_CUSTOMERS="101"), None, set(), False, now=60.0, key=KEY)
