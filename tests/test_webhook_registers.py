"""The cumulative registers pushed to the webhook (``WEBHOOK_RECORDS``): batched apart, signed, at least once.

The same producer, endpoint and faults as :mod:`tests.test_webhook` (refusals,
resets, delays, lost answers), on a quarter day with a register reset inside
it (09:00), to keep these short: de-duplicated by idempotency key, the POSTs
of each kind are exactly the offline file of that kind of the same seed,
each record once, every signature verifies and every batch holds one kind;
also across a ``kill -9`` and a restart.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from tests.producer_run import one_line, run_producer, wait_for, watch_producer
from tests.redis_server import RedisServer
from tests.test_producer_sensor import offline_files
from tests.test_webhook import SETTINGS, SPAN, _deduplicated, _stores
from tests.webhook_server import FaultyEndpoint, Taken

#: A quarter day (36 intervals of 10 minutes) with the registers' reset in it.
QUARTER = (*SPAN[:3], "0.25", *SPAN[4:])
RESET = "09:00"
#: Which field tells a record's kind from its body.
FIELD = {"counts": "in", "registers": "in_total"}
REGISTERS = "foot_traffic:registers"


@pytest.fixture
def endpoint() -> Iterator[FaultyEndpoint]:
    server = FaultyEndpoint(seed=5).start()
    yield server
    server.stop()


def _offline(tmp: Path, stores: Path) -> dict[str, list[bytes]]:
    files = offline_files(tmp, "--start", SPAN[1], "--days", "0.25", "--seed", SPAN[5], "--stores", str(stores),
                          "--count-interval", SETTINGS["count_interval"], "--counter-reset", RESET)
    return {"counts": files["foot_traffic_counts"], "registers": files["foot_traffic_registers"]}


def _by_kind(taken: list[Taken]) -> dict[str, list[Taken]]:
    """The POSTs by their kind header, each checked to hold only records of that kind."""
    kinds: dict[str, list[Taken]] = {}
    for t in taken:
        assert all(FIELD[t.kind] in record for record in orjson.loads(t.body)), t.kind
        kinds.setdefault(t.kind, []).append(t)
    return kinds


@pytest.mark.parametrize("records", ["both", "registers"])
def test_every_register_arrives_and_deduplicated_they_are_the_offline_registers(
        redis_server: RedisServer, endpoint: FaultyEndpoint, tmp_path: Path, records: str) -> None:
    stores = _stores(tmp_path)
    done = run_producer(redis_server.url, *QUARTER, "--stores", str(stores), timeout=240, speed="1e6",
                        counter_webhook_url=endpoint.url, counter_reset=RESET, webhook_records=records, **SETTINGS)
    assert done.returncode == 0, done.stderr
    want = _offline(tmp_path, stores)
    assert len(want["registers"]) == 5 * 36
    resets = {orjson.loads(line)["reset_at"] for line in want["registers"]}
    assert len(resets) == 2, "the registers reset inside the span"
    taken = endpoint.taken_now()
    # Every POST one kind, signed, its key its body's; de-duplicated, each kind's records are its file's.
    _assert_the_offline_files(taken, want if records == "both" else {"registers": want["registers"]})
    # At least once, not exactly: some batch arrived twice (a lost answer), and the faults happened.
    assert len(taken) > len({t.key for t in taken}), "no batch was delivered twice"
    assert all(endpoint.fates[f] > 0 for f in ("refused", "reset", "answer lost")), endpoint.fates


def _assert_the_offline_files(taken: list[Taken], want: dict[str, list[bytes]]) -> None:
    kinds = _by_kind(taken)
    assert set(kinds) == set(want)
    for kind, posts in kinds.items():
        got = _deduplicated(posts)
        assert len(got) == len(want[kind]) and Counter(got) == Counter(want[kind]), kind


def test_no_register_is_lost_across_a_kill_9_and_a_restart(
        redis_server: RedisServer, endpoint: FaultyEndpoint, tmp_path: Path) -> None:
    """The registers' acknowledged position is their stream's own, kept and continued like the counts'."""
    stores = _stores(tmp_path)
    client = redis.Redis.from_url(redis_server.url)
    both = {"counter_webhook_url": endpoint.url, "counter_reset": RESET, "webhook_records": "both", **SETTINGS}
    first = watch_producer(redis_server.url, *QUARTER, "--stores", str(stores), speed="1000", **both)
    wait_for(lambda: client.hget("foot_traffic:webhook", f"acked:{REGISTERS}"), timeout=120)
    first.proc.send_signal(signal.SIGKILL)
    first.finish()
    before = len(endpoint.taken_now())
    assert client.xlen(REGISTERS) < 5 * 36, "killed before the run's end"
    again = run_producer(redis_server.url, *QUARTER[2:], "--stores", str(stores), timeout=240, speed="1e6", **both)
    assert again.returncode == 0, again.stderr
    assert "re-anchored run: seed 17" in again.stderr  # the run continued, not a new one
    taken = endpoint.taken_now()
    assert len(taken) > before
    _assert_the_offline_files(taken, _offline(tmp_path, stores))


def test_a_bad_webhook_records_is_one_line(redis_server: RedisServer) -> None:
    done = run_producer(redis_server.url, "--days", "1", counter_webhook_url="http://127.0.0.1:9/x",
                        counter_webhook_secret="x", webhook_records="all")
    assert done.returncode == 2
    said = one_line(done.stderr)
    assert "WEBHOOK_RECORDS" in said and "counts, registers, both" in said, said
