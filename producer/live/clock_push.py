"""Learning that the followed clock changed by push, not by polling it.

A :class:`~producer.live.pace.FollowedClock` that reads ``sim:now`` every
5 ms costs 75 ms of CPU per wall second even while nothing happens, and is
up to 5 ms late by construction. Redis can instead say when the key
changes: **client-side caching invalidation** (``CLIENT TRACKING``,
Redis 6 and later), which needs no server setting (keyspace
notifications would need ``notify-keyspace-events``, which the producer
never changes on a server it does not own).

:class:`ClockPush` keeps one connection of its own, in RESP2, that tracks
the key in broadcasting mode (``CLIENT TRACKING ON REDIRECT <itself> BCAST
PREFIX <key>``) and is subscribed to ``__redis__:invalidate``: every write
of the key (a SET, an MSET, a DEL, an expiry, a FLUSHALL) arrives there as
a message. A thread waits on that connection; on a message it notes the
instant (monotonic), sends a ``GET`` of the key on a second connection,
calls ``on_change`` (the paced loop's waker) and reads the reply: the
paced loop wakes while the value is on its way, and takes it from here
(:meth:`ClockPush.take`) instead of asking Redis itself. Between changes
the thread is blocked in ``select`` and costs nothing.

Faults:

- the connection lost (Redis restarted, a network cut, or any other
  fault of the connection): the push is not
  ``live`` until it is back, and the clock polls meanwhile; the thread
  reconnects with redis-py's exponential backoff (capped at 1 s) and, once
  tracking is on again, notes a change, so whatever was written while it
  was away is read;
- a server that goes silent: after :data:`PROBE` seconds without a message
  the thread sends a ``PING``; no answer within another :data:`PROBE`
  seconds counts as a lost connection;
- a server that refuses (older than Redis 6, an ACL without ``CLIENT`` or
  ``SUBSCRIBE``): one line saying so, and the clock polls for the rest of
  the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from producer.live.pace import Pushed

log = logging.getLogger("producer.live.clock_push")

#: The channel Redis publishes invalidation messages on (RESP2 clients).
CHANNEL = "__redis__:invalidate"
#: Seconds without a message before the connection is probed, and the probe's deadline.
PROBE = 1.0
#: Seconds :meth:`ClockPush.take` waits for a value on its way before letting the clock read it itself.
TAKE_WAIT = 0.05


class ClockPush:
    """Says when ``key`` was written, by Redis's invalidation messages, from a thread of its own.

    ``connection()`` returns a new redis-py ``Connection`` (not connected
    yet) speaking RESP2; ``on_change()`` is called from the thread
    on every change (and when the push is lost or back) and must be safe
    from any thread. ``what`` names the key in log lines.
    """

    def __init__(self, connection: Callable[[], Any], key: str, on_change: Callable[[], None], what: str) -> None:
        self.connection, self.key, self.on_change, self.what = connection, key, on_change, what
        #: True while tracking is on and the connection is up: changes are pushed.
        self.live = False
        self._changed_at: float | None = None  # monotonic instant of the first change not yet taken
        self._raw: bytes | None = None  # the key's value read after the latest change ...
        self._known = False  # ... if that read succeeded
        self._reading = False  # a read of the key is on its way
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._conn: Any = None  # the push connection ...
        self._reader: Any = None  # ... and the one reading the key after each change
        self._failures = 0  # connections lost in a row
        self._thread = threading.Thread(target=self._run, name="clock-push", daemon=True)

    def start(self) -> ClockPush:
        self._thread.start()
        return self

    def pending(self) -> bool:
        """Whether a change was pushed that :meth:`take` has not returned yet."""
        return self._changed_at is not None

    def take(self) -> Pushed | None:
        """The change pushed since the last call (``None``: none), with the value read after it.

        A read on its way is waited for (up to :data:`TAKE_WAIT` seconds);
        a value that could not be read comes back not ``known``.
        """
        with self._cond:
            if self._changed_at is None:
                return None
            if self._reading:
                self._cond.wait_for(lambda: not self._reading, timeout=TAKE_WAIT)
            at, self._changed_at = self._changed_at, None
            return Pushed(at, self._raw, self._known and not self._reading)

    def close(self) -> None:
        """Stop the thread: its connection is shut down, which ends its wait at once."""
        self._closed.set()
        self.live = False
        for conn in (self._conn, self._reader):
            if conn is not None:
                try:
                    conn.disconnect()
                except Exception:  # noqa: BLE001, S110 - closing a connection that is already gone
                    pass
        self._thread.join(timeout=0.5)  # at once, but for a thread stalled elsewhere (a daemon: it goes at exit)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = ExponentialBackoff(cap=1.0, base=0.05)
        while not self._closed.is_set():
            try:
                self._listen()
                return  # closed
            except ResponseError as exc:
                self._lost()
                if not self._closed.is_set():
                    log.warning("%s: Redis refuses client tracking (%s): polling the clock instead",
                                self.what, " ".join(str(exc).split())[:120])
                return
            except Exception as exc:  # noqa: BLE001 - LOST, or the connection shut by close() mid-call
                self._lost()
                if self._closed.is_set():
                    return
                if self._failures == 0:
                    log.info("%s: the push connection is lost (%s): polling the clock until it is back",
                             self.what, " ".join(str(exc).split())[:120] or type(exc).__name__)
                self._failures += 1
                self._closed.wait(backoff.compute(self._failures))

    def _listen(self) -> None:
        """Track the key and wait for its messages until closed (raises when a connection fails)."""
        # Kept before connecting, so that close() can end a connect hanging on a frozen server.
        conn, reader = self._conn, self._reader = self.connection(), self.connection()
        try:
            conn.connect()
            reader.connect()
            conn.send_command("CLIENT", "ID")
            own = conn.read_response()
            conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own, "BCAST", "PREFIX", self.key)
            conn.read_response()
            conn.send_command("SUBSCRIBE", CHANNEL)
            conn.read_response()
            self.live = True
            # Anything written before tracking was on is unknown: read the key once.
            self._changed(reader, time.monotonic())
            if self._failures:
                self._failures = 0
                log.info("%s: the push connection is back: following changes as they happen", self.what)
            self._wait(conn, reader)
        finally:
            self._conn = self._reader = None
            conn.disconnect()
            reader.disconnect()

    def _wait(self, conn: Any, reader: Any) -> None:
        key = self.key.encode()
        probing = False
        while not self._closed.is_set():
            if not conn.can_read(timeout=PROBE):
                if probing:
                    raise RedisTimeoutError(f"no reply to PING within {PROBE:g} s")
                conn.send_command("PING")
                probing = True
                continue
            at = time.monotonic()
            message = conn.read_response()
            probing = False
            if isinstance(message, list) and len(message) == 3 and message[0] == b"message":
                keys = message[2]
                if keys is None or key in keys:  # None: a FLUSHALL / FLUSHDB, every key invalidated
                    self._changed(reader, at)

    def _changed(self, reader: Any, at: float) -> None:
        """A change at ``at``: the key read (the paced loop woken while the reply is on its way)."""
        with self._cond:
            if self._changed_at is None:
                self._changed_at = at
            self._reading = True
        try:
            reader.send_command("GET", self.key)
            self.on_change()
            try:
                raw, known = reader.read_response(), True
            except ResponseError:  # a key of the wrong type: the clock reads it itself and says so
                raw, known = None, False
        except BaseException:
            self._settle(None, False)
            raise
        self._settle(raw, known)

    def _settle(self, raw: bytes | None, known: bool) -> None:
        with self._cond:
            self._raw, self._known, self._reading = raw, known, False
            self._cond.notify_all()

    def _lost(self) -> None:
        was = self.live
        self.live = False
        self._settle(None, False)
        if was:
            self.on_change()  # the clock starts polling now, not at its next safety read
