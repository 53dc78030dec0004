"""Stores with a capacity are backfilled by the exact event engine: the same entries, ids included.

A capacity store (queue with patience, loss mode, groups; ``WRITE_REJECTED``
on) is produced for two simulated hours, stopped, and continued after a
pause of a few wall seconds at a high SPEED: the continued run starts
hours behind its clock and writes that stretch with the exact event engine
(``producer.live.catchup``), then hands over to the model, which starts at
an instant the backfill saw the store empty (not at the run's start). A run
at ``SPEED=max`` writes its whole span the same way. The streams must equal
``foot-traffic simulate``'s files for the same seed, entry for entry (so
nothing is lost or written twice), with the emitter's ids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from pathlib import Path

import pytest
import redis

from producer.live import backfill as bf
from producer.live.catchup import QuietTimes, due_batches
from producer.live.environment import Waker
from producer.live.outbox import Outbox
from producer.live.pace import WallClock
from producer.live.resume import model_start
from sim.profile import DEFAULT_PROFILE, DEFAULT_WEIGHTS
from sim.run import to_epoch
from sim.store import Store
from tests.outbox_faults import MAXLEN, STREAMS
from tests.outbox_faults import read_stream as read_entries
from tests.per_store import emitter_ids
from tests.producer_run import DOORS, SESSIONS, offline, read_stream, run_producer
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer
from tests.test_backfill_faults import KillingSink

START = "2025-11-03T08:00:00"
GROUPS = """[groups]
sizes = {1 = 0.6, 2 = 0.3, 3 = 0.07, 4 = 0.03}
spread = 8
together = 0.7
"""
#: Closed from midnight to 07:00 (weight 0): the store empties at night, so the model can take over there.
NIGHTS_CLOSED = {day: [0.0, *weights[1:]] for day, weights in DEFAULT_WEIGHTS.items()}
CASES = {
    "queue with patience": ["--store-capacity", "40", "--patience-minutes", "4"],
    "loss": ["--store-capacity", "40", "--capacity-mode", "loss"],
    "queue without patience, groups": ["--store-capacity", "40", "--groups"],
}


def _args(tmp_path: Path, case: str, seed: str) -> list[str]:
    """The run's settings: a capacity that binds (customers turned away or giving up), their events written."""
    case_args = CASES[case]
    tables = GROUPS if "--groups" in case_args else ""
    profile = write_profile(tmp_path, profile_text(tables=tables, weights=NIGHTS_CLOSED))
    return ["--seed", seed, "--daily-customers", "4000", "--write-rejected", "--profile-file", str(profile),
            *(a for a in case_args if a != "--groups")]


def _assert_streams_are_offline(client: redis.Redis, sessions: list[bytes], doors: list[bytes]) -> None:
    """Each stream holds the offline lines, in order, once each, with the ids the emitter gives them."""
    assert len(sessions) > 1000
    rejected = any(b'"turned_away"' in d or b'"gave_up"' in d for d in doors)
    assert rejected or any(b'"queue_seconds":0}' not in s for s in sessions), "the capacity must bind"
    for name, lines, field in ((SESSIONS, sessions, "entry_time"), (DOORS, doors, "time")):
        entries = read_stream(client, name)
        got = [fields[b"data"] for _, fields in entries]
        assert len(got) == len(lines) and got == lines, name
        assert [eid for eid, _ in entries] == emitter_ids(got, field), name


