"""Live: a profile with scenarios gives the offline run's events, scenarios applied (labels: test_producer_labels.py)."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, run_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

#: A surge, a slow checkout and an early closure across midnight, and a surge drawn at a rate.
TABLES = """[[scenarios]]
kind = "surge"
factor = 3
start = "2025-11-03T21:00"
end = "2025-11-03T23:30"

[[scenarios]]
kind = "slow_checkout"
factor = 2
start = "2025-11-04T09:00"
end = "2025-11-04T12:00"

[[scenarios]]
kind = "early_closure"
start = "2025-11-04T18:00"

[[scenarios]]
kind = "surge"
factor = 2
per_month = 30
minutes = 90
"""


def test_live_streams_with_scenarios_equal_the_offline_jsonl_files(redis_server: RedisServer, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, profile_text(tables=TABLES))
    span = ["--seed", "23", "--days", "1.5", "--profile-file", str(profile), "--daily-customers", "1500"]
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03T20:00:00", *span, speed="1e6")
    assert done.returncode == 0, done.stderr
    sessions, doors = offline(tmp_path, "--start", "2025-11-03T20:00:00", *span)
    plain, _ = offline(tmp_path / "plain", "--start", "2025-11-03T20:00:00", *span[:4], "--daily-customers", "1500")
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 1000 and sessions != plain  # the scenarios changed the day
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
