"""Live: a profile with groups gives the offline events; a [sensor] table is said to be unused (issue 12)."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, run_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

TABLES = """[groups]
sizes = {1 = 0.6, 2 = 0.3, 3 = 0.07, 4 = 0.03}
spread = 8
together = 0.7

[sensor]
miss_in = 0.05
delay_median = 3
"""


def test_live_streams_with_groups_equal_the_offline_true_events(redis_server: RedisServer, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, profile_text(tables=TABLES))
    span = ["--seed", "12", "--days", "1", "--profile-file", str(profile), "--default-daily-customers", "3000"]
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03T10:00:00", *span, speed="1e6")
    assert done.returncode == 0, done.stderr
    assert "the profile's [sensor] table is not used live yet" in done.stderr
    sessions, doors = offline(tmp_path, "--start", "2025-11-03T10:00:00", *span, "--sensor", "off")
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 1000
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
