"""Helpers for tests of per-store streams (``STREAM_PER_STORE``): twelve stores, their offline lines, checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from producer.cli import main
from tests.producer_run import offline

STORES = [f"s{i:02d}" for i in range(12)]
ARGS = ("--seed", "5")

#: Each store's offline lines: (sessions, door events).
ByStore = dict[str, tuple[list[bytes], list[bytes]]]


def write_stores(path: Path, base: int = 300) -> Path:
    """The twelve stores, each busier than the one before (``base`` customers a day, then +50 each)."""
    path.write_text("".join(f'[[stores]]\nid = "{s}"\ndaily_customers = {base + 50 * i}\n\n'
                            for i, s in enumerate(STORES)), encoding="utf-8")
    return path


def offline_by_store(tmp: Path, stores: Path, *span: str) -> ByStore:
    """The offline run's lines of each store over ``span`` (``--start ... --days ...``), seed 5."""
    sessions, doors = offline(tmp, *span, "--stores", str(stores), *ARGS)
    out: ByStore = {s: ([], []) for s in STORES}
    for kind, lines in ((0, sessions), (1, doors)):
        for line in lines:
            out[json.loads(line)["store_id"]][kind].append(line)
    return out


def assert_each_store_equals(client: Any, base: str, expected: ByStore) -> None:
    """Every store's streams hold its offline lines, byte for byte, with the emitter's ids counted per stream."""
    for store, lines in expected.items():
        for kind, name in enumerate((f"{base}:{{{store}}}", f"{base}:{{{store}}}:realistic")):
            entries = client.xrange(name, "-", "+")
            assert len(lines[kind]) > 50, (store, kind)
            got = [fields[b"data"] for _, fields in entries]
            assert len(got) == len(lines[kind]) and got == lines[kind], name
            assert [eid for eid, _ in entries] == emitter_ids(got, "entry_time" if kind == 0 else "time"), name


def emitter_ids(lines: list[bytes], field: str) -> list[bytes]:
    """The ids the StoreEmitter gives a stream's events: the event's time in ms, then its number within that ms."""
    out, previous, seq = [], -1, 0
    for line in lines:
        ms = int(dt.datetime.fromisoformat(json.loads(line)[field]).timestamp()) * 1000
        seq = seq + 1 if ms == previous else 0
        previous = ms
        out.append(b"%d-%d" % (ms, seq))
    return out


#: A store's five streams with a sensor: suffix, offline file, and the field its entry ids come from.
SENSOR_STREAMS = (
    ("", "foot_traffic", "entry_time"),
    (":realistic", "foot_traffic_realistic", "sent_at"),
    (":realistic:true", "foot_traffic_realistic_true", "time"),
    (":counts", "foot_traffic_counts", "interval_end"),
    (":registers", "foot_traffic_registers", "interval_end"),
)
#: Each store's offline lines with a sensor, one list per stream of SENSOR_STREAMS.
SensorByStore = dict[str, list[list[bytes]]]


def write_sensor_stores(path: Path, sensor: str, base: int = 300) -> Path:
    """The twelve stores, busier one by one; the even ones have the profile ``sensor`` (with ``[sensor]``).

    The odd ones keep the default profile: in a run with a sensor their
    sensor is the perfect one (every crossing delivered at once), so a
    shard mixes both.
    """
    profile = path.parent / "sensor_profile.toml"
    profile.write_text(sensor, encoding="utf-8")
    path.write_text("".join(
        f'[[stores]]\nid = "{s}"\ndaily_customers = {base + 50 * i}\n'
        + (f'profile = "{profile.name}"\n' if i % 2 == 0 else "") + "\n"
        for i, s in enumerate(STORES)), encoding="utf-8")
    return path


def offline_sensor_by_store(tmp: Path, stores: Path, *args: str) -> SensorByStore:
    """Each store's lines of the five offline files of a sensor run (``simulate ARGS``, seed 5)."""
    out = tmp / "offline"
    result = CliRunner().invoke(main, ["simulate", "--out", str(out), "--quiet", "--stores", str(stores),
                                       *ARGS, *args])
    assert result.exit_code == 0, result.output
    by_store: SensorByStore = {s: [[] for _ in SENSOR_STREAMS] for s in STORES}
    for k, (_, name, _) in enumerate(SENSOR_STREAMS):
        for line in (out / f"{name}.jsonl").read_bytes().splitlines():
            by_store[json.loads(line)["store_id"]][k].append(line)
    return by_store


def assert_each_store_equals_sensor(client: Any, base: str, expected: SensorByStore) -> None:
    """Every store's five streams hold its lines of the offline files, byte for byte, ids counted per stream."""
    for store, lines in expected.items():
        for (suffix, _, field), want in zip(SENSOR_STREAMS, lines, strict=True):
            name = f"{base}:{{{store}}}{suffix}"
            entries = client.xrange(name, "-", "+")
            assert len(want) > 20, (name, len(want))
            got = [fields[b"data"] for _, fields in entries]
            assert len(got) == len(want) and got == want, name
            assert [eid for eid, _ in entries] == ms_ids(got, field), name


def ms_ids(lines: list[bytes], field: str) -> list[bytes]:
    """The ids of a stream whose entries are timed by ``field`` (seconds or milliseconds): ms, then seq."""
    out, previous, seq = [], -1, 0
    for line in lines:
        ms = round(dt.datetime.fromisoformat(json.loads(line)[field]).timestamp() * 1000)
        seq = seq + 1 if ms == previous else 0
        previous = ms
        out.append(b"%d-%d" % (ms, seq))
    return out
