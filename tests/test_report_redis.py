"""``foot-traffic report --redis-url`` reads a live run's streams and run record (read-only).

A real producer (``python -m producer``) writes to a redis-server the test
starts. Finished: the report of its streams counts what the report of the
same run simulated offline to files counts, store by store, and carries the
profile's expectation (the stores rebuilt from the run record). Running: the
report covers what the streams hold so far, and Redis is left as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import redis
from click.testing import CliRunner

from producer.cli import main
from producer.report_chain import build_chain_report, chain_report
from producer.report_redis import read_streams
from tests.producer_run import SESSIONS, run_producer, stream_len, wait_for, watch_producer
from tests.redis_server import RedisServer

ARGS = ("--seed", "11", "--daily-customers", "1500")


def snapshot(client: redis.Redis) -> dict[bytes, object]:
    """Every key with its type and length (streams) or contents (hashes, strings)."""
    out: dict[bytes, object] = {}
    for key in client.keys("*"):
        kind = client.type(key)
        out[key] = (kind, client.xlen(key) if kind == b"stream" else client.hgetall(key) if kind == b"hash"
                    else client.get(key) if kind == b"string" else None)
    return out


def test_the_report_of_the_streams_counts_what_the_files_count(redis_server: RedisServer, tmp_path: Path) -> None:
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "2", *ARGS, speed="1e6")
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    before = snapshot(client)
    page = tmp_path / "live.html"
    result = CliRunner().invoke(main, ["report", "--redis-url", redis_server.url, "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert snapshot(client) == before  # read-only
    assert "note:" not in result.output  # the record's stores are rebuilt: an expectation, no note
    assert page.stat().st_size > 1e6 and "Plotly.newPlot" in page.read_text()

    offline = CliRunner().invoke(main, ["simulate", "--start", "2025-11-03", "--days", "2", *ARGS, "--out",
                                        str(tmp_path / "files"), "--format", "jsonl", "--quiet"])
    assert offline.exit_code == 0, offline.output
    files = build_chain_report(tmp_path / "files")
    counts, info, notes = read_streams(redis_server.url, "foot_traffic")
    assert info is not None and notes == []
    live = chain_report(counts, info, "live", "live", notes)
    (f,), (s,) = files.views, live.views
    assert s.row["visits"] == f.row["visits"] > 2000
    assert s.row["expected"] == f.row["expected"]
    assert s.figures["dwell"]["simulated"].tolist() == f.figures["dwell"]["simulated"].tolist()
    assert s.figures["daily"]["simulated"].tolist() == f.figures["daily"]["simulated"].tolist()
    n = len(s.figures["occupancy"]["simulated"])
    assert n > 100 and np.array_equal(s.figures["occupancy"]["simulated"], f.figures["occupancy"]["simulated"][:n])


def test_a_running_run_is_reported_up_to_where_it_is(redis_server: RedisServer, tmp_path: Path) -> None:
    producer = watch_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "30", *ARGS, speed="20000")
    client = redis.Redis.from_url(redis_server.url)
    try:
        wait_for(lambda: stream_len(client, SESSIONS) > 1500, timeout=120)
        counts, info, notes = read_streams(redis_server.url, "foot_traffic")
        assert info is not None and notes == []
        seen = int(counts.entries.sum())
        assert 1500 <= seen <= stream_len(client, SESSIONS)
        assert info.end < info.start + 30 * 86_400  # up to where the run is, not its planned end
        result = CliRunner().invoke(main, ["report", "--redis-url", redis_server.url, "--out", str(tmp_path / "p.html")])
        assert result.exit_code == 0, result.output
    finally:
        producer.proc.terminate()
        producer.finish()


def test_streams_without_a_run_are_one_line(redis_server: RedisServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--redis-url", redis_server.url, "--out", str(tmp_path / "p.html")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[-1] == "foot-traffic: error: stream 'foot_traffic' holds no sessions: nothing to report"
    both = CliRunner().invoke(main, ["report", str(tmp_path), "--redis-url", redis_server.url])
    assert both.exit_code == 2 and "one of the two" in both.output
