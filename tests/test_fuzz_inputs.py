"""Fuzzing the profile and stores files: every input is answered, none crashes or hangs.

Seeded mutations of a valid profile file and a valid stores file (values
replaced by awkward ones, types changed, keys dropped, renamed or added,
bytes flipped, inserted or cut) go through ``foot-traffic simulate`` in
process. Each must either be accepted and simulated (a short run, exit 0)
or give exactly one ``foot-traffic: error:`` line and exit 2. An uncaught
exception shows in CliRunner as ``result.exception`` other than SystemExit;
a case that runs longer than its alarm counts as a hang.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS

#: Cases per chunk; four chunks, so that pytest-xdist shares them out.
CASES = 750
#: A single case taking longer than this is a hang.
ALARM_SECONDS = 20

WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

PROFILE: dict[str, Any] = {
    "name": "fuzzed",
    "slots": ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"],
    "baseline": 400,
    "closures": ["2025-12-25", dt.date(2026, 1, 1)],
    "seasonality": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2, 1.5],
    "weights": {d: [3, 17, 20, 17, 13, 10] for d in WEEK},
    "closed": {"Sunday": ["00:00", "20:00"]},
    "special": [
        {"date": "2025-11-03", "multiplier": 2.5},
        {"date": dt.date(2025, 11, 4), "multiplier": 0.5, "slots": ["17:00", "20:00"]},
    ],
    "dwell": {
        "kind": "lognormal", "median": 25, "spread": 0.6,
        "by_slot": [
            {"weekdays": ["Monday"], "slots": ["10:00"], "kind": "gamma", "median": 40, "spread": 0.5},
            {"weekdays": ["Tuesday"], "kind": "histogram", "edges": [1, 10, 30, 60], "weights": [2, 5, 1]},
            {"weekdays": ["Wednesday"], "kind": "mixture", "bands": [[5, 9], [10, 20]], "shares": [0.4, 0.6]},
        ],
    },
}

STORES: dict[str, Any] = {
    "stores": [
        {"id": "rome", "timezone": "Europe/Rome", "baseline": 300, "capacity": 30, "capacity_mode": "queue",
         "patience_minutes": 10, "profile": "profile.toml"},
        {"id": "nyc", "timezone": "America/New_York", "daily_customers": 200, "variation": 0.2,
         "multiplier": 1.5, "profile": {"slots": ["00:00", "08:00", "20:00"],
                                        "weights": {d: [0, 10, 2] for d in WEEK}}},
    ],
}

#: Values to put where another value was: out of range, of the wrong type, empty, nested.
AWKWARD: list[Any] = [
    0, -1, 1, 7, 2**63, -(2**63), 10**12, 1e23, 1e300, 1e308, -1e308, 1e-320, float("nan"), float("inf"),
    0.5, "", "x", "00:00", "25:00", "Monday", "Funday", "queue", "Mars/Olympus", "../../etc/passwd",
    "\u00e9\u2013\U0001f600", "a" * 300, True, False, [], [[1]], [[[]]], [1, "a"], ["00:00", ["00:00"]],
    {}, {"a": 1}, {"kind": "default"}, dt.date(1, 1, 1), dt.date(9999, 12, 31),
    dt.datetime(2025, 1, 1, 12, 0), dt.time(12, 0),
]
KEYS = ["kind", "slots", "weights", "dwell", "special", "date", "multiplier", "id", "profile", "baseline",
        "capacity", "Caturday", "by_slot", "median", "spread", "edges", "bands", "shares", "timezone"]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document: keys of tables and indices of lists."""
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _mutate_value(rng: random.Random, doc: dict[str, Any]) -> None:
    path = rng.choice([p for p in _paths(doc) if p])
    parent, last = _at(doc, path[:-1]), path[-1]
    old = parent[last]
    how = rng.random()
    if how < 0.4:
        parent[last] = copy.deepcopy(rng.choice(AWKWARD))
    elif how < 0.65:  # numbers scaled, mostly within range: these runs are accepted and simulated
        numbers = [p for p in _paths(doc) if isinstance(_at(doc, p), (int, float)) and not isinstance(_at(doc, p), bool)]
        if numbers:
            at = rng.choice(numbers)
            holder = _at(doc, at[:-1])
            holder[at[-1]] = holder[at[-1]] * rng.choice([0, 0.5, 0.9, 1.1, 2, 3, -1, 1e6, 1e300])
    elif how < 0.75:
        parent[last] = [old] if rng.random() < 0.5 else str(old)
    elif isinstance(doc, dict) and how < 0.85:  # an optional part left out
        optional = [k for k in ("baseline", "closures", "seasonality", "closed", "special", "dwell", "name")
                    if k in doc]
        if optional:
            del doc[rng.choice(optional)]
    elif isinstance(parent, dict):
        del parent[last]
        if rng.random() < 0.5:  # renamed rather than dropped
            parent[rng.choice(KEYS) if rng.random() < 0.5 else str(last) + "s"] = old
    else:
        del parent[last]


