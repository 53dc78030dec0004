"""Rough edges a newcomer hit, each fixed: messages that name what was typed, plurals, a restart's lag."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import redis
from click.testing import CliRunner

from producer.cli import main
from tests.producer_run import DOORS, stream_len, wait_for, watch_producer
from tests.redis_server import RedisServer


def test_a_bad_start_option_is_named_as_typed(tmp_path: Path) -> None:
    option = CliRunner().invoke(main, ["simulate", "--start", "2025-13-01", "--out", str(tmp_path)])
    assert option.exit_code == 2 and "--start='2025-13-01' is not valid" in option.stderr
    env = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path)], env={"SIM_START": "2025-13-01"})
    assert env.exit_code == 2 and "SIM_START='2025-13-01' is not valid" in env.stderr


def test_one_visit_is_one_visit(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--start", "2025-11-03T10:00:00", "--until", "2025-11-03T10:02:00",
                                       "--daily-customers", "720", "--disable-daily-variation", "--seed", "1",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    counts = re.search(r": ([\d,]+) (visits?), ([\d,]+) (events?) in", result.output)
    assert counts is not None, result.output
    for number, word in ((counts.group(1), counts.group(2)), (counts.group(3), counts.group(4))):
        assert word.endswith("s") == (number != "1"), result.output


def test_a_restart_reports_the_outage_not_the_replay(redis_server: RedisServer) -> None:
    """Killed and restarted 2 s later, the producer is behind by about the outage, not by the replayed span
    (at SPEED 300 the replay from the longest dwell plus an hour before the streams' end spans 27 s).

    The outage is written by the backfill (producer/live/backfill.py), which says how far behind it
    found the run; what the model may still find behind after it is reported as before."""
    client = redis.Redis.from_url(redis_server.url)
    args = ("--sim-start", "2025-11-03T09:00:00", "--daily-customers", "20000", "--seed", "2")
    first = watch_producer(redis_server.url, *args, speed="300", lease_seconds="1")
    first.wait_for_log("on the clock")
    wait_for(lambda: stream_len(client, DOORS) > 150)
    first.proc.send_signal(signal.SIGKILL)
    first.finish(timeout=10)
    time.sleep(2)  # the outage (the test's choice)
    again = watch_producer(redis_server.url, "--daily-customers", "20000", speed="300", lease_seconds="1")
    try:
        again.wait_for_log("backfilled")
        again.wait_for_log(" visits")  # a progress line: the model is on the clock after the backfill
    finally:
        again.proc.terminate()
        _, err = again.finish(timeout=30)
    behind = [float(x) for x in re.findall(r"behind schedule by ([\d.]+) s", err)]
    behind += [float(x) for x in re.findall(r"([\d.]+) s behind: backfilling", err)]
    assert behind and max(behind) < 15, (behind, err)



def test_a_restarts_first_progress_line_starts_where_the_streams_ended(redis_server: RedisServer) -> None:
    """The replayed hours are not reported as produced: the first line after a restart starts at the streams' end."""
    args = ("--daily-customers", "5000")
    first = watch_producer(redis_server.url, "--sim-start", "2025-11-03", "--seed", "2", *args, speed="3000",
                           lease_seconds="1")
    first.wait_for_log("T03:00..")  # four simulated hours written
    first.proc.send_signal(signal.SIGKILL)
    first.finish(timeout=10)
    again = watch_producer(redis_server.url, *args, speed="3000", lease_seconds="1")
    try:
        again.wait_for_log("replaying the model from")
        again.wait_for_log(" visits")
    finally:
        again.proc.terminate()
        _, err = again.finish(timeout=30)
    ended = re.search(r"the streams end at (\S+): replaying", err)
    first_line = re.search(r"INFO producer: (\S+)\.\.\S+: [\d,]+ visits?", err)
    assert ended is not None and first_line is not None, err
    assert first_line.group(1) == ended.group(1)[:16], err