def _model_start(stderr: str) -> dt.datetime:
    """Where the model started after the backfill (the log's "replaying the model from")."""
    found = re.findall(r"replaying the model from (\S+)", stderr)
    assert found, stderr
    return dt.datetime.fromisoformat(found[-1].rstrip(",").replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.mark.parametrize("case", list(CASES))
def test_a_capacity_store_restarted_behind_is_backfilled_exactly(
    redis_server: RedisServer, tmp_path: Path, case: str,
) -> None:
    args = _args(tmp_path, case, "5")
    first = run_producer(redis_server.url, "--sim-start", START, "--until", "2025-11-03T10:00:00", *args,
                         speed="20000")
    assert first.returncode == 0, first.stderr
    assert "backfilled" not in first.stderr
    # The run's clock goes on while no producer runs: 4 wall s are 80,000 simulated seconds at SPEED 20,000,
    # so the restart's backfill ends in the next day's opening hours (or at the run's end on a slow machine),
    # past the closed night: 3 s ended it inside the night on a quiet machine, and the model then had to
    # start at the last quiet instant before the streams' end, the evening before. Without patience the
    # groups' queue never empties (the store stays full through the night: no quiet instant), so there
    # the backfill must reach the run's end (6 s: 120,000 simulated seconds) for the model not to replay.
    time.sleep(6 if case == "queue without patience, groups" else 4)
    second = run_producer(redis_server.url, "--sim-start", START, "--until", "2025-11-04T12:00:00", *args,
                          speed="20000")
    assert second.returncode == 0, second.stderr
    assert "continued run" in second.stderr, second.stderr
    assert "with the exact event engine" in second.stderr, second.stderr
    assert re.search(r"backfilled [1-9]\d* entries", second.stderr), second.stderr
    # The model took over at an instant the store was empty (the closed night), not at the run's start.
    assert _model_start(second.stderr) > dt.datetime(2025, 11, 4), second.stderr
    sessions, doors = offline(tmp_path, "--start", START, "--until", "2025-11-04T12:00:00", *args)
    _assert_streams_are_offline(redis.Redis.from_url(redis_server.url), sessions, doors)


@pytest.mark.parametrize("case", ["queue with patience", "loss"])
def test_speed_max_with_a_capacity_writes_the_span_exactly(redis_server: RedisServer, tmp_path: Path, case: str) -> None:
    args = _args(tmp_path, case, "8")
    span = ["--sim-start", "2025-11-03T20:00:00", "--days", "1.5"]
    done = run_producer(redis_server.url, *span, "--speed", "max", *args)
    assert done.returncode == 0, done.stderr
    assert "--speed max: writing" in done.stderr and "with the exact event engine" in done.stderr, done.stderr
    assert re.search(r"backfilled [1-9]\d* entries", done.stderr), done.stderr
    # Written to its end by the backfill: the model has nothing left to make.
    assert _model_start(done.stderr) == dt.datetime(2025, 11, 5, 8), done.stderr
    sessions, doors = offline(tmp_path, "--start", *span[1:2], *span[2:], *args)
    _assert_streams_are_offline(redis.Redis.from_url(redis_server.url), sessions, doors)


def test_a_capacity_backfill_cut_off_leaves_a_gap_free_prefix_and_a_quiet_start(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis kills the backfill's connection mid-way: each stream holds a prefix, a second backfill the rest.

    The quiet instants noted up to the cut are still true: the model start they give is at or before the
    streams' tops, after the run's start.
    """
    monkeypatch.setattr(bf, "CHUNK", 2000)
    start = to_epoch("2025-11-03")
    stores = (Store(profile=dataclasses.replace(DEFAULT_PROFILE, weights=tuple(
        (0.0, *w[1:]) for w in DEFAULT_PROFILE.weights)), daily_customers=6000, capacity=60, patience=300),)
    want: list[list[tuple[bytes, bytes, bytes]]] = [[], []]
    for batch in due_batches(1, stores, start, start + 2 * 86_400, True, []):
        for col in bf.columns(batch):
            want[col.stream] += [(b"%d-%d" % (m, q), d, k)
                                 for m, q, d, k in zip(col.ms.tolist(), col.seq.tolist(), col.data, col.key)]
    assert any(b'"gave_up"' in d for _, d, _ in want[1]), "the capacity binds"
    sink = KillingSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN)
    sink.kill_at = 9
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    admin = redis.Redis.from_url(redis_server.url)
    pace = WallClock(start, 1.0, time.time() - 3 * 86_400)  # the whole span is due
    try:
        outbox.connect(timeout=30)
        quiet = QuietTimes(stores, start)
        first = bf.backfill(1, stores, start, start + 2 * 86_400, pace, sink, outbox, rejected=True, quiet=quiet)
        got = [read_entries(admin, name) for name in STREAMS]
        total = sum(len(w) for w in want)
        assert 0 < first < total, f"the kill cut the backfill short ({first} of {total} written)"
        for g, w in zip(got, want, strict=True):
            assert g == w[:len(g)], "each stream holds a prefix of the run's entries: no gap, no repeat"
        begin = model_start(start, outbox.last_ids, stores, quiet)
        resume = min(ms for ms, _ in outbox.last_ids) // 1000
        assert start < begin <= resume, (begin, resume)
        sink.kill_at = -1
        rest = bf.backfill(1, stores, start, start + 2 * 86_400, pace, sink, outbox, rejected=True)
        held = sum(len(g) for g in got)
        assert [read_entries(admin, name) for name in STREAMS] == want, "the whole span, each entry once"
        assert rest == total - held, "the second backfill wrote exactly what was missing"
    finally:
        admin.close()
        sink.close()
        waker.close()
