"""Live with a door sensor (issue 12): the five streams equal the offline files of the same run, byte for byte.

The offline run (``simulate`` with the same profile) writes the sessions,
the sensor's records (``foot_traffic_realistic.jsonl``), the true door
events (``..._true.jsonl``), the interval counts (``foot_traffic_counts.jsonl``)
and the registers (``foot_traffic_registers.jsonl``); the producer writes them
to ``foot_traffic``, ``foot_traffic:realistic``, ``foot_traffic:realistic:true``,
``foot_traffic:counts`` and ``foot_traffic:registers``.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import orjson
import redis
from click.testing import CliRunner

from producer.cli import main
from tests.producer_run import (
    DOORS,
    SESSIONS,
    one_line,
    read_stream,
    run_producer,
    stream_len,
    wait_for,
    watch_producer,
)
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

TRUE, COUNTS, REGISTERS = f"{DOORS}:true", f"{SESSIONS}:counts", f"{SESSIONS}:registers"
STREAMS = (SESSIONS, DOORS, TRUE, COUNTS, REGISTERS)
FILES = ("foot_traffic", "foot_traffic_realistic", "foot_traffic_realistic_true", "foot_traffic_counts",
         "foot_traffic_registers")

#: Everything the sensor does: misses, doubles, duplicates, long delays, outages held (and, below, lost).
SENSOR = """[sensor]
miss_in = 0.05
miss_out = 0.08
double_in = 0.04
double_out = 0.03
delay_median = {median}
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
    # The sensor's ids are its delivery times; the counts' and registers' their interval ends; seq counts
    # within a millisecond.
    for name, field in ((DOORS, "sent_at"), (COUNTS, "interval_end"), (REGISTERS, "interval_end")):
        previous, seq = -1, 0
        for eid, data in got[name]:
            ms = _ms(orjson.loads(data)[field])
            seq = seq + 1 if ms == previous else 0
            assert eid.decode() == f"{ms}-{seq}", name
            previous = ms


def _span(tmp: Path, mode: str, seed: str = "21", median: int = 20) -> list[str]:
    profile = write_profile(tmp, profile_text(tables=SENSOR.format(mode=mode, median=median)))
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


def test_a_finished_sensor_run_cannot_be_extended(redis_server: RedisServer, tmp_path: Path) -> None:
    """Its last records, delivered after its end, are written: a longer run would lose records below them."""
    half = ["--sim-start", "2025-11-03", *_span(tmp_path, "hold")]
    half[half.index("--days") + 1] = "0.5"
    first = run_producer(redis_server.url, *half, speed="1e6")
    assert first.returncode == 0, first.stderr
    assert redis.Redis.from_url(redis_server.url).hget("foot_traffic:run", "closed") is not None
    longer = [*half]
    longer[longer.index("--days") + 1] = "2"
    done = run_producer(redis_server.url, *longer, speed="1e6")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "ended at 2025-11-03T12:00:00" in line and "--fresh" in line, line
    again = run_producer(redis_server.url, *half, speed="1e6")  # the same end: nothing is lost
    assert again.returncode == 0, again.stderr
    files = offline_files(tmp_path, "--start", "2025-11-03", *half[2:])
    assert_streams_equal_files(streams(redis_server.url), files)


def test_continuing_a_run_with_the_sensor_switched_is_one_line(redis_server: RedisServer, tmp_path: Path) -> None:
    """SENSOR and COUNT_INTERVAL are part of the run: a restart that changes them names them, exit 2."""
    span = ["--sim-start", "2025-11-03", *_span(tmp_path, "hold")]
    span[span.index("--days") + 1] = "0.25"
    first = run_producer(redis_server.url, *span, speed="1e6")
    assert first.returncode == 0, first.stderr
    for settings, said in (({"sensor": "off"}, "no sensor (SENSOR=off"), ({"count_interval": "5"}, "COUNT_INTERVAL=5")):
        done = run_producer(redis_server.url, *span, speed="1e6", **settings)
        assert done.returncode == 2, done.stderr
        line = one_line(done.stderr)
        assert said in line and "differs from the stored run's a sensor with COUNT_INTERVAL=15" in line, line
    again = run_producer(redis_server.url, *span, speed="1e6")
    assert again.returncode == 0, again.stderr  # the same settings continue the run


def _tops_past(client: redis.Redis, name: str, t: float) -> bool:
    last = client.xrevrange(name, count=1)
    return bool(last) and int(last[0][0].split(b"-")[0]) > t * 1000


