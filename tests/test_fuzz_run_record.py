"""Fuzzing the run record (``<REDIS_STREAM>:run``): a corrupt one is one line, never a traceback or a hang.

Seeded mutations of a valid record (values replaced by junk, huge, negative,
non-finite or non-ASCII text; fields dropped or added; the traffic JSON
mangled) are read back and resumed in process. Each must either give a run
or raise the one-line errors the command line turns into exit 1 or 2.
"""

from __future__ import annotations

import json
import random

from producer.live.runstate import RunRecordError, RunState, resolve
from producer.settings import Settings, SettingsError

KEY = "foot_traffic:run"
JUNK = ["", "0", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "9" * 40, "x", "wall", "redis", "null", "[]",
        "{}", "\x00", "é", "2025-11-03", "1.5", "true", '{"a": 1}', "2", "1"]


def mutate(record: dict[str, str], rng: random.Random) -> dict[str, str]:
    out = dict(record)
    for _ in range(rng.randint(1, 3)):
        field = rng.choice([*out, "extra"])
        roll = rng.random()
        if roll < 0.15:
            out.pop(field, None)
        elif roll < 0.3 and field == "traffic":
            traffic = json.loads(record["traffic"])
            name = rng.choice(list(traffic))
            traffic[name] = rng.choice([None, 1, -1, 1e308, "x", [1, [2]], {"a": 1}, True])
            out["traffic"] = json.dumps(traffic)
        elif roll < 0.4:
            out[field] = out.get(field, "")[: rng.randint(0, 8)]
        else:
            out[field] = rng.choice(JUNK)
    return out


def test_mutated_run_records_are_one_line_or_a_run() -> None:
    settings = Settings.load({"DAILY_CUSTOMERS": "100", "SEED": "5"})
    good, _ = resolve(None, settings, 1_762_128_000, {"seed"}, False, now=1_762_128_000.0, key=KEY)
    record = good.to_hash()
    rng = random.Random(20261129)
    outcomes = {"run": 0, "refused": 0}
    for _ in range(3_000):
        values = mutate(record, rng)
        try:
            stored = RunState.from_hash(values, KEY)
            resolve(stored, Settings.load({"DAILY_CUSTOMERS": "100"}), None, set(), False, now=1_762_130_000.0,
                    key=KEY)
            outcomes["run"] += 1
        except (RunRecordError, SettingsError) as exc:
            assert "\n" not in str(exc) and KEY in str(exc) or "differ" in str(exc), (values, exc)
            outcomes["refused"] += 1
    assert outcomes["run"] > 100 and outcomes["refused"] > 1_000, outcomes
