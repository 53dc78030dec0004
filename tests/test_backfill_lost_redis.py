"""A backfill that loses Redis for good stops waiting after ``REDIS_CONNECT_TIMEOUT``, as the start does.

The redis-server is killed (SIGKILL) while the backfill packs its third
pipeline, and stays down. The backfill then re-reads the streams' tops to
know what Redis holds: that wait is bounded by the timeout it is given, after
which the last connection error is raised (the run turns it into its one-line
"unreachable after N s (REDIS_CONNECT_TIMEOUT)" exit). Before the fix the
re-read waited for ever: the backfill's thread never ended (the test stops it
through the waker after its generous bound, and fails).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from producer.live import backfill as bf
from producer.live.environment import Waker
from producer.live.faults import TRANSIENT
from producer.live.outbox import Outbox
from producer.live.pace import WallClock
from producer.live.redis_sink import RedisSink
from sim.run import to_epoch
from sim.store import Store
from tests.outbox_faults import MAXLEN, STREAMS
from tests.redis_server import RedisServer

START = to_epoch("2025-11-03")
STORES = (Store(daily_customers=20_000, variation=0.0),)
TIMEOUT = 2.0  # REDIS_CONNECT_TIMEOUT of the backfill
BOUND = 60.0  # how long the test waits for the backfill to give up: far above TIMEOUT on a busy machine


class DyingSink(RedisSink):
    """A real sink whose redis-server is killed while the third pipeline of the backfill is packed."""

    server: RedisServer | None = None
    packed = 0

    def pack_columns(self, *args: Any) -> bytes:
        self.packed += 1
        if self.packed == 3 and self.server is not None:
            self.server.stop()
        return super().pack_columns(*args)


def test_a_backfill_that_lost_redis_gives_up_after_the_connect_timeout(redis_server: RedisServer,
                                                                       monkeypatch: Any) -> None:
    monkeypatch.setattr(bf, "CHUNK", 2000)
    sink = DyingSink.connect(redis_server.url, "", 0, 0, STREAMS, MAXLEN)
    waker = Waker()
    outbox = Outbox(sink, waker, buffer_max=100_000)
    pace = WallClock(START, 1.0, time.time() - 2 * 86_400)  # two days behind: the whole day is due
    outcome: list[BaseException | int] = []

    def run() -> None:
        try:
            outcome.append(bf.backfill(1, STORES, START, START + 86_400, pace, sink, outbox, timeout=TIMEOUT))
        except BaseException as exc:  # noqa: BLE001 - what ended it is the test's subject
            outcome.append(exc)

    try:
        outbox.connect(timeout=30)
        sink.server = redis_server
        thread = threading.Thread(target=run, daemon=True)
        began = time.monotonic()
        thread.start()
        thread.join(BOUND)
        took = time.monotonic() - began
        ended = not thread.is_alive()
        if not ended:
            waker.stop()  # release the old code's endless wait, then fail
            thread.join(30)
        assert sink.packed >= 3, "the server was killed mid-backfill"
        assert ended, f"the backfill still waited for Redis {BOUND:g} s after losing it (timeout {TIMEOUT:g} s)"
        assert len(outcome) == 1 and isinstance(outcome[0], TRANSIENT), f"a connection error is raised: {outcome}"
        assert took >= TIMEOUT, f"it waited the timeout before giving up ({took:.1f} s)"
    finally:
        sink.close()
        waker.close()