def _add_key(rng: random.Random, doc: dict[str, Any]) -> None:
    tables = [p for p in _paths(doc) if isinstance(_at(doc, p), dict)]
    table = _at(doc, rng.choice(tables))
    table[rng.choice(KEYS)] = copy.deepcopy(rng.choice(AWKWARD))


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buf) + 1)
        how = rng.random()
        if how < 0.3 and at < len(buf):
            buf[at] = rng.randrange(256)
        elif how < 0.6:
            buf[at:at] = rng.choice([b"\xff", b"\xc3", b"\x00", b"[", b"]", b"\n", b'"', b"=", b"[[", b"9e999"])
        elif how < 0.8:
            del buf[at:at + rng.randint(1, 40)]
        else:
            del buf[at:]
    return bytes(buf)


def _case(rng: random.Random, base: dict[str, Any]) -> bytes:
    doc = copy.deepcopy(base)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if rng.random() < 0.85:
            _mutate_value(rng, doc)
        else:
            _add_key(rng, doc)
    try:
        data = tomli_w.dumps(doc).encode("utf-8")
    except (TypeError, ValueError):  # the writer refuses (e.g. a list of mixed tables): keep it valid TOML
        data = tomli_w.dumps(base).encode("utf-8")
    return _mutate_bytes(rng, data) if rng.random() < 0.25 else data


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"a case ran longer than {ALARM_SECONDS} s")


@pytest.mark.parametrize("chunk", range(4))
def test_fuzzed_profile_and_stores_files_are_answered_in_one_line(tmp_path: Path, chunk: int) -> None:
    rng = random.Random(20261129 + chunk)
    good_profile = tomli_w.dumps(PROFILE).encode("utf-8")
    env = {spec.env: None for spec in SPECS.values()}  # the run's settings come from the files alone
    runner = CliRunner()
    outcomes = {"accepted": 0, "rejected": 0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    began = time.monotonic()
    try:
        for case in range(CASES):
            stores = rng.random() < 0.4
            folder = tmp_path / f"case{case}"
            folder.mkdir()
            if stores:
                (folder / "profile.toml").write_bytes(good_profile)
                path = folder / "stores.toml"
                path.write_bytes(_case(rng, STORES))
                option = "--stores"
            else:
                path = folder / "profile.toml"
                path.write_bytes(_case(rng, PROFILE))
                option = "--profile-file"
            args = ["simulate", "--start", "2025-11-03T09:00:00", "--days", "0.01", "--seed", str(case),
                    "--out", str(folder / "out"), "--quiet", option, str(path)]
            signal.alarm(ALARM_SECONDS)
            try:
                result = runner.invoke(main, args, env=env)
            finally:
                signal.alarm(0)
            where = f"chunk {chunk} case {case}: {path.read_bytes()[:3000]!r}"
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"{where}\nraised {result.exception!r}") from result.exception
            lines = result.stderr.splitlines()
            if result.exit_code == 0:
                assert lines == [], where + "\n" + result.stderr
                assert (folder / "out" / "foot_traffic.jsonl").exists(), where
                outcomes["accepted"] += 1
            else:
                assert result.exit_code == 2, where + "\n" + result.stderr
                assert len(lines) == 1 and lines[0].startswith("foot-traffic: error: "), where + "\n" + result.stderr
                outcomes["rejected"] += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - began
    print(f"chunk {chunk}: {CASES} cases in {elapsed:.1f} s, {outcomes}")
    assert outcomes["accepted"] > CASES // 8 and outcomes["rejected"] > CASES // 8, outcomes
