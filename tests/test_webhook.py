"""The interval counts pushed to a webhook: at least once, signed, idempotent, bounded, nothing lost.

A real ``produce`` (a subprocess) on a real redis-server POSTs to a real
HTTP endpoint on loopback (:mod:`tests.webhook_server`) that refuses, resets
connections, delays (so batches overtake one another) and loses its answers
(so batches arrive twice). Every check compares with the offline run of the
same seed: de-duplicated by idempotency key, what the endpoint took is
exactly ``foot_traffic_counts.jsonl``, each record once.
"""

from __future__ import annotations

import hashlib
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from producer.live.webhook import Poster, verify
from tests.producer_run import one_line, run_producer, wait_for, watch_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer
from tests.test_producer_sensor import SENSOR, offline_files
from tests.webhook_server import FaultyEndpoint, Taken

SECRET = "s3cret-for-the-tests"
COUNTS = "foot_traffic:counts"
#: Five stores on one set of streams: five count entries per interval end, batches of two (2 + 2 + 1).
STORES = "".join(f"""
[[stores]]
id = "door-{k}"
baseline = {300 + 100 * k}
profile = "sensor.toml"
""" for k in range(5))
SPAN = ("--sim-start", "2025-11-03T06:00:00", "--days", "1", "--seed", "17")
#: Retries after 0.02 s doubling to at most 0.2 s (the defaults, 0.5 s to 30 s, make these tests minutes long).
SETTINGS = {"count_interval": "10", "webhook_batch": "2", "counter_webhook_secret": SECRET,
            "webhook_retry_first": "0.02", "webhook_retry_max": "0.2"}


