"""``[[scenarios]]`` in profile and stores files: one-line errors naming the key, good tables round-trip."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.stores_file import StoresError, load_stores
from sim.profile import ProfileError, load_profile, profile_from_mapping
from sim.store import Store
from tests.producer_run import one_line, run_producer
from tests.profiles import profile_text, write_profile

SENSOR = "[sensor]\nmiss_in = 0.01\n"


def scenario(**keys: object) -> str:
    body = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in keys.items())
    return "[[scenarios]]\n" + body


BROKEN = {
    "no kind": (scenario(factor=2, start="2025-11-03T10:00", end="2025-11-03T11:00"), "scenarios[0].kind"),
    "unknown kind": (scenario(kind="flood", start="2025-11-03T10:00"), "scenarios[0].kind"),
    "unknown key": (scenario(kind="surge", factor=2, start="2025-11-03T10:00", end="2025-11-03T11:00", dir="in"),
                    "'dir'"),
    "key of another kind": (scenario(kind="early_closure", start="2025-11-03T18:00", factor=2), "'factor'"),
    "neither start nor rate": (scenario(kind="surge", factor=2), "scenarios[0]"),
    "both start and rate": (scenario(kind="surge", factor=2, start="2025-11-03T10:00", end="2025-11-03T11:00",
                                     per_month=1), "per_month"),
    "bad start": (scenario(kind="surge", factor=2, start="2025-11-03 25:00", end="2025-11-03T11:00"),
                  "scenarios[0].start"),
    "no end": (scenario(kind="surge", factor=2, start="2025-11-03T10:00"), "scenarios[0].end"),
    "end before start": (scenario(kind="surge", factor=2, start="2025-11-03T10:00", end="2025-11-03T09:00"),
                         "scenarios[0].end"),
    "window too long": (scenario(kind="surge", factor=2, start="2025-11-03T10:00", end="2025-11-12T10:00"),
                        "scenarios[0].end"),
    "minutes with a fixed time": (scenario(kind="surge", factor=2, start="2025-11-03T10:00", end="2025-11-03T11:00",
                                           minutes=5), "scenarios[0].minutes"),
    "end with a rate": (scenario(kind="surge", factor=2, per_month=2, end="2025-11-03T11:00"), "scenarios[0].end"),
    "rate without minutes": (scenario(kind="surge", factor=2, per_month=2), "scenarios[0].minutes"),
    "rate zero": (scenario(kind="surge", factor=2, per_month=0, minutes=30), "scenarios[0].per_month"),
    "minutes fractional": (scenario(kind="surge", factor=2, per_month=1, minutes=2.5), "scenarios[0].minutes"),
    "surge without factor": (scenario(kind="surge", start="2025-11-03T10:00", end="2025-11-03T11:00"),
                             "scenarios[0].factor"),
    "surge factor zero": (scenario(kind="surge", factor=0, start="2025-11-03T10:00", end="2025-11-03T11:00"),
                          "scenarios[0].factor"),
    "slow factor below 1": (scenario(kind="slow_checkout", factor=0.5, per_month=1, minutes=60),
                            "scenarios[0].factor"),
    "closure with end": (scenario(kind="early_closure", start="2025-11-03T18:00", end="2025-11-03T20:00"), "'end'"),
    "door without direction": (SENSOR + scenario(kind="door_blocked", per_month=1, minutes=60),
                               "scenarios[0].direction"),
    "door bad direction": (SENSOR + scenario(kind="door_blocked", per_month=1, minutes=60, direction="both"),
                           "scenarios[0].direction"),
    "offline longer than a day": (SENSOR + scenario(kind="counter_offline", per_month=1, minutes=1441),
                                  "scenarios[0].minutes"),
    "sensor kind without a sensor": (scenario(kind="counter_offline", per_month=1, minutes=30), "[sensor]"),
    "not an array": ('scenarios = "surge"\n', "scenarios"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_scenario_gives_one_line_naming_the_key(tmp_path: Path, case: str) -> None:
    tables, key = BROKEN[case]
    top, tables = (tables, "") if tables.startswith("scenarios =") else ("", tables)
    path = write_profile(tmp_path, profile_text(top=top, tables=tables))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message
    assert key in message, message
    assert str(path) in message


def test_every_kind_round_trips_through_toml_and_store_mappings(tmp_path: Path) -> None:
    tables = SENSOR + "".join([
        scenario(kind="surge", factor=2.5, start="2025-11-28T10:00", end="2025-11-28T12:30"),
        scenario(kind="early_closure", start="2025-12-24T16:00"),
        scenario(kind="early_closure", per_month=0.5),
        scenario(kind="door_blocked", direction="out", per_month=1, minutes=45),
        scenario(kind="counter_offline", start="2025-11-03T09:00", end="2025-11-03T10:00"),
        scenario(kind="slow_checkout", factor=1.5, per_month=3, minutes=120),
    ])
    profile = load_profile(write_profile(tmp_path, profile_text(tables=tables)))
    assert [s.kind for s in profile.scenarios] == ["surge", "early_closure", "early_closure", "door_blocked",
                                                    "counter_offline", "slow_checkout"]
    assert profile.scenarios[0].start == dt.datetime(2025, 11, 28, 10, 0)
    again = profile_from_mapping(tomllib.loads(profile.to_toml()))
    assert again == dataclasses.replace(profile, name=again.name)
    store = Store(profile=profile, scenarios=profile.scenarios[:1])
    assert Store.from_mapping(store.to_mapping()) == store


def test_a_store_without_scenarios_is_recorded_as_before() -> None:
    assert "scenarios" not in Store().to_mapping()
    assert "scenarios" not in Store().profile.to_mapping()


def test_a_slow_checkout_lengthens_the_longest_visit() -> None:
    plain = Store()
    slowed = Store(scenarios=(profile_from_mapping(tomllib.loads(
        profile_text(tables=scenario(kind="slow_checkout", factor=2, per_month=1, minutes=60)))).scenarios))
    assert plain.longest_visit == 75 * 60
    assert slowed.longest_visit == 150 * 60 + 59
    assert slowed.lookback == slowed.longest_visit


STORES = """
[[stores]]
id = "a"
[[stores.scenarios]]
kind = "surge"
factor = 3
start = "2025-11-03T10:00"
end = "2025-11-03T11:00"

