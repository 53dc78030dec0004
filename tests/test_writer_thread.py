"""The writer thread: a frozen Redis never holds the simulation's thread for a socket timeout.

The outbox's writes (and, while Redis is down, its PING probe) go through
:mod:`producer.live.writer`; the simulation only collects answers that are
there. Here redis-server is frozen with SIGSTOP (it accepts nothing and
answers nothing, as a hung server or a dead link), the outbox is flushed
again and again as the paced loop does, and no call may wait out the
2-second socket timeout; once the server resumes, every entry is in Redis
exactly once.
"""

from __future__ import annotations

import os
import signal
import time

import redis

from producer.live.environment import Waker
from producer.live.outbox import Outbox
from producer.live.redis_sink import RedisSink
from tests.outbox_faults import MAXLEN, STREAMS, as_stored, per_stream, read_stream, run_entries
from tests.producer_run import wait_for
from tests.redis_server import RedisServer

#: The sink's socket timeout: a read of a frozen server blocks this long before it fails.
SOCKET_TIMEOUT = 2.0


def test_a_frozen_redis_never_blocks_a_flush_for_the_socket_timeout(redis_server: RedisServer) -> None:
    sink = RedisSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN, timeout=SOCKET_TIMEOUT)
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    admin = redis.Redis.from_url(redis_server.url)
    entries = list(run_entries()[:300])
    assert redis_server.proc is not None
    pid = redis_server.proc.pid
    try:
        outbox.connect(timeout=30)
        for e in entries[:100]:
            outbox.put(e)
        assert outbox.flush(wait=True)
        os.kill(pid, signal.SIGSTOP)
        try:
            longest, failed = 0.0, 0
            began = time.monotonic()
            i = 100
            # Well past the socket timeout, twice: the batch in flight and a probe both time out meanwhile.
            while time.monotonic() - began < 3 * SOCKET_TIMEOUT:
                if i < len(entries):
                    outbox.put(entries[i])
                    i += 1
                t0 = time.monotonic()
                failed += not outbox.flush(wait=False)
                longest = max(longest, time.monotonic() - t0)
                time.sleep(0.01)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert failed, "Redis was frozen: some flush must have found it down"
        assert longest < SOCKET_TIMEOUT / 2, (
            f"a flush took {longest:.2f} s with Redis frozen: it waited on the socket "
            f"(timeout {SOCKET_TIMEOUT} s) instead of leaving that to the writer thread")
        for e in entries[i:]:
            outbox.put(e)
        assert outbox.drain(60)
        wait_for(lambda: outbox.pending() == 0)
        got = [read_stream(admin, name) for name in STREAMS]
        assert got == [as_stored(s) for s in per_stream(entries)], "every entry written once, in order"
        assert sum(outbox.written) + sum(outbox.skipped) == len(entries)
    finally:
        admin.close()
        sink.close()
        waker.close()