@pytest.fixture(scope="module")
def offline_counts(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The offline run of SPAN's counts, computed once for the module's tests (the same stores, the same seed)."""
    tmp = tmp_path_factory.mktemp("webhook-offline")
    return _offline_counts(tmp, _stores(tmp))


@pytest.fixture
def endpoint() -> Iterator[FaultyEndpoint]:
    server = FaultyEndpoint(seed=3).start()
    yield server
    server.stop()


def _stores(tmp: Path) -> Path:
    write_profile(tmp, profile_text(tables=SENSOR.format(mode="hold", median=20)), "sensor.toml")
    path = tmp / "stores.toml"
    path.write_text(STORES, encoding="utf-8")
    return path


def _offline_counts(tmp: Path, stores: Path) -> list[bytes]:
    start, days, seed = SPAN[1], SPAN[3], SPAN[5]
    files = offline_files(tmp, "--start", start, "--days", days, "--seed", seed, "--stores", str(stores),
                          "--count-interval", SETTINGS["count_interval"])
    return files["foot_traffic_counts"]


def _deduplicated(taken: list[Taken]) -> list[bytes]:
    """The records of each idempotency key once; every POST's signature and key checked."""
    bodies: dict[str, bytes] = {}
    for t in taken:
        assert verify(SECRET, t.body, t.signature), t.key
        assert t.key == hashlib.sha256(t.body).hexdigest()
        assert bodies.setdefault(t.key, t.body) == t.body  # one key, one body
        assert int(t.records) == len(orjson.loads(t.body))
    return [orjson.dumps(r) for body in bodies.values() for r in orjson.loads(body)]


def _assert_exactly_the_offline_records(taken: list[Taken], want: list[bytes]) -> None:
    got = _deduplicated(taken)
    assert len(want) == 5 * 144
    assert len(got) == len(want) and Counter(got) == Counter(want)  # each record once, none missing, none extra


def _reordered(taken: list[Taken]) -> bool:
    """Whether some batch arrived after a batch of a later interval (delivery order not kept)."""
    ends = [orjson.loads(t.body)[0]["interval_end"] for t in sorted(taken, key=lambda t: t.at)]
    return any(b < a for a, b in zip(ends, ends[1:], strict=False))


def test_every_record_arrives_and_deduplicated_they_are_the_offline_counts(
        redis_server: RedisServer, endpoint: FaultyEndpoint, offline_counts: list[bytes], tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    done = run_producer(redis_server.url, *SPAN, "--stores", str(stores), timeout=240, speed="1e6",
                        counter_webhook_url=endpoint.url, **SETTINGS)
    assert done.returncode == 0, done.stderr
    taken, want = endpoint.taken_now(), offline_counts
    _assert_exactly_the_offline_records(taken, want)
    # What the test is about happened: refusals, resets, duplicates (lost answers), batches overtaking.
    assert all(endpoint.fates[f] > 5 for f in ("refused", "reset", "slow", "answer lost")), endpoint.fates
    assert len(taken) > len({t.key for t in taken}), "no batch was delivered twice"
    assert _reordered(taken)
    assert set(Counter(t.records for t in taken)) == {"1", "2"}  # batches of two, and the fifth store alone
    # The stream holds the same records, written exactly once as always.
    client = redis.Redis.from_url(redis_server.url)
    assert [f[b"data"] for _, f in client.xrange(COUNTS)] == want


def test_nothing_is_lost_across_a_kill_9_and_a_restart(
        redis_server: RedisServer, endpoint: FaultyEndpoint, offline_counts: list[bytes], tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    client = redis.Redis.from_url(redis_server.url)
    first = watch_producer(redis_server.url, *SPAN, "--stores", str(stores), speed="5000",
                           counter_webhook_url=endpoint.url, **SETTINGS)
    wait_for(lambda: len(endpoint.taken_now()) > 100 and client.hget("foot_traffic:webhook", f"acked:{COUNTS}"),
             timeout=120)
    first.proc.send_signal(signal.SIGKILL)
    first.finish()
    before = len(endpoint.taken_now())
    acked = client.hget("foot_traffic:webhook", f"acked:{COUNTS}")
    assert acked is not None and client.xlen(COUNTS) < 5 * 144, "killed before the run's end"
    again = run_producer(redis_server.url, *SPAN[2:], "--stores", str(stores), timeout=240, speed="1e6",
                         counter_webhook_url=endpoint.url, **SETTINGS)
    assert again.returncode == 0, again.stderr
    assert "re-anchored run: seed 17" in again.stderr  # the run continued (at another speed), not a new one
    taken = endpoint.taken_now()
    assert len(taken) > before
    _assert_exactly_the_offline_records(taken, offline_counts)


def test_a_down_endpoint_holds_the_producer_back_within_the_bound(
        redis_server: RedisServer, endpoint: FaultyEndpoint, offline_counts: list[bytes], tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    client = redis.Redis.from_url(redis_server.url)
    endpoint.down()
    producer = watch_producer(redis_server.url, *SPAN, "--stores", str(stores), speed="1e6",
                              counter_webhook_url=endpoint.url, webhook_buffer_max="23", **SETTINGS)
    producer.wait_for_log("unacknowledged (WEBHOOK_BUFFER_MAX): waiting for it", timeout=120)
    wait_for(lambda: client.xlen(COUNTS) >= 23, timeout=60)  # the bound's worth reaches Redis ...
    assert client.xlen(COUNTS) == 23  # ... and not one more while the endpoint is down
    assert producer.proc.poll() is None and not endpoint.taken_now()
    endpoint.up()
    _, err = producer.finish(timeout=240)
    assert producer.proc.returncode == 0, err
    assert "takes records again: resuming" in err
    _assert_exactly_the_offline_records(endpoint.taken_now(), offline_counts)


def test_a_fresh_run_sends_its_records_from_its_first(
        redis_server: RedisServer, endpoint: FaultyEndpoint, tmp_path: Path) -> None:
    """The acknowledged position belongs to its run: ``--fresh`` (the same ids, other records) starts over."""
    stores = _stores(tmp_path)
    short = [*SPAN[:3], "0.25", "--seed"]
    for seed in ("17", "18"):
        done = run_producer(redis_server.url, *short, seed, "--stores", str(stores), "--fresh", timeout=240,
                            speed="1e6", counter_webhook_url=endpoint.url, **SETTINGS)
        assert done.returncode == 0, done.stderr
    for seed in ("17", "18"):
        (tmp_path / seed).mkdir()
    runs = [offline_files(tmp_path / seed, "--start", SPAN[1], "--days", "0.25", "--seed", seed, "--stores",
                          str(stores), "--count-interval", SETTINGS["count_interval"])["foot_traffic_counts"]
            for seed in ("17", "18")]
    assert len(runs[0]) == len(runs[1]) == 5 * 36 and runs[0] != runs[1]
    # (Two runs may share a line, a quiet interval's: de-duplicated by key, compared as sets.)
    assert set(_deduplicated(endpoint.taken_now())) == set(runs[0]) | set(runs[1])
    assert set(runs[1]) - set(runs[0]), "the second run's own records arrived"


@pytest.mark.parametrize(("settings", "said"), [
    ({"counter_webhook_url": "http://127.0.0.1:9/x"}, "COUNTER_WEBHOOK_URL needs COUNTER_WEBHOOK_SECRET"),
    ({"counter_webhook_secret": "x"}, "COUNTER_WEBHOOK_SECRET without COUNTER_WEBHOOK_URL"),
    ({"counter_webhook_url": "ftp://host/x", "counter_webhook_secret": "x"}, "COUNTER_WEBHOOK_URL"),
    ({"counter_webhook_url": "http://h/x", "counter_webhook_secret": "x", "webhook_batch": "0"}, "WEBHOOK_BATCH"),
    ({"counter_webhook_url": "http://h/x", "counter_webhook_secret": "x", "webhook_buffer_max": "30000"},
     "WEBHOOK_BUFFER_MAX=30000 is above STREAM_MAXLEN=20000"),
    ({"counter_webhook_url": "http://h/x", "counter_webhook_secret": "x", "webhook_retry_first": "0"},
     "WEBHOOK_RETRY_FIRST"),
    ({"counter_webhook_url": "http://h/x", "counter_webhook_secret": "x", "webhook_retry_max": "1e9"},
     "WEBHOOK_RETRY_MAX"),
    ({"counter_webhook_url": "http://h/x", "counter_webhook_secret": "x", "webhook_retry_first": "5",
      "webhook_retry_max": "2"}, "WEBHOOK_RETRY_FIRST=5 is above WEBHOOK_RETRY_MAX=2"),
])
def test_bad_webhook_settings_are_one_line(redis_server: RedisServer, settings: dict[str, str], said: str) -> None:
    done = run_producer(redis_server.url, "--days", "1", **settings, stream_maxlen="20000")
    assert done.returncode == 2
    assert said in one_line(done.stderr)


def test_a_webhook_without_a_sensor_is_one_line(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--days", "1", counter_webhook_url="http://127.0.0.1:9/x",
                        counter_webhook_secret="x")
    assert done.returncode == 2
    assert "the webhook sends the door sensor's interval counts, and this run has no sensor" in one_line(done.stderr)


def test_a_password_in_the_url_is_masked_in_messages() -> None:
    poster = Poster("https://user:hunter2@example.invalid/counts", SECRET, 1.0, threading.Event(), 0.5, 30.0)
    assert "hunter2" not in poster.where and poster.where.startswith("https://user:***@")
    body = b'[{"in":1}]'
    headers = poster.headers(body, 1)
    assert verify(SECRET, body, headers["X-Foot-Traffic-Signature"])
    assert not verify("another secret", body, headers["X-Foot-Traffic-Signature"])
    assert headers["Idempotency-Key"] == hashlib.sha256(body).hexdigest()
