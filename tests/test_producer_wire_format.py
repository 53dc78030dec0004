"""The wire format of SPEC.md, field by field, as the bridge and Spark jobs read it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import redis

from tests.producer_run import DOORS, SESSIONS, read_stream, run_producer
from tests.redis_server import RedisServer

SESSION_FIELDS = {
    "event_type": str, "customer_id": str, "entry_time": str, "exit_time": str,
    "trip_duration_minutes": int, "weekday": str, "time_slot": str,
}
DOOR_FIELDS = {"event_type": str, "time": str, "weekday": str, "time_slot": str}
WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
SLOTS = {"00:00\u201306:59", "07:00\u201309:59", "10:00\u201313:59", "14:00\u201316:59",
         "17:00\u201319:59", "20:00\u201323:59"}


def _utc(text: str) -> datetime:
    assert text.endswith("+00:00"), text
    when = datetime.fromisoformat(text)
    assert when.utcoffset() == UTC.utcoffset(None)
    return when


def test_entries_carry_data_and_key_in_the_old_format(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--sim-start", "2025-11-07", "--days", "1", "--seed", "3",
                        "--daily-customers", "400", speed="1e6", redis_stream="foot_traffic")
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert set(client.keys("*")) == {b"foot_traffic", b"foot_traffic:realistic", b"foot_traffic:run"}
    sessions = read_stream(client, SESSIONS)
    doors = read_stream(client, DOORS)
    assert len(sessions) == 400 and len(doors) >= 2 * 400 - 40  # exits after midnight are not in the span

    by_customer = {}
    for _, fields in sessions:
        assert set(fields) == {b"data", b"key"}
        event = orjson.loads(fields[b"data"])
        for name, kind in SESSION_FIELDS.items():
            assert type(event[name]) is kind, name
        assert list(event)[:7] == list(SESSION_FIELDS), "old fields first, in the old order"
        assert event["event_type"] == "foot_traffic"
        assert fields[b"key"].decode() == event["customer_id"]
        entry, exit_ = _utc(event["entry_time"]), _utc(event["exit_time"])
        assert event["trip_duration_minutes"] == (exit_ - entry).total_seconds() // 60 >= 10
        assert event["weekday"] == entry.strftime("%A") == "Friday"
        assert event["time_slot"] in SLOTS
        by_customer[event["customer_id"]] = event

    seen: dict[str, list[str]] = {}
    for _, fields in doors:
        assert set(fields) == {b"data", b"key"}
        event = orjson.loads(fields[b"data"])
        for name, kind in DOOR_FIELDS.items():
            assert type(event[name]) is kind, name
        assert list(event)[:4] == list(DOOR_FIELDS)
        cid = fields[b"key"].decode()
        assert event["customer_id"] == cid
        visit = by_customer[cid]
        at = _utc(event["time"])
        assert event["weekday"] == at.strftime("%A") and event["weekday"] in WEEKDAYS
        assert event["time_slot"] in SLOTS
        expected = visit["entry_time"] if event["event_type"] == "entry" else visit["exit_time"]
        assert event["time"] == expected
        seen.setdefault(cid, []).append(event["event_type"])
    assert all(kinds in (["entry"], ["entry", "exit"]) for kinds in seen.values())
    assert len(seen) == 400


def test_streams_are_capped_approximately(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--sim-start", "2025-11-07", "--days", "1", "--seed", "3",
                        "--daily-customers", "3000", speed="1e6", stream_maxlen="500")
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    info = client.xinfo_stream(SESSIONS)
    assert info["entries-added"] == 3000
    # MAXLEN ~ trims whole macro nodes (100 entries by default): at least 500 kept, never much more.
    assert 500 <= client.xlen(SESSIONS) < 500 + 200
    assert 500 <= client.xlen(DOORS) < 500 + 200
