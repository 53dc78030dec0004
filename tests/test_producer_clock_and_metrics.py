"""PUBLISH_CLOCK keeps sim:now / sim:today moving; /metrics reports what was written."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from datetime import datetime

import orjson
import redis
from prometheus_client.parser import text_string_to_metric_families

from producer.live.produce import run_producer as produce_in_process
from producer.settings import Settings
from tests.producer_run import DOORS, SESSIONS, start_producer, stream_len, wait_for
from tests.redis_server import RedisServer, free_port


def test_the_clock_keys_follow_the_simulation(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    # 3,600x: a simulated hour per wall second; no end, stopped by the test.
    proc = start_producer(redis_server.url, "--sim-start", "2025-11-03T09:00:00", "--seed", "1",
                          "--daily-customers", "100", speed="3600", publish_clock="1")
    try:
        wait_for(lambda: client.get("sim:now") is not None)
        seen = []
        wait_for(lambda: seen.append(client.get("sim:now")) or len(set(seen)) >= 5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    times = [datetime.fromisoformat(t.decode()) for t in dict.fromkeys(seen)]
    assert times == sorted(times), "the clock never goes back"
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)
    # With ~100 visits a day, most updates come from the clock ticks, not from events.
    assert len(times) >= 5 and times[0] >= datetime.fromisoformat("2025-11-03T09:00:00+00:00")
    now = client.get("sim:now").decode()
    assert client.get("sim:today").decode() == now[:10]


def test_metrics_count_what_the_streams_hold(redis_server: RedisServer) -> None:
    port = free_port()
    settings = Settings.load(os.environ | {
        "REDIS_URL": redis_server.url, "SPEED": "1e6", "SIM_START": "2025-11-03", "SEED": "6",
        "DAILY_CUSTOMERS": "700", "METRICS_PORT": str(port), "STREAM_MAXLEN": "100000",
    })
    assert produce_in_process(settings, days="1", install_signals=False) == 0
    client = redis.Redis.from_url(redis_server.url)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("foot_traffic_events_written_total", (("stream", SESSIONS),))] == client.xlen(SESSIONS) == 700
    assert samples[("foot_traffic_events_written_total", (("stream", DOORS),))] == client.xlen(DOORS)
    assert samples[("foot_traffic_lateness_seconds_count", ())] == client.xlen(SESSIONS) + client.xlen(DOORS)
    assert samples[("foot_traffic_lateness_seconds_bucket", (("le", "+Inf"),))] == \
        samples[("foot_traffic_lateness_seconds_count", ())]
    assert samples[("foot_traffic_buffered_events", ())] == 0
    assert samples[("foot_traffic_redis_errors_total", ())] == 0
    assert samples[("foot_traffic_visits_total", ())] == 700
    assert 1762128000 <= samples[("foot_traffic_simulated_time_seconds", ())] < 1762128000 + 86400


def test_the_container_health_check_reads_metrics(redis_server: RedisServer) -> None:
    port = free_port()
    client = redis.Redis.from_url(redis_server.url)
    health = [sys.executable, "-m", "producer.live.health"]
    env = {**os.environ, "METRICS_PORT": str(port)}
    assert subprocess.run(health, env=env, capture_output=True).returncode == 1, "no producer yet"
    proc = start_producer(redis_server.url, "--sim-start", "2025-11-03", "--seed", "1",
                          "--daily-customers", "2000", speed="600", metrics_port=str(port))
    try:
        wait_for(lambda: stream_len(client, SESSIONS) > 0)
        check = subprocess.run(health, env=env, capture_output=True, text=True)
        assert check.returncode == 0 and check.stdout.strip() == "healthy"
        redis_server.stop()
        wait_for(lambda: subprocess.run(health, env=env, capture_output=True).returncode == 1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_the_clock_ends_where_the_run_ends(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    # Fast enough to fall behind, so batches (and clock values) are sent without waiting for replies.
    proc = start_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "1", "--seed", "2",
                          "--daily-customers", "20000", speed="1e6", publish_clock="1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (_, last), = client.xrevrange(DOORS, count=1)
    last_event = datetime.fromisoformat(orjson.loads(last[b"data"])["time"])
    now = datetime.fromisoformat(client.get("sim:now").decode())
    assert last_event <= now < datetime.fromisoformat("2025-11-04T00:00:00+00:00")
    assert client.get("sim:today") == b"2025-11-03"
