"""Helpers for tests of per-store streams (``STREAM_PER_STORE``): twelve stores, their offline lines, checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

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
