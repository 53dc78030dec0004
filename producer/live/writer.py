"""The writer thread: sends pre-encoded pipelines and reads their replies, off the simulation's thread.

:class:`~producer.live.redis_sink.RedisSink` packs a batch (an atomic append
per stream: :mod:`producer.live.append`) into bytes and hands them, with the connection they go on, to a
:class:`Writer`. Its thread sends the bytes, reads every reply and records
when the last one arrived; the simulation goes on meanwhile and collects the
outcome later (:meth:`Batch.wait`). Sending blocks when Redis reads slowly
(its socket buffer is full) and reading blocks until Redis has answered, up
to the socket timeout (a frozen server): in this thread neither pauses the
paced loop. Socket calls release the GIL, so the two threads overlap.

One batch is in flight at a time (the outbox's exactly-once bookkeeping
rests on that); the thread only moves bytes and classifies replies, every
decision stays with the outbox.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import ResponseError

#: Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


class Batch:
    """One pipeline in flight: its bytes, how many replies to read, and (once done) their outcome."""

    __slots__ = ("conn", "connect", "packed", "groups", "done", "repeated", "refusal", "error", "replied_at")

    def __init__(self, conn: Any, packed: bytes, groups: list[list[int] | None],
                 connect: Callable[[], Any] | None = None) -> None:
        #: Per command sent, in order: the entries of an append (their indices in the batch), or ``None``.
        self.conn, self.packed, self.groups = conn, packed, groups
        #: Without a connection: how to open one (in the thread: connecting to a frozen server blocks).
        self.connect = connect
        self.done = threading.Event()
        #: Indices of the entries found already in their stream (an append's reply counts them).
        self.repeated: list[int] = []
        #: The first other refusal (OOM, READONLY, NOPERM ...), if any.
        self.refusal: ResponseError | None = None
        #: Why the batch failed (the connection), if it did: the replies are unknown.
        self.error: BaseException | None = None
        #: Monotonic time the last reply was read (the moment Redis had confirmed the batch).
        self.replied_at = 0.0

    def wait(self) -> None:
        """Until the thread is done with the batch (bounded by the socket's timeout)."""
        while not self.done.wait(1.0):
            pass


class Writer:
    """A daemon thread that writes one :class:`Batch` after another; ``replied()`` is called after each."""

    def __init__(self, replied: Callable[[], None] | None = None) -> None:
        self.replied = replied
        self._jobs: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, batch: Batch) -> None:
        if self._thread is None:
            # A reply read, the thread needs the GIL for a moment: the simulation, busy, hands it
            # over at the switch interval, 5 ms by default; 0.5 ms keeps that out of the lateness.
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
            self._thread = threading.Thread(target=self._run, name="redis-writer", daemon=True)
            self._thread.start()
        self._jobs.put(batch)

    def close(self) -> None:
        """End the thread once it has finished what it was given (not waiting for a frozen server)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=0.5)
            self._thread = None

    def _run(self) -> None:
        while True:
            batch = self._jobs.get()
            if batch is None:
                return
            try:
                _write(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the simulation's thread, which decides
                batch.error = exc
            batch.replied_at = time.monotonic()
            batch.done.set()
            if self.replied is not None:
                self.replied()


def _write(batch: Batch) -> None:
    if batch.conn is None and batch.connect is not None:
        batch.conn = batch.connect()
    conn = batch.conn
    conn.send_packed_command([batch.packed], check_health=False)
    batch.packed = b""  # not needed any more: free it now
    repeated = batch.repeated
    for group in batch.groups:
        try:
            reply = conn.read_response()
        except ResponseError as exc:
            if batch.refusal is None:
                batch.refusal = exc
            continue
        if group is not None and reply:
            repeated.extend(group[:int(reply)])  # a prefix of its entries: those not above the top