def test_a_restart_mid_run_continues_all_four_streams(redis_server: RedisServer, tmp_path: Path) -> None:
    # Five days, stopped on the fifth, in the afternoon: the restart replays from a UTC midnight at
    # least the sensor's horizon (three days) before the streams' tops, not from the run's start,
    # while records of crossings before the stop (delays of minutes, held outages) are still to come.
    span = _span(tmp_path, "hold", seed="33", median=300)
    span[span.index("--days") + 1] = "5"
    start = dt.datetime(2025, 11, 3, tzinfo=dt.UTC).timestamp()
    client = redis.Redis.from_url(redis_server.url)
    first = watch_producer(redis_server.url, "--sim-start", "2025-11-03", *span, speed="200000")
    wait_for(lambda: _tops_past(client, SESSIONS, start + 4.6 * 86_400), timeout=120)
    first.proc.send_signal(signal.SIGTERM)
    _, err = first.finish()
    assert first.proc.returncode == 0, err
    assert "stopped at" in err, "the run was stopped before its end"
    before = {name: len(entries) for name, entries in streams(redis_server.url).items()}
    stop = int(client.xrevrange(TRUE, count=1)[0][0].split(b"-")[0])
    span = span[2:]  # no seed: the stored run's
    second = run_producer(redis_server.url, *span, speed="200000", timeout=120)
    assert second.returncode == 0, second.stderr
    assert "continued run: seed 33" in second.stderr
    assert "replaying the model from 2025-11-0" in second.stderr and "from 2025-11-03T00" not in second.stderr
    files = offline_files(tmp_path, "--start", "2025-11-03", "--seed", "33", *span)
    got = streams(redis_server.url)
    assert all(0 < before[name] < len(got[name]) for name in STREAMS), before
    records = [orjson.loads(line) for line in files["foot_traffic_realistic"]]
    assert any(_ms(r["time"]) <= stop < _ms(r["sent_at"]) for r in records), "records straddle the stop"
    assert_streams_equal_files(got, files)


def test_redis_restarted_empty_mid_run_heals_all_four_streams(tmp_path: Path) -> None:
    server = RedisServer().start()  # no persistence: a restart comes back empty
    try:
        client = redis.Redis.from_url(server.url)
        span = _span(tmp_path, "hold", seed="8")
        proc = watch_producer(server.url, "--sim-start", "2025-11-03", *span, speed="40000")
        wait_for(lambda: stream_len(client, COUNTS) > 20 and stream_len(client, DOORS) > 500, timeout=60)
        server.stop()
        server.start()
        _, err = proc.finish(timeout=120)
        assert proc.proc.returncode == 0, err
        assert "lost entries regenerated" in err
        assert_streams_equal_files(streams(server.url), offline_files(tmp_path, "--start", "2025-11-03", *span))
    finally:
        server.close()


def test_sensor_entries_wait_for_the_clock(redis_server: RedisServer, tmp_path: Path) -> None:
    # The pipeline's clock (CLOCK=redis) held at two times: the streams then hold exactly what
    # is due by each: the sensor's records delivered by then (not those of crossings that
    # happened but are still on their way), the counts of the intervals ended by then.
    span = _span(tmp_path, "hold", seed="3")
    start = dt.datetime(2025, 11, 3, 9, tzinfo=dt.UTC)
    client = redis.Redis.from_url(redis_server.url)
    client.mset({"sim:now": start.isoformat(), "sim:today": "2025-11-03"})
    files = offline_files(tmp_path, "--start", start.isoformat(), *span)
    proc = watch_producer(redis_server.url, *span, clock="redis")
    try:
        # The run starts where the clock is (patient: two days' model built on a busy machine).
        proc.wait_for_log("on the clock from 2025-11-03T09:00:00", timeout=240)
        for hours in (2, 5):
            now = start + dt.timedelta(hours=hours)
            client.mset({"sim:now": now.isoformat(), "sim:today": "2025-11-03"})
            cut = now.timestamp() * 1000
            due = {
                DOORS: [ln for ln in files["foot_traffic_realistic"] if _ms(orjson.loads(ln)["sent_at"]) <= cut],
                TRUE: [ln for ln in files["foot_traffic_realistic_true"] if _ms(orjson.loads(ln)["time"]) <= cut],
                COUNTS: [ln for ln in files["foot_traffic_counts"] if _ms(orjson.loads(ln)["interval_end"]) <= cut],
                REGISTERS: [ln for ln in files["foot_traffic_registers"]
                            if _ms(orjson.loads(ln)["interval_end"]) <= cut],
            }
            assert len(due[DOORS]) < len([ln for ln in files["foot_traffic_realistic"]
                                          if _ms(orjson.loads(ln)["time"]) <= cut]), "some are on their way"
            wait_for(lambda due=due: all(stream_len(client, name) >= len(due[name]) for name in due), timeout=240)
            got = streams(redis_server.url)
            for name in due:
                assert [d for _, d in got[name]] == due[name], name
    finally:
        proc.proc.send_signal(signal.SIGTERM)
        _, err = proc.finish(timeout=180)
    assert proc.proc.returncode == 0, err


def test_speed_max_with_a_sensor_is_backfilled_and_the_model_writes_the_tail(
    redis_server: RedisServer, tmp_path: Path,
) -> None:
    # The backfill writes the four streams up to the run's end; the model the sensor's tail after it
    # (docs/sensors.md, "Live").
    span = _span(tmp_path, "hold", seed="2")
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03", *span, speed="max")
    assert done.returncode == 0, done.stderr
    assert "--speed max: writing" in done.stderr and "backfilled" in done.stderr, done.stderr
    assert "the sensor's last records and counts follow until" in done.stderr
    assert_streams_equal_files(streams(redis_server.url), offline_files(tmp_path, "--start", "2025-11-03", *span))
