"""Live: a profile with groups gives the offline events; with a [sensor] table the true ones are on their own stream.

The sensor's own streams are checked in tests/test_producer_sensor.py.
"""

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
    sessions, doors = offline(tmp_path, "--start", "2025-11-03T10:00:00", *span, "--sensor", "off")
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 1000
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, f"{DOORS}:true") == doors  # the sensor's records take DOORS
