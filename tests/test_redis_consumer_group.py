"""The old Redis-to-Kafka bridge reads the streams unchanged.

It reads each stream with XREADGROUP (group ``redis-kafka-bridge``, batches
of 128), forwards ``data`` with ``key`` as the Kafka key, skips an entry
without ``data`` and acknowledges each entry. Reading both streams that way
must hand over every entry exactly once and leave nothing pending.
"""

from __future__ import annotations

import redis

from tests.producer_run import DOORS, SESSIONS, payloads, run_producer
from tests.redis_server import RedisServer

GROUP = "redis-kafka-bridge"


def bridge_read(client: redis.Redis, stream: str) -> list[tuple[bytes, bytes]]:
    """What the bridge would forward to Kafka from ``stream``: (key, value) pairs."""
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        assert "BUSYGROUP" in str(exc)
    forwarded = []
    while True:
        reply = client.xreadgroup(GROUP, "bridge-1", {stream: ">"}, count=128)
        if not reply:
            return forwarded
        (_, entries), = reply
        assert 0 < len(entries) <= 128
        for eid, fields in entries:
            if b"data" in fields:
                forwarded.append((fields[b"key"], fields[b"data"]))
            client.xack(stream, GROUP, eid)


def test_a_bridge_consumer_group_reads_every_entry_once(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    # The bridge may create its group before the producer has written anything.
    client.xgroup_create(SESSIONS, GROUP, id="$", mkstream=True)
    done = run_producer(redis_server.url, "--sim-start", "2025-11-04", "--days", "1", "--seed", "5",
                        "--daily-customers", "800", speed="1e6")
    assert done.returncode == 0, done.stderr
    for stream in (SESSIONS, DOORS):
        forwarded = bridge_read(client, stream)
        assert [value for _, value in forwarded] == payloads(client, stream)
        assert all(key and key in value for key, value in forwarded)
        assert client.xpending(stream, GROUP)["pending"] == 0
    assert len(bridge_read(client, SESSIONS)) == 0, "nothing is delivered twice"


def test_a_consumer_group_survives_fresh_and_reads_the_new_run_from_its_first_entry(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    old = run_producer(redis_server.url, "--sim-start", "2025-11-04", "--days", "0.5", "--seed", "5",
                       "--daily-customers", "800", speed="1e6")
    assert old.returncode == 0, old.stderr
    for stream in (SESSIONS, DOORS):
        client.xgroup_create(stream, GROUP, id="0")
        client.xreadgroup(GROUP, "bridge-1", {stream: ">"}, count=5)  # 5 read, not acknowledged
    new = run_producer(redis_server.url, "--fresh", "--sim-start", "2025-11-03", "--days", "0.5", "--seed", "6",
                       "--daily-customers", "800", speed="1e6")
    assert new.returncode == 0, new.stderr
    assert f"kept consumer groups {GROUP} on {SESSIONS}, {GROUP} on {DOORS}" in new.stderr
    for stream in (SESSIONS, DOORS):
        forwarded = bridge_read(client, stream)
        assert [value for _, value in forwarded] == payloads(client, stream), "the new run, from its first entry"
        assert all(b"2025-11-03" in value for _, value in forwarded)
        assert client.xpending(stream, GROUP)["pending"] == 0, "the old run's unacknowledged entries are gone"
