"""Live labels: ``<REDIS_STREAM>:labels`` holds each offline label twice, opened and closed, exactly once.

The chain of ``examples/scenarios.toml`` (a scenario of every kind, fixed and
drawn, one store with a sensor) over a week: the labels stream read back,
``state`` and ``at`` dropped, is the offline ``foot_traffic_labels.jsonl`` of
the same seed, once as opened and once as closed, each entry dated by its id;
with a set of streams per store too, and after a ``kill -9`` mid-run and a
restart.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from pathlib import Path

import orjson
import redis
from click.testing import CliRunner

from producer.cli import main
from producer.live.labels import LabelSource
from producer.live.layout import StreamLayout
from producer.live.sink import Entry
from producer.stores_file import load_stores
from sim.store import Store
from tests.producer_run import (
    ROOT,
    one_line,
    read_stream,
    run_producer,
    start_producer,
    stream_len,
    wait_for,
    watch_producer,
)
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

STORES = ROOT / "examples" / "scenarios.toml"
SPAN = ("--seed", "42", "--days", "7", "--stores", str(STORES))
START = "2025-11-24T00:00:00"
END = "2025-12-01T00:00:00"
#: A surge across the first day's end.
SURGE = '[[scenarios]]\nkind = "surge"\nfactor = 2\nstart = "2025-11-03T20:00"\nend = "2025-11-04T10:00"\n'


def offline_labels(tmp: Path) -> list[bytes]:
    out = tmp / "offline"
    result = CliRunner().invoke(main, ["simulate", "--out", str(out), "--quiet", "--start", START, *SPAN])
    assert result.exit_code == 0, result.output
    return (out / "foot_traffic_labels.jsonl").read_bytes().splitlines()


def epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


def label_entries(client: redis.Redis, stream: str) -> list[tuple[str, int, bytes]]:
    """Each entry as (state, at, the label's line without state and at), checked dated by its id."""
    out = []
    for eid, fields in read_stream(client, stream):
        event = json.loads(fields[b"data"])
        state, at = event.pop("state"), epoch(event.pop("at"))
        assert int(eid.split(b"-")[0]) == at * 1000, (eid, fields)
        assert fields[b"key"] == event["store_id"].encode()
        out.append((state, at, orjson.dumps(event)))
    return out


def assert_labels(entries: list[tuple[str, int, bytes]], expected: list[bytes], first: int, last: int) -> None:
    """Every expected label opened once and closed once, at its window cut to the run, the close after the open."""
    opened = [line for state, _, line in entries if state == "open"]
    closed = [line for state, _, line in entries if state == "closed"]
    assert sorted(opened) == sorted(expected) and sorted(closed) == sorted(expected)
    assert len(entries) == 2 * len(expected)
    for state, at, line in entries:
        label = json.loads(line)
        window = (max(epoch(label["start"]), first), min(epoch(label["end"]), last))
        assert at == window[0 if state == "open" else 1], (state, at, label)
    ats = [at for _, at, _ in entries]
    assert ats == sorted(ats)


def test_the_labels_stream_holds_the_offline_labels_opened_and_closed(redis_server: RedisServer,
                                                                      tmp_path: Path) -> None:
    expected = offline_labels(tmp_path)
    assert len(expected) >= 6 and len({json.loads(x)["kind"] for x in expected}) == 5
    done = run_producer(redis_server.url, "--sim-start", START, *SPAN, speed="1e6", timeout=300)
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert_labels(label_entries(client, "foot_traffic:labels"), expected, epoch(START), epoch(END))
    assert f"{2 * len(expected)} label entries" in done.stderr
    again = run_producer(redis_server.url, *SPAN, speed="1e6", timeout=300)  # a finished run: nothing twice
    assert again.returncode == 0, again.stderr
    assert "0 label entries" in again.stderr
    assert client.xlen("foot_traffic:labels") == 2 * len(expected)


def test_each_store_has_its_labels_stream(redis_server: RedisServer, tmp_path: Path) -> None:
    expected = offline_labels(tmp_path)
    done = run_producer(redis_server.url, "--sim-start", START, *SPAN, speed="1e6", stream_per_store="1",
                        timeout=300)
    assert done.returncode == 0, done.stderr
    client = redis.Redis.from_url(redis_server.url)
    for store in ("flagship", "station-kiosk", "mall-entrance"):
        mine = [line for line in expected if json.loads(line)["store_id"] == store]
        assert mine, store
        assert_labels(label_entries(client, f"foot_traffic:{{{store}}}:labels"), mine, epoch(START), epoch(END))


def test_labels_exactly_once_across_a_kill_and_a_restart(redis_server: RedisServer, tmp_path: Path) -> None:
    expected = offline_labels(tmp_path)
    client = redis.Redis.from_url(redis_server.url)
    # About 40 wall seconds for the week: the producer is on the clock (its label pump) when it is killed.
    first = start_producer(redis_server.url, "--sim-start", START, *SPAN, speed="15000")
    try:
        wait_for(lambda: client.xlen("foot_traffic:labels") >= len(expected), timeout=240)
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: no flush, no goodbye
        first.wait(timeout=10)
    before = client.xlen("foot_traffic:labels")
    assert len(expected) <= before < 2 * len(expected), "killed mid-run"
    second = run_producer(redis_server.url, *SPAN, speed="1e6", timeout=300)
    assert second.returncode == 0, second.stderr
    assert "run: seed 42, start 2025-11-24T00:00:00+00:00" in second.stderr
    entries = label_entries(client, "foot_traffic:labels")
    assert_labels(entries, expected, epoch(START), epoch(END))
    assert f"{2 * len(expected) - before} label entries" in second.stderr


def test_redis_restarted_empty_mid_run_heals_the_labels(tmp_path: Path) -> None:
    expected = offline_labels(tmp_path)
    server = RedisServer().start()  # no persistence: a restart comes back empty
    try:
        client = redis.Redis.from_url(server.url)
        proc = watch_producer(server.url, "--sim-start", START, *SPAN, speed="15000")
        wait_for(lambda: stream_len(client, "foot_traffic:labels") >= len(expected) // 2, timeout=240)
        server.stop()
        server.start()
        _, err = proc.finish(timeout=300)
        assert proc.proc.returncode == 0, err
        assert "lost entries regenerated" in err and "foot_traffic:labels" in err
        assert_labels(label_entries(client, "foot_traffic:labels"), expected, epoch(START), epoch(END))
    finally:
        server.close()


def test_an_unbounded_run_makes_the_labels_of_any_offline_run_covering_them() -> None:
    # Made a day at a time over a span of its own (no end to cut at): the labels not cut by the bounded
    # run's end are its entries exactly, whichever chunks they are asked for in.
    stores = load_stores(STORES, Store())
    start, end = epoch(START), epoch("2026-02-01T00:00:00")  # two month boundaries: drawn months apart
    layout = StreamLayout(("foot_traffic",), sensor=True, labels=True)
    bounded = LabelSource(42, stores, layout, start, end)
    unbounded = LabelSource(42, stores, layout, start, None)
    chunks = [e for lo in range(start, end, 86_400) for e in unbounded.between(lo, lo + 86_400)]

    def uncut(entries: list[Entry]) -> list[Entry]:
        return [e for e in entries if epoch(json.loads(e.data)["end"]) < end]

    want = uncut(bounded.between(start, end))
    assert len(want) > 20 and {json.loads(e.data)["state"] for e in want} == {"open", "closed"}
    assert uncut(chunks) == want
    assert uncut(unbounded.between(start, end)) == want


def test_a_finished_run_with_labels_cannot_be_extended(redis_server: RedisServer, tmp_path: Path) -> None:
    """Its labels cut by the end are closed at it (expectations to it): a longer run would make other ones."""
    profile = write_profile(tmp_path, profile_text(tables=SURGE))
    span = ["--sim-start", "2025-11-03", "--seed", "3", "--profile-file", str(profile), "--daily-customers", "500"]
    first = run_producer(redis_server.url, *span, "--days", "1", speed="1e6")
    assert first.returncode == 0, first.stderr
    client = redis.Redis.from_url(redis_server.url)
    assert client.hget("foot_traffic:run", "closed") is not None
    closes = [e for e in label_entries(client, "foot_traffic:labels") if e[0] == "closed"]
    assert [at for _, at, _ in closes] == [epoch("2025-11-04T00:00:00")], "the surge is cut by the end"
    longer = run_producer(redis_server.url, *span, "--days", "2", speed="1e6")
    assert longer.returncode == 2, longer.stderr
    line = one_line(longer.stderr)
    assert "ended at 2025-11-04T00:00:00" in line and "labels" in line and "--fresh" in line, line
    assert client.xlen("foot_traffic:labels") == 2