[[stores]]
id = "b"
"""


def test_a_stores_file_gives_a_store_its_own_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    a, b = load_stores(path, Store())
    assert [s.kind for s in a.scenarios] == ["surge"] and a.scenarios[0].factor == 3
    assert b.scenarios == ()


@pytest.mark.parametrize("bad,key", [
    ('factor = "x"', "scenarios[0].factor"),
    ('kind = "door_blocked"\ndirection = "in"', "[sensor]"),
])
def test_a_broken_store_scenario_names_the_store_and_key(tmp_path: Path, bad: str, key: str) -> None:
    text = STORES.replace('kind = "surge"\nfactor = 3', bad if "kind" in bad else 'kind = "surge"\n' + bad)
    path = tmp_path / "stores.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StoresError) as info:
        load_stores(path, Store())
    message = str(info.value)
    assert "\n" not in message and "store 'a'" in message and key in message, message


def test_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write_profile(tmp_path, profile_text(tables=scenario(kind="surge", factor=-1, per_month=1, minutes=5)))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", "--days", "1", "--seed", "1", "--profile-file", str(path),
                                       "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scenarios[0].factor" in lines[0], result.stderr


def test_a_sensor_scenario_with_the_sensor_off_is_one_line(tmp_path: Path) -> None:
    path = write_profile(tmp_path, profile_text(tables=SENSOR + scenario(kind="door_blocked", direction="in",
                                                                         per_month=1, minutes=30)))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", "--days", "1", "--seed", "1", "--profile-file", str(path),
                                       "--sensor", "off", "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SENSOR=off" in lines[0] and "door_blocked" in lines[0], result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_produce_refuses_a_sensor_scenario_with_the_sensor_off_as_simulate_does(tmp_path: Path) -> None:
    # The same rule (SensorSettings.check_scenarios) before any Redis is asked: none answers on this URL.
    path = write_profile(tmp_path, profile_text(tables=SENSOR + scenario(kind="counter_offline", per_month=1,
                                                                         minutes=30)))
    done = run_producer("redis://127.0.0.1:1/0", "--days", "1", profile_file=path, sensor="off",
                        sim_start="2025-11-03T00:00:00", redis_connect_timeout=1)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "SENSOR=off" in line and "counter_offline" in line and "SENSOR=auto" in line, done.stderr
