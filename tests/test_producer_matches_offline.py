"""The producer writes exactly the events ``foot-traffic simulate`` writes, line for line.

Same seed, start, span and traffic settings; only the pacing differs, so at
a high SPEED the two streams must equal the two JSONL files byte for byte,
in the same order. The simulated span crosses midnight, so day boundaries,
exits after midnight and the next day's draw are all covered.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, read_stream, run_producer
from tests.redis_server import RedisServer

ARGS = ("--seed", "11", "--daily-customers", "1500")


def test_streams_equal_the_offline_jsonl_files(redis_server: RedisServer, tmp_path: Path) -> None:
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03T20:00:00", "--days", "1.5", *ARGS,
                        speed="1e6")
    assert done.returncode == 0, done.stderr
    sessions, doors = offline(tmp_path, "--start", "2025-11-03T20:00:00", "--days", "1.5", *ARGS)
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 1000 and len(doors) > len(sessions)
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors


def test_entry_ids_come_from_the_event_time(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "1", *ARGS, speed="1e6")
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    for name, time_field in ((SESSIONS, "entry_time"), (DOORS, "time")):
        entries = read_stream(client, name)
        ids = [tuple(int(x) for x in eid.split(b"-")) for eid, _ in entries]
        assert ids == sorted(set(ids)), "ids strictly increasing"
        seq_expected, previous = [], None
        for eid, fields in entries:
            event = orjson.loads(fields[b"data"])
            ms = int(eid.split(b"-")[0])
            assert ms == int(datetime.fromisoformat(event[time_field]).timestamp()) * 1000
            seq_expected.append(0 if ms != previous else seq_expected[-1] + 1)
            previous = ms
        assert [seq for _, seq in ids] == seq_expected
