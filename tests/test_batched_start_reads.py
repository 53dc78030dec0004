"""A chain's start reads its streams' tops as few times as exactly-once allows, and a reconnect's check is batched.

300 stores on per-store streams (``STREAM_PER_STORE=1``: 600 streams) on a
real redis-server; commands and round trips are counted on the server
(``INFO commandstats`` and ``total_reads_processed`` of ``INFO stats``, as in
``tests/test_batched_round_trips.py``).

- A new run reads each stream's top (``XINFO STREAM``) twice: once before the
  lease (can we read the streams at all?) and once with the lease held, which
  both the resolve (are the streams empty?) and the outbox use, nothing being
  written to the streams in between (before, the outbox read them a third time).
- After a reconnect the outbox checks that the buffered entries Redis already
  holds are there as sent (:meth:`~producer.live.outbox.Outbox.check_held`):
  an ``XRANGE`` and an ``XINFO STREAM`` per stream, all pipelined; before, two
  round trips per stream.
"""

from __future__ import annotations

from pathlib import Path

import redis

from producer.live.environment import Waker
from producer.live.outbox import Outbox
from producer.live.redis_sink import Entry, RedisSink
from tests.producer_run import run_producer
from tests.redis_server import RedisServer

STORES = 300
STREAMS = 2 * STORES
START = 1_762_200_000  # epoch seconds: the entries' times


def _stats(port: int) -> tuple[dict[str, int], int]:
    """Each command's calls so far, and the server's read events (round trips)."""
    with redis.Redis(port=port) as r:
        commands = {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in r.info("commandstats").items()}
        return commands, int(r.info("stats")["total_reads_processed"])


def _stores(path: Path) -> Path:
    path.write_text("".join(f'[[stores]]\nid = "s{i:03d}"\ndaily_customers = 20\n\n' for i in range(STORES)),
                    encoding="utf-8")
    return path


def test_a_new_chain_run_reads_each_top_twice(redis_server: RedisServer, tmp_path: Path) -> None:
    before, _ = _stats(redis_server.port)
    done = run_producer(redis_server.url, "--sim-start", "2025-11-03T20:00:00", "--days", "0.2", "--seed", "5",
                        stream_per_store="1", stores=_stores(tmp_path / "stores.toml"), speed="1e6", timeout=300)
    assert done.returncode == 0, done.stderr
    after, _ = _stats(redis_server.port)
    reads = after.get("xinfo|stream", 0) - before.get("xinfo|stream", 0)
    # Before the lease (access) and with it held (resolve and outbox): two per stream, not three.
    assert reads == 2 * STREAMS, f"{reads} XINFO STREAM for {STREAMS} streams ({reads / STREAMS:g} each)"


def test_a_reconnect_checks_what_redis_held_in_a_few_round_trips(redis_server: RedisServer) -> None:
    names = tuple(f"rt:{{s{i:03d}}}{kind}" for i in range(STORES) for kind in ("", ":realistic"))
    sink = RedisSink.connect(redis_server.url, "", 0, 0, names, 1_000_000)
    outbox = Outbox(sink, Waker(), buffer_max=10_000)
    try:
        outbox.connect(timeout=30)  # empty streams: nothing held
        entries = [Entry(stream, START + k, (START + k) * 1000, 0, b'{"n": %d}' % k, b"c%d" % stream)
                   for k in range(2) for stream in range(STREAMS)]
        for entry in entries:
            outbox.put(entry)
        with redis.Redis(port=redis_server.port) as r:  # the writes landed, their replies were lost
            pipe = r.pipeline(transaction=False)
            for e in entries:
                pipe.xadd(names[e.stream], {"data": e.data, "key": e.key}, id=f"{e.ms}-{e.seq}")
            pipe.execute()
        commands, reads = _stats(redis_server.port)
        outbox.connect(timeout=30)  # a reconnect: every buffered entry is held, and checked
        after, reads_after = _stats(redis_server.port)
        assert outbox.pending() == 0 and sum(outbox.skipped) == len(entries), (outbox.pending(), outbox.skipped)
        ranges = after.get("xrange", 0) - commands.get("xrange", 0)
        assert ranges == STREAMS, f"{ranges} XRANGE for {STREAMS} streams"
        trips = reads_after - reads  # with a few of these INFOs
        # The tops, then each stream's XRANGE and XINFO STREAM: pipelines of 1,000 commands (a few reads
        # each); a command at a time would be two reads per stream.
        assert trips < STREAMS / 10, f"{trips} round trips to check {len(entries)} entries on {STREAMS} streams"
    finally:
        sink.close()
