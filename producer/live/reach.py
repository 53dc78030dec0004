"""Reaching Redis: wait until it answers, retried with the retry policy, the cases retrying cannot fix named.

A run's first phase waits here before it takes its leases; the outbox waits
here again whenever it reads the streams anew. One place counts the failed
operations (the outbox adds its failed writes), for the log and ``/metrics``.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

from producer.live.environment import Waker
from producer.live.faults import TRANSIENT, Backoff, retrying, short
from producer.live.sink import RedisError, Sink

log = logging.getLogger("producer.live.outbox")


class Reach:
    """Waits for the Redis of a :class:`~producer.live.sink.Sink`, with one :class:`Backoff` and one count of failures."""

    def __init__(self, sink: Sink, waker: Waker, backoff: Backoff | None = None) -> None:
        self.sink, self.waker = sink, waker
        self.backoff = backoff or Backoff()
        #: Failed Redis operations so far (connection attempts, and the outbox's failed writes).
        self.errors = 0

    def failed(self) -> None:
        """Count a failed operation (a write the outbox will retry)."""
        self.errors += 1

    def wait(self, attempt: Callable[[], object], timeout: float | None) -> None:
        """``attempt()`` until it succeeds; ``timeout`` (seconds, ``None`` = for ever) bounds the wait,
        after which the last error is raised. A log line per attempt."""
        retrying(lambda: self._once(attempt), f"Redis at {self.sink.where} is unreachable", self.waker.wait,
                 timeout, self.backoff)
        self.backoff.reset()

    def _once(self, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except TRANSIENT as exc:
            if _untrusted_certificate(exc):  # retrying cannot fix a certificate
                raise RedisError(
                    f"TLS: the certificate of Redis at {self.sink.where} is not trusted "
                    f"({short(exc).split('] ')[-1].split(' (_ssl')[0]}): give its CA in REDIS_URL "
                    "(rediss://host:port/0?ssl_ca_certs=/path/ca.crt)") from None
            self.errors += 1
            if self.errors == 1:  # once: the default (redis:6379) is the compose service's name
                log.info("to use another Redis, name it: REDIS_URL=redis://HOST:PORT/DB or --redis-url "
                         "(or REDIS_HOST and REDIS_PORT); waiting for this one meanwhile "
                         "(REDIS_CONNECT_TIMEOUT=SECONDS stops waiting)")
            raise
        if self.errors:
            log.info("connected to Redis at %s", self.sink.where)


def _untrusted_certificate(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc)
