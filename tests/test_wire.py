"""The one wire encoder (sim/wire.py) against the reference: ``orjson.dumps`` of each payload, one at a time.

Every encoder path (columns of the fast engine, of the SimPy model, object
and fixed-width customer ids, ids that need escaping, the sensor's records
with milliseconds, interval counts, single events' ``to_json``) on awkward
strings: a quote, a backslash, a control character and the en dash (raw UTF-8)
in store ids, times over a midnight and far apart.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson

from sim import wire
from sim.batch import DoorColumns, SessionColumns
from sim.run import Simulation
from sim.sensor_stream import CountColumns, SensorLayer
from sim.store import Store

AWKWARD = ['a"b', "back\\slash", "tab\there", "en–dash", "plain"]


def _reference_sessions(s: SessionColumns) -> list[bytes]:
    return [orjson.dumps(wire.session_payload(c, wire.iso(e), wire.iso(x), (x - e) // 60, w, t, st, q))
            for c, e, x, w, t, st, q in zip(
                [v.decode() if isinstance(v, bytes) else v for v in s.customer_id.tolist()], s.entry.tolist(),
                s.exit.tolist(), s.weekday.tolist(), s.time_slot.tolist(), s.store_id.tolist(),
                s.queue_seconds.tolist(), strict=True)]


def _reference_doors(d: DoorColumns) -> list[bytes]:
    return [orjson.dumps(wire.door_payload(k, wire.iso(t), w, s, c, st))
            for k, t, w, s, c, st in zip(
                d.event_type.tolist(), d.time.tolist(), d.weekday.tolist(), d.time_slot.tolist(),
                [v.decode() if isinstance(v, bytes) else v for v in d.customer_id.tolist()], d.store_id.tolist(),
                strict=True)]


def _run(engine: str) -> list:
    stores = [Store(store_id=name, daily_customers=2000) for name in AWKWARD]
    return list(Simulation.of("2025-11-03T20:00:00", days=0.5, seed=4, stores=stores).batches(engine))  # type: ignore[arg-type]


def test_columns_and_single_events_equal_orjson_of_the_payloads() -> None:
    checked = 0
    for engine in ("fast", "simpy"):
        for batch in _run(engine):
            want_s, want_d = _reference_sessions(batch.sessions), _reference_doors(batch.doors)
            assert wire.session_lines(batch.sessions) == batch.sessions.json_lines() == want_s
            assert wire.door_lines(batch.doors) == batch.doors.json_lines() == want_d
            assert [s.to_json() for s in batch.sessions] == want_s
            assert [d.to_json() for d in batch.doors] == want_d
            checked += len(batch)
    assert checked > 10_000


def test_customer_ids_that_need_escaping_and_times_far_apart() -> None:
    ids = np.array(['q"1', "back\\2", "ctl\x013", "é4", "plain5"], dtype=object)
    entry = np.array([0, 86_399, 951_782_400, 1_762_156_799, 4_102_444_800], dtype=np.int64)
    obj = np.array(AWKWARD, dtype=object)
    s = SessionColumns(customer_id=ids, store_id=obj, entry=entry, exit=entry + 61 * 60, weekday=obj,
                       time_slot=obj[::-1].copy(), queue_seconds=np.array([0, 5, 0, 7, 0], dtype=np.int64))
    d = DoorColumns(event_type=np.array(["entry", "exit", "gave_up", "turned_away", "entry"], dtype=object),
                    time=entry, weekday=obj, time_slot=obj, customer_id=ids, store_id=obj)
    assert wire.session_lines(s) == _reference_sessions(s)
    assert wire.door_lines(d) == _reference_doors(d)
    fixed = np.array([b"0123456789abcdef0123456789abcdef"] * 5, dtype="S32")
    d2 = DoorColumns(d.event_type, d.time, d.weekday, d.time_slot, fixed, d.store_id)
    assert wire.door_lines(d2) == _reference_doors(d2)
    assert wire.door_lines(DoorColumns(*(a[:0] for a in (d.event_type, d.time, obj, obj, ids, obj)))) == []


def test_sensor_records_and_counts_equal_orjson_of_the_payloads() -> None:
    stores = [Store(store_id=name, daily_customers=2000) for name in AWKWARD]
    run = Simulation.of("2025-11-03T20:00:00", days=0.5, seed=4, stores=stores)
    layer = SensorLayer(4, run.stores, run.start, run.end, interval=420)
    records, counts = [], []
    for batch in run.batches():
        r, c = layer.process(batch.doors)
        records.append(r)
        counts.append(c)
    r, c = layer.close()
    records.append(r)
    counts.append(c)
    n = 0
    for r in records:
        # A perfect sensor's delay is 0: milliseconds other than .000 come from a nonzero delay, so add some.
        r.sent_at = r.sent_at + np.arange(len(r)) % 1000
        want = [orjson.dumps(wire.sensor_payload(k, wire.iso(t), w, s, cid, st, wire.iso_ms(np.array([ms]))[0], rd))
                for k, t, w, s, cid, st, ms, rd in zip(
                    r.event_type.tolist(), r.time.tolist(), r.weekday.tolist(), r.time_slot.tolist(),
                    r.customer_id.tolist(), r.store_id.tolist(), r.sent_at.tolist(), r.reading.tolist(), strict=True)]
        assert r.json_lines() == want
        n += len(r)
    m = 0
    for c in counts:
        assert isinstance(c, CountColumns)
        want = [orjson.dumps(wire.count_payload(st, wire.iso(a), wire.iso(b), i, o))
                for st, a, b, i, o in zip(c.store_id.tolist(), c.interval_start.tolist(), c.interval_end.tolist(),
                                          c.entries.tolist(), c.exits.tolist(), strict=True)]
        assert c.json_lines() == want
        m += len(c)
    assert n > 5_000 and m > 100


def test_the_encoder_imports_no_pyarrow() -> None:
    code = "import sys, sim.wire, sim.events, sim.batch; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
