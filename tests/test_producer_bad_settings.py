"""Bad input ends the producer with one line naming the setting, and a non-zero exit."""

from __future__ import annotations

import pytest
import redis
from click.testing import CliRunner

from producer.cli import main
from tests.producer_run import SESSIONS, one_line, produce_env, run_producer
from tests.redis_server import RedisServer, free_port

SPAN = ("--sim-start", "2025-11-03", "--days", "0.25")


@pytest.mark.parametrize(("setting", "value", "names"), [
    ("speed", "abc", "SPEED='abc'"),
    ("speed", "0", "SPEED='0'"),
    ("stream_maxlen", "-5", "STREAM_MAXLEN='-5'"),
    ("daily_customers", "abc", "DAILY_CUSTOMERS='abc'"),
    ("buffer_max", "0", "BUFFER_MAX='0'"),
    ("redis_url", "http://x", "REDIS_URL='http://x'"),
    ("sim_start", "yesterday", "SIM_START='yesterday'"),
    ("publish_clock", "maybe", "PUBLISH_CLOCK='maybe'"),
])
def test_a_malformed_setting_is_one_line_and_exit_2(setting: str, value: str, names: str) -> None:
    done = CliRunner().invoke(main, ["produce", "--days", "1"], env=produce_env("redis://127.0.0.1:1/0", **{setting: value}))
    assert done.exit_code == 2
    assert names in one_line(done.stderr)


def test_malformed_days_names_the_option() -> None:
    done = CliRunner().invoke(main, ["produce", "--days", "soon"], env=produce_env("redis://127.0.0.1:1/0"))
    assert done.exit_code == 2 and "--days='soon'" in one_line(done.stderr)


def test_python_m_producer_is_the_same_command() -> None:
    done = run_producer("redis://127.0.0.1:1/0", "--days", "1", speed="fast")
    assert done.returncode == 2 and "SPEED='fast'" in one_line(done.stderr)


def test_unreachable_redis_gives_up_after_the_connect_timeout() -> None:
    done = run_producer(f"redis://127.0.0.1:{free_port()}/0", *SPAN, redis_connect_timeout="0.5")
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "unreachable" in line and "REDIS_CONNECT_TIMEOUT" in line
    assert "retrying in" in done.stderr, "each attempt is logged"


def test_settings_contradicting_the_stored_run_need_fresh(redis_server: RedisServer) -> None:
    first = run_producer(redis_server.url, *SPAN, "--seed", "1", "--daily-customers", "300", speed="1e6")
    assert first.returncode == 0, first.stderr
    for args, named in [
        (("--seed", "2", "--daily-customers", "300"), "SEED=2"),
        (("--sim-start", "2025-11-04", "--days", "1", "--daily-customers", "300"), "SIM_START=2025-11-04"),
        (("--daily-customers", "500"), "DAILY_CUSTOMERS=500"),
        (("--traffic-multiplier", "2", "--daily-customers", "300"), "TRAFFIC_MULTIPLIER=2.0"),
    ]:
        done = run_producer(redis_server.url, "--days", "1", *args, speed="1e6")
        assert done.returncode == 2, done.stderr
        line = one_line(done.stderr)
        assert named in line and "--fresh" in line, line
    fresh = run_producer(redis_server.url, *SPAN, "--seed", "2", "--daily-customers", "500", "--fresh",
                         speed="1e6")
    assert fresh.returncode == 0, fresh.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert client.hget("foot_traffic:run", "seed") == b"2"


def test_foreign_entries_in_the_streams_are_not_silently_skipped(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.xadd(SESSIONS, {"data": "{}", "key": "x"}, id="1762300000000-0")  # 2025-11-04T23:46:40Z
    done = run_producer(redis_server.url, *SPAN, "--seed", "1", speed="1e6")
    assert done.returncode == 2
    assert "already holds entries" in one_line(done.stderr)
    assert client.xlen(SESSIONS) == 1
    # --fresh replaces them: the new run's ids start before the foreign entry.
    done = run_producer(redis_server.url, *SPAN, "--seed", "1", "--fresh", speed="1e6")
    assert done.returncode == 0, done.stderr
    assert client.xrange(SESSIONS, "1762300000000-0", "+") == []
    assert client.xlen(SESSIONS) > 0


def test_a_new_run_after_another_runs_entries_needs_fresh(redis_server: RedisServer) -> None:
    """Streams holding an earlier run's entries (its record gone): one line without --fresh; --fresh replaces them."""
    first = run_producer(redis_server.url, "--sim-start", "2025-11-01", "--days", "1", "--seed", "1",
                         "--daily-customers", "300", speed="1e6")
    assert first.returncode == 0, first.stderr
    client = redis.Redis.from_url(redis_server.url)
    client.delete("foot_traffic:run")
    later = ("--sim-start", "2025-11-03", "--days", "1", "--seed", "2", "--daily-customers", "300")
    done = run_producer(redis_server.url, *later, speed="1e6")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "already holds entries up to 2025-11-0" in line and "before this run's start" in line, line
    assert "--fresh" in line
    fresh = run_producer(redis_server.url, *later, "--fresh", speed="1e6")
    assert fresh.returncode == 0, fresh.stderr
    first_id = client.xrange(SESSIONS, count=1)[0][0]
    assert int(first_id.split(b"-")[0]) >= 1762128000000  # 2025-11-03T00:00Z: the old run is gone
    assert client.hget("foot_traffic:run", "seed") == b"2"
