"""JSONL and CSV files hold exactly the events' payloads, byte for byte.

The file sink builds its lines a column at a time (``producer/sinks/jsonl.py``).
The references here go one event at a time: ``Session.to_json`` and
``DoorEvent.to_json`` (one ``orjson.dumps`` each: what the live producer
sends to Redis) for JSONL, and Python's ``csv`` module over the same payloads
for CSV. The inputs are awkward on purpose: store ids, labels and customer
ids with quotes, backslashes, control characters and non-ASCII text; several
stores; a daylight-saving change; stores at capacity with queue waits,
turned-away and gave-up customers; more rows than the sink gathers at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from producer.sinks.files import FileSink
from sim import Profile, Simulation, Store
from sim.batch import Batch, Coded, DoorColumns, SessionColumns
from sim.events import ENTRY, GAVE_UP, TURNED_AWAY, DoorEvent, Session
from sim.profile import DEFAULT_PROFILE

AWKWARD = [
    "plain", 'quo"te', "back\\slash", "caf\u00e9 \u2013 \U0001f6d2", "nul\x00", "ctl\x01\x1f\x7f\n\r\t\b\f",
    "\u2028\u2029", "", 'all "\\\x02\u2013',
]
#: Customer ids of one width in bytes (a fixed-width column), some needing escapes.
IDS = [s.encode().ljust(12, b"-") for s in ("id", 'i"d', "i\\d", "\u00e9\u2013", "c\x01", "\U0001f6d2")]
EDGE_TIMES = [0, -1, -86_401, 951_782_400, 253_402_300_799]  # 1970, before it, a leap day, the year 9999

#: The payloads' keys in order (the CSV header).
SESSION_KEYS = ("event_type", "customer_id", "entry_time", "exit_time", "trip_duration_minutes", "weekday",
                "time_slot", "store_id", "queue_seconds")
DOOR_KEYS = ("event_type", "time", "weekday", "time_slot", "customer_id", "store_id")


def write(folder: Path, fmt: str, batches: Sequence[Batch]) -> tuple[bytes, bytes]:
    sink = FileSink(folder / fmt, fmt)
    for batch in batches:
        sink.write(batch)
    sessions, doors = sink.close()
    return sessions.read_bytes(), doors.read_bytes()


def jsonl_reference(batches: Sequence[Batch]) -> tuple[bytes, bytes]:
    return (b"".join(s.to_json() + b"\n" for b in batches for s in b.sessions),
            b"".join(d.to_json() + b"\n" for b in batches for d in b.doors))


def csv_reference(events: Sequence[Session | DoorEvent], keys: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(keys)
    writer.writerows(list(e.payload().values()) for e in events)
    return out.getvalue().encode()


def check_files(tmp_path: Path, batches: Sequence[Batch]) -> None:
    assert write(tmp_path, "jsonl", batches) == jsonl_reference(batches)
    sessions: list[Session | DoorEvent] = [s for b in batches for s in b.sessions]
    doors: list[Session | DoorEvent] = [d for b in batches for d in b.doors]
    csv_sessions, csv_doors = write(tmp_path, "csv", batches)
    assert csv_sessions == csv_reference(sessions, SESSION_KEYS)
    assert csv_doors == csv_reference(doors, DOOR_KEYS)


def awkward_batch(rng: np.random.Generator, n: int, names: np.ndarray, byte_ids: bool) -> Batch:
    """Every string column awkward: coded (a few names and a code per row) or a
    plain object array; customer ids as fixed-width bytes (as the vectorized
    engine has them) or as str (as the SimPy engine has them)."""

    def codes(k: int) -> np.ndarray:
        return rng.integers(0, len(names), k)

    def ids(k: int, as_bytes: bool) -> np.ndarray:
        chosen = np.array(IDS, dtype="S12")[rng.integers(0, len(IDS), k)]
        return chosen if as_bytes else np.array([i.decode() for i in chosen.tolist()], dtype=object)

    entry = np.sort(rng.integers(-3 * 86_400, 2_000_000_000, n))
    sessions = SessionColumns(
        customer_id=ids(n, byte_ids), store_id=Coded.of(names, codes(n)),
        entry=entry, exit=entry + 60 * rng.integers(0, 5_000, n),
        weekday=Coded.of(names, codes(n)), time_slot=names[codes(n)],
        queue_seconds=rng.integers(0, 2**31, n),  # CSV and Parquet hold int32
    )
    time = np.sort(np.concatenate([EDGE_TIMES, rng.integers(-10**9, 10**10, n)]))
    k = len(time)
    doors = DoorColumns(
        event_type=Coded.of(names, codes(k)), time=time, weekday=names[codes(k)],
        time_slot=Coded.of(names, codes(k)), customer_id=ids(k, not byte_ids), store_id=Coded.of(names, codes(k)),
    )
    return Batch(sessions, doors)


def test_awkward_strings_and_times_come_out_as_orjson_writes_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    shared = np.array(AWKWARD, dtype=object)
    batches = [
        awkward_batch(rng, 40, shared, byte_ids=True),
        awkward_batch(rng, 0, shared, byte_ids=False),
        awkward_batch(rng, 25, shared, byte_ids=False),
        # Other names: coded columns that cannot stay coded when the sink gathers batches.
        awkward_batch(rng, 30, np.array(AWKWARD[::-1], dtype=object), byte_ids=True),
    ]
    check_files(tmp_path, batches)


HOURS = Profile(starts=tuple(range(0, 1440, 180)), weights=((1, 2, 3, 4, 5, 6, 3, 1),) * 7, name='h"ours')


def many_stores_over_a_dst_change() -> list[Batch]:
    """Three stores in New York over the night clocks go forward; more rows than the sink gathers at once."""
    ids = ['caf\u00e9 "north" \\ \x01', "plain", "tab\there \u2013"]
    stores = tuple(Store(store_id=s, timezone="America/New_York", baseline=4_000, profile=p)
                   for s, p in zip(ids, (HOURS, DEFAULT_PROFILE, HOURS), strict=True))
    run = Simulation.of("2025-03-08", days=3, seed=7, stores=stores)
    assert run.pick_engine() == "fast"
    batches = list(run.batches())
    assert sum(len(b.doors) for b in batches) > 64 * 1024  # more than the sink gathers at once
    return batches


def stores_at_capacity() -> list[Batch]:
    """A queue with patience (Rome, over its clock change) and a loss store; rejected customers written."""
    stores = (Store(store_id='q"ueue', capacity=3, patience=600, baseline=400, timezone="Europe/Rome"),
              Store(store_id="lo\\ss", capacity=2, capacity_mode="loss", baseline=400))
    batches = list(Simulation.of("2025-03-29", days=2, seed=8, stores=stores).batches(rejected=True))
    kinds = {k for b in batches for k in b.doors.event_type.tolist()}
    assert {ENTRY, TURNED_AWAY, GAVE_UP} <= kinds
    assert any(b.sessions.queue_seconds.any() for b in batches)
    return batches


@pytest.mark.parametrize("case", [many_stores_over_a_dst_change, stores_at_capacity])
def test_whole_runs_come_out_as_the_events_payloads(tmp_path: Path, case: Callable[[], list[Batch]]) -> None:
    check_files(tmp_path, case())
