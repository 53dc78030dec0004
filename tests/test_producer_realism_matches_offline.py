"""Capacity, many stores and local time give the same events live as offline.

Every realism feature runs in the real-time producer through the same
StoreModel; at a high SPEED its streams must equal ``simulate``'s JSONL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.producer_run import DOORS, SESSIONS, offline, payloads, run_producer
from tests.redis_server import RedisServer

STORES = """
[[stores]]
id = "rome"
timezone = "Europe/Rome"
capacity = 60
patience_minutes = 5

[[stores]]
id = "new-york"
timezone = "America/New_York"
daily_customers = 2000
"""

CASES = {
    "loss, rejected written": ["--daily-customers", "3000", "--store-capacity", "60", "--capacity-mode", "loss",
                               "--write-rejected"],
    "queue with patience": ["--daily-customers", "3000", "--store-capacity", "70", "--patience-minutes", "5",
                            "--write-rejected"],
    "two stores, two zones, a DST day": ["--stores", "{stores}", "--default-daily-customers", "2500"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_live_streams_equal_offline_files(redis_server: RedisServer, tmp_path: Path, case: str) -> None:
    (tmp_path / "stores.toml").write_text(STORES)
    args = [a.format(stores=tmp_path / "stores.toml") for a in CASES[case]]
    span = ["--seed", "21", "--days", "1"]
    done = run_producer(redis_server.url, "--sim-start", "2025-03-29T22:00:00", *span, *args, speed="1e6")
    assert done.returncode == 0, done.stderr
    sessions, doors = offline(tmp_path, "--start", "2025-03-29T22:00:00", *span, *args)
    client = redis.Redis.from_url(redis_server.url)
    assert len(sessions) > 1000
    assert payloads(client, SESSIONS) == sessions
    assert payloads(client, DOORS) == doors
    if "--write-rejected" in args:
        assert any(b'"turned_away"' in d or b'"gave_up"' in d for d in doors)
