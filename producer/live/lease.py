"""The lease: one producer at a time on a pair of streams.

Two producers writing the same streams would mix their runs (or, with the
same run, race for it). Before it reads or creates a run, a producer takes
the key ``<REDIS_STREAM>:lease`` with ``SET NX PX`` (a token of its own,
expiring after ``LEASE_SECONDS``) and renews it from a background thread
(one for all the leases of its stores, :class:`LeaseGroup`) every third of that time, for as long as it produces; a clean exit deletes
it. A second producer on the same streams finds the lease taken and either
exits with one line or, with ``STANDBY=1``, waits: when the active producer
dies its lease expires, and the standby takes it and continues the run
exactly where the streams end (the resume of a restart).

Renewal and release compare the token in a Lua script, so a producer never
extends or deletes another's lease. A renewal that finds the lease gone
while Redis kept it (taken by another) is fatal: the producer stops. A
Redis restarted empty has forgotten the lease: it is taken again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis

from producer.live.sink import RedisError

log = logging.getLogger("producer.live.lease")

_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not held then
  if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 2 end
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseTaken(Exception):
    """Another producer holds the lease; the message is one line."""


def lease_key(stream: str) -> str:
    return f"{stream}:lease"


class Lease:
    """``<stream>:lease``, held while producing (and renewed in the background by its :class:`LeaseGroup`)."""

    def __init__(self, client: redis.Redis, key: str, seconds: float, lost: Callable[[str], None]) -> None:
        self.client, self.key, self.ms = client, key, max(1, int(seconds * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lost = lost
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def holder(self) -> str | None:
        raw = self.client.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def try_take(self) -> bool:
        """Take the lease if it is free, or keep it if it is ours already (a start-up step retried)."""
        return bool(self._renew(keys=[self.key], args=[self.token, self.ms]))

    def take(self, standby: bool, wait: Callable[[float], None]) -> None:
        """Take the lease; if a live producer has it: raise :class:`LeaseTaken`, or wait (``standby``).

        A lease left by a producer that died (a crash, then a restart at once)
        is not renewed: its time to live only runs down, and it is taken when
        it expires. A live holder renews it every third of its time, which
        shows as the time to live going up: only then is the holder alive.
        """
        said = False
        last_ttl: int | None = None
        while not self.try_take():
            holder, ttl = self.holder(), int(self.client.pttl(self.key))
            if holder is None or ttl < 0:
                continue  # it expired (or has no expiry to wait for) between the commands
            renewed = last_ttl is not None and ttl > last_ttl + 50
            last_ttl = ttl
            if renewed and not standby:
                raise LeaseTaken(
                    f"another producer ({holder}) is writing to these streams (lease {self.key}); "
                    "stop it, give this one another REDIS_STREAM, or set STANDBY=1 to wait and take over")
            if not said:
                log.warning("lease %s is held by producer %s: %s", self.key, holder,
                            "standby, waiting to take over when it stops" if standby
                            else "waiting to see whether it is still alive (a lease expires unless renewed)")
                said = True
            wait(min(0.1, self.ms / 3000))
        if said:
            log.warning("took over lease %s; continuing the run", self.key)

    def renewed(self, kept: int) -> bool:
        """What the renewal script answered: ``False`` when another producer has the lease (``lost`` is told)."""
        if kept == 2:
            log.warning("Redis had forgotten lease %s (restarted empty or failed over?): taken again", self.key)
        elif not kept:
            self.lost(f"lost lease {self.key} to producer {self.holder()}: stopping "
                      "(two producers must not write the same streams)")
            return False
        return True

    def release(self) -> None:
        """Delete the lease if it is still ours (a standby takes over at once)."""
        try:
            self._release(keys=[self.key], args=[self.token])
        except redis.RedisError:
            pass  # it expires by itself


class LeaseGroup:
    """The leases of a producer (one, or one per store: ``STREAM_PER_STORE``), taken together and renewed by
    one thread."""

    def __init__(self, leases: list[Lease],
                 eval_each: Callable[[str, Sequence[tuple[str, Sequence[Any]]]], list[Any]] | None = None) -> None:
        self.leases = leases
        #: Runs a script on many keys at once (the sink's pipelines); ``None``: one call per lease.
        self.eval_each = eval_each
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, standby: bool, wait: Callable[[float], None]) -> None:
        """Take every lease (see :meth:`Lease.take`); then renew them all from one background thread.

        The free ones (and those ours already) are taken in pipelines, a
        round trip per thousand stores; only a lease held by another
        producer is waited for, one at a time.
        """
        for lease, kept in zip(self.leases, self._script_all(), strict=True):
            if not kept:
                lease.take(standby, wait)
        if self._thread is None:  # taken again (a retried start): renewed already
            self._thread = threading.Thread(target=self._keep, name="leases", daemon=True)
            self._thread.start()

    def _script_all(self) -> list[int]:
        """The renewal script (take if free, extend if ours) on every lease, batched: its replies."""
        calls: list[tuple[str, list[Any]]] = [(lease.key, [lease.token, lease.ms]) for lease in self.leases]
        if self.eval_each is None:
            return [int(lease._renew(keys=[key], args=args)) for lease, (key, args) in zip(self.leases, calls)]
        replies = self.eval_each(_RENEW, calls)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return [int(kept) for kept in replies]

    def _keep(self) -> None:
        every = min(lease.ms for lease in self.leases) / 3000
        while not self._stop.wait(every):
            try:
                replies = self._script_all()
            except (redis.RedisError, RedisError):
                continue  # Redis is down: the outbox says so; the leases are renewed when it is back
            for lease, kept in zip(self.leases, replies, strict=True):
                if self._stop.is_set() or not lease.renewed(kept):
                    return

    def release(self) -> None:
        """Stop renewing and delete every lease still ours (batched as the renewals are)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.eval_each is None:
            for lease in self.leases:
                lease.release()
            return
        try:
            self.eval_each(_RELEASE, [(lease.key, [lease.token]) for lease in self.leases])
        except (redis.RedisError, RedisError):
            pass  # they expire by themselves
