"""Many stores in one run (``--stores FILE``), end to end through the command line.

Each store draws from its own random streams, keyed on its id, so adding a
store (or reordering the file) leaves every other store's events byte for
byte the same, whichever engine the run needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.settings import Settings, SettingsError
from producer.stores_file import StoresError

ROME = 'id = "rome"\ntimezone = "Europe/Rome"\nbaseline = 900\n'
NYC = (
    'id = "nyc"\ntimezone = "America/New_York"\ndaily_customers = 400\n'
    '[stores.profile]\nslots = ["00:00", "08:00", "20:00"]\n[stores.profile.weights]\n'
    + "".join(f"{d} = [0, 10, 2]\n" for d in
              ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
)
TOKYO = 'id = "tokyo"\ntimezone = "Asia/Tokyo"\nbaseline = 700\n'
TOKYO_CAPPED = TOKYO + "capacity = 8\n"


def stores_file(path: Path, *stores: str) -> Path:
    path.write_text("".join(f"[[stores]]\n{s}\n" for s in stores), encoding="utf-8")
    return path


def simulate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["simulate", "--quiet", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def lines_by_store(folder: Path) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for name in ("foot_traffic.jsonl", "foot_traffic_realistic.jsonl"):
        for line in (folder / name).read_bytes().splitlines():
            out.setdefault(json.loads(line)["store_id"] + ":" + name, []).append(line)
    return out


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((ROME, NYC), (TOKYO, NYC, ROME)),  # uncapped: the vectorized engine both times
        ((ROME, NYC), (ROME, TOKYO_CAPPED, NYC)),  # the new store's capacity moves the run to SimPy
        ((ROME + "capacity = 12\n", NYC), (NYC, TOKYO, ROME + "capacity = 12\n")),  # SimPy both times
    ],
    ids=["fast", "fast-then-simpy", "simpy"],
)
def test_adding_a_store_leaves_the_others_byte_identical(
    tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    common = ["--start", "2025-10-24", "--days", "4", "--seed", "77"]
    for name, stores in (("before", before), ("after", after)):
        code, _, err = simulate(*common, "--stores", str(stores_file(tmp_path / f"{name}.toml", *stores)),
                                "--out", str(tmp_path / name))
        assert code == 0, err
    old, new = lines_by_store(tmp_path / "before"), lines_by_store(tmp_path / "after")
    assert {k for k in new if not k.startswith("tokyo")} == set(old)
    assert any(k.startswith("tokyo") for k in new)
    for key, lines in old.items():
        assert len(lines) > 100
        assert new[key] == lines, key


def test_store_capacity_end_to_end_to_parquet(tmp_path: Path) -> None:
    code, _, err = simulate(
        "--start", "2025-03-03", "--days", "3", "--seed", "3", "--store-capacity", "10", "--format", "parquet",
        "--out", str(tmp_path), "--write-rejected", "--patience-minutes", "5",
    )
    assert code == 0, err
    sessions = pq.read_table(tmp_path / "foot_traffic.parquet")
    doors = pq.read_table(tmp_path / "foot_traffic_realistic.parquet")
    assert sessions.schema.field("queue_seconds").type == pa.int32()
    assert sessions.schema.names[-2:] == ["store_id", "queue_seconds"]
    waits = sessions.column("queue_seconds").to_pylist()
    assert max(waits) <= 300 and sum(w > 0 for w in waits) > 10
    kinds = set(doors.column("event_type").to_pylist())
    assert kinds == {"entry", "exit", "gave_up"}


def test_fast_engine_with_a_capacity_is_a_one_line_error(tmp_path: Path) -> None:
    code, _, err = simulate("--days", "1", "--store-capacity", "5", "--engine", "fast", "--out", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and "capacity" in err and "fast" in err


def test_stores_inherit_the_settings_and_override_them(tmp_path: Path) -> None:
    path = stores_file(tmp_path / "s.toml", 'id = "a"', 'id = "b"\ntimezone = "Asia/Tokyo"\ncapacity = 3\n'
                       'capacity_mode = "loss"', 'id = "c"\nbaseline = 10\npatience_minutes = 2')
    env = {"STORES": str(path), "TIMEZONE": "Europe/Rome", "STORE_CAPACITY": "7", "DAILY_CUSTOMERS": "50",
           "PATIENCE_MINUTES": "1.5"}
    a, b, c = Settings.load(env).stores()
    assert (a.store_id, a.timezone, a.capacity, a.capacity_mode, a.patience, a.daily_customers) == (
        "a", "Europe/Rome", 7, "queue", 90, 50)
    assert (b.timezone, b.capacity, b.capacity_mode, b.patience) == ("Asia/Tokyo", 3, "loss", None)
    assert (c.baseline, c.daily_customers, c.patience) == (10, None, 120)


BAD_STORES = [
    ('id = "a"\ncolour = "red"', ["store 'a'", "unknown key 'colour'"]),
    ('id = "a"\ncapacity = 0', ["store 'a'", "capacity = 0", "from 1 to 20,000,000"]),
    ('id = "a"\ncapacity = "many"', ["store 'a'", "capacity", "whole number"]),
    ('id = "a"\ntimezone = "Europe/Roma"', ["store 'a'", "timezone", "IANA"]),
    ('id = "a"\nvariation = 2', ["store 'a'", "variation", "0 to 1"]),
    ('id = "a"\ncapacity_mode = "drop"', ["store 'a'", "capacity_mode", "'queue' or 'loss'"]),
    ('id = "a"\nbaseline = 5\ndaily_customers = 5', ["store 'a'", "baseline or daily_customers"]),
    ('id = "a"\ncapacity = 4\ncapacity_mode = "loss"\npatience_minutes = 5', ["store 'a'", "patience"]),
    ('id = "a"\npatience_minutes = 5', ["store 'a'", "patience"]),
    ('id = "a"\nprofile = "missing.toml"', ["store 'a'", "profile", "cannot read"]),
    ('id = "a"\n[stores.profile]\nslots = ["00:00"]\n[stores.profile.weights]\nMonday = [1]',
     ["store 'a'", "profile", "weights.Tuesday"]),
    ('name = "a"', ["stores[1]", "id: missing"]),
]


@pytest.mark.parametrize(("store", "words"), BAD_STORES, ids=[w[1][-1] for w in BAD_STORES])
def test_a_broken_stores_file_is_one_clear_line(tmp_path: Path, store: str, words: list[str]) -> None:
    path = stores_file(tmp_path / "bad.toml", 'id = "ok"', store)
    with pytest.raises(StoresError) as caught:
        Settings.load({"STORES": str(path)}).stores()
    message = str(caught.value)
    assert "\n" not in message and "bad.toml" in message
    for word in words:
        assert word in message
    code, out, err = simulate("--stores", str(path), "--days", "1", "--out", str(tmp_path / "o"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("foot-traffic: error: STORES file")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[stores]]\nid = "a"\n[[stores]]\nid = "a"\n', ["'a'", "unique"]),
        ("", ["no stores"]),
        ("[[stores]\n", ["not valid TOML"]),
        ('stores = [1]\n', ["stores[0]", "table"]),
        ('[[stores]]\nid = "a"\n[extra]\nx = 1\n', ["unknown key 'extra'"]),
    ],
)
def test_a_broken_stores_file_as_a_whole(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StoresError) as caught:
        Settings.load({"STORES": str(path)}).stores()
    assert "\n" not in str(caught.value) and all(w in str(caught.value) for w in words)


def test_a_missing_stores_file(tmp_path: Path) -> None:
    with pytest.raises(StoresError, match="cannot read it"):
        Settings.load({"STORES": str(tmp_path / "nope.toml")}).stores()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"TIMEZONE": "Mars/Olympus"}, ["TIMEZONE='Mars/Olympus'", "IANA"]),
        ({"STORE_CAPACITY": "0"}, ["STORE_CAPACITY='0'", "from 1 to 20,000,000"]),
        ({"CAPACITY_MODE": "drop"}, ["CAPACITY_MODE='drop'", "queue or loss"]),
        ({"PATIENCE_MINUTES": "-1", "STORE_CAPACITY": "3"}, ["PATIENCE_MINUTES='-1'", "> 0"]),
        ({"PATIENCE_MINUTES": "5"}, ["PATIENCE_MINUTES=5 needs STORE_CAPACITY"]),
        ({"PATIENCE_MINUTES": "5", "STORE_CAPACITY": "3", "CAPACITY_MODE": "loss"}, ["CAPACITY_MODE=queue"]),
    ],
)
def test_bad_capacity_and_timezone_settings(env: dict[str, str], words: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load(env)
    assert "\n" not in str(caught.value) and all(w in str(caught.value) for w in words)


def test_patience_needs_a_queueing_store_in_the_file(tmp_path: Path) -> None:
    path = stores_file(tmp_path / "s.toml", 'id = "a"')
    with pytest.raises(StoresError, match="PATIENCE_MINUTES is set but no store"):
        Settings.load({"STORES": str(path), "PATIENCE_MINUTES": "3"}).stores()
