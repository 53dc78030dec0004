"""Live with a door sensor (issue 12): the four streams equal the offline files of the same run, byte for byte.

The offline run (``simulate`` with the same profile) writes the sessions,
the sensor's records (``foot_traffic_realistic.jsonl``), the true door
events (``..._true.jsonl``) and the interval counts (``foot_traffic_counts.jsonl``);
the producer writes them to ``foot_traffic``, ``foot_traffic:realistic``,
``foot_traffic:realistic:true`` and ``foot_traffic:counts``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import redis
from click.testing import CliRunner

from producer.cli import main
from tests.producer_run import DOORS, SESSIONS, one_line, read_stream, run_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

TRUE, COUNTS = f"{DOORS}:true", f"{SESSIONS}:counts"
STREAMS = (SESSIONS, DOORS, TRUE, COUNTS)
FILES = ("foot_traffic", "foot_traffic_realistic", "foot_traffic_realistic_true", "foot_traffic_counts")

#: Everything the sensor does: misses, doubles, duplicates, long delays, outages held (and, below, lost).
SENSOR = """[sensor]
miss_in = 0.05
miss_out = 0.08
double_in = 0.04
double_out = 0.03
delay_median = 20
delay_sigma = 1.5
duplicate = 0.05
outages_per_day = 6
outage_minutes = 45
outage_mode = "{mode}"
"""


def offline_files(tmp: Path, *args: str) -> dict[str, list[bytes]]:
    out = tmp / "offline"
    result = CliRunner().invoke(main, ["simulate", "--out", str(out), "--quiet", *args])
    assert result.exit_code == 0, result.output
    return {name: (out / f"{name}.jsonl").read_bytes().splitlines() for name in FILES
            if (out / f"{name}.jsonl").exists()}


def streams(url: str) -> dict[str, list[tuple[bytes, bytes]]]:
    client = redis.Redis.from_url(url)
    return {name: [(eid, fields[b"data"]) for eid, fields in read_stream(client, name)] for name in STREAMS}


def _ms(text: str) -> int:
    return round(dt.datetime.fromisoformat(text).timestamp() * 1000)


def assert_streams_equal_files(got: dict[str, list[tuple[bytes, bytes]]], files: dict[str, list[bytes]]) -> None:
    for name, file in zip(STREAMS, FILES, strict=True):
        assert [data for _, data in got[name]] == files[file], name
    # The sensor's ids are its delivery times; the counts' their interval ends; seq counts within a millisecond.
    for name, field in ((DOORS, "sent_at"), (COUNTS, "interval_end")):
        previous, seq = -1, 0
        for eid, data in got[name]:
            ms = _ms(orjson.loads(data)[field])
            seq = seq + 1 if ms == previous else 0
            assert eid.decode() == f"{ms}-{seq}", name
            previous = ms


def _span(tmp: Path, mode: str, seed: str = "21") -> list[str]:
    profile = write_profile(tmp, profile_text(tables=SENSOR.format(mode=mode)))
    return ["--seed", seed, "--days", "2", "--profile-file", str(profile), "--default-daily-customers", "1500"]


def test_live_with_a_sensor_equals_offline_on_all_four_streams(redis_server: RedisServer, tmp_path: Path) -> None:
    span = _span(tmp_path, "hold")
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03T10:00:00", *span, speed="1e6", count_interval="7")
    assert done.returncode == 0, done.stderr
    files = offline_files(tmp_path, "--start", "2025-11-03T10:00:00", *span, "--count-interval", "7")
    assert len(files["foot_traffic_realistic"]) > 2000 and len(files["foot_traffic_counts"]) > 400
    records = [orjson.loads(line) for line in files["foot_traffic_realistic"]]
    assert any(r["reading"] == 1 for r in records)  # doubles
    keys = [(r["customer_id"], r["event_type"], r["time"], r["reading"]) for r in records]
    assert len(set(keys)) < len(keys)  # duplicate deliveries
    assert max(_ms(r["sent_at"]) - _ms(r["time"]) for r in records) > 600_000  # a burst after an outage
    assert_streams_equal_files(streams(redis_server.url), files)


def test_outages_that_lose_and_a_stores_file_mixing_sensors(redis_server: RedisServer, tmp_path: Path) -> None:
    span = _span(tmp_path, "lose", seed="5")
    done = run_producer(redis_server.url, "--sim-start", "2025-11-04", *span, speed="1e6")
    assert done.returncode == 0, done.stderr
    assert_streams_equal_files(streams(redis_server.url),
                               offline_files(tmp_path, "--start", "2025-11-04", *span))


def test_sensor_off_writes_the_two_streams_of_today(redis_server: RedisServer, tmp_path: Path) -> None:
    span = _span(tmp_path, "hold")
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03", *span, speed="1e6", sensor="off")
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert sorted(k.decode() for k in client.keys("foot_traffic*")) == sorted([SESSIONS, DOORS, f"{SESSIONS}:run"])
    files = offline_files(tmp_path, "--start", "2025-11-03", *span, "--sensor", "off")
    assert "foot_traffic_counts" not in files
    got = streams(redis_server.url)
    assert [d for _, d in got[SESSIONS]] == files["foot_traffic"]
    assert [d for _, d in got[DOORS]] == files["foot_traffic_realistic"]


def test_a_bad_count_interval_is_one_line(redis_server: RedisServer, tmp_path: Path) -> None:
    done = run_producer(redis_server.url, *_span(tmp_path, "hold"), count_interval="0")
    assert done.returncode == 2
    assert "COUNT_INTERVAL" in one_line(done.stderr)


def test_a_sensor_with_streams_per_store_is_refused(redis_server: RedisServer, tmp_path: Path) -> None:
    done = run_producer(redis_server.url, *_span(tmp_path, "hold"), stream_per_store="1")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "STREAM_PER_STORE" in line and "[sensor]" in line and "SENSOR=off" in line
