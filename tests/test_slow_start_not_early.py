"""A new run with SIM_START whose start is slow writes nothing before its time.

A new run's clock starts once the model's first step is made (the first day
drawn: :meth:`~producer.live.run.Run.anchor`), but the run record was written
with a first anchor when the run was created. A chain's start took seconds
between the two (10,000 stores on 5 shards: 5 s), and the backfill phase, on
the first anchor, found those seconds "due" and wrote them; the second anchor
then made each of them due seconds later: written early, then made again by
the model and skipped. The stall is injected where it happened, between the
run record's creation and the backfill. Every XADD is read as Redis executed
it (``MONITOR``) against the instant its entry is due on the run's final
anchor (the run record's ``wall_start``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis

from producer.live.produce import run_producer
from producer.live.run import LiveRun
from producer.settings import Settings
from sim.run import to_epoch
from tests.monitored import monitor_xadds
from tests.redis_server import RedisServer

START = "2025-11-03T12:00:00"
#: Seconds the start stalls before the backfill phase (above the backfill's 1 s threshold at SPEED=1).
STALL = 1.6


def test_a_stall_before_the_backfill_writes_nothing_early(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    real = LiveRun.backfill

    def stalled(self: LiveRun, run: Any) -> Any:
        time.sleep(STALL)
        return real(self, run)

    monkeypatch.setattr(LiveRun, "backfill", stalled)
    client = redis.Redis.from_url(redis_server.url)
    adds, unread = monitor_xadds(client)  # (server time executed, the entry's second)
    settings = Settings.load({"REDIS_URL": redis_server.url, "SIM_START": START, "SPEED": "1", "SEED": "8",
                              "DAILY_CUSTOMERS": "300000", "STREAM_MAXLEN": "1000000", "LOG_LEVEL": "INFO"})
    with caplog.at_level(logging.INFO, logger="producer"):
        code = run_producer(settings, until="2025-11-03T12:00:04", given=("sim_start", "speed", "seed"),
                            install_signals=False)
    assert code == 0
    wall_start = float(client.hget("foot_traffic:run", "wall_start") or 0)
    deadline = time.monotonic() + 30
    written = client.xlen("foot_traffic") + client.xlen("foot_traffic:realistic")
    while len(adds) < written and time.monotonic() < deadline:  # MONITOR's last lines
        time.sleep(0.05)
    assert not unread and written > 20 and len(adds) == written, (unread[:3], written, len(adds))
    sim_start = to_epoch(START)
    early = [(second - sim_start, wall_start + second - sim_start - at) for at, second in adds
             if at < wall_start + (second - sim_start) - 0.005]  # 5 ms: the wall clock read against the monotonic
    assert not early, f"written before their time (second of the run, seconds early): {early[:5]}"
    assert "backfilling" not in caplog.text, "nothing is due before a new run's clock starts"
