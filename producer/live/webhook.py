"""One webhook POST of counter records: its body, its headers, and retrying it until the endpoint says yes.

People counters push their interval records to a customer's endpoint over
HTTP, batched, at least once, in no guaranteed order; the endpoint
de-duplicates by the batch's idempotency key and checks its signature.
This module is the HTTP side of that (the standard library's ``urllib``: no
new dependency); :mod:`producer.live.webhook_relay` decides what to send.

A batch is a JSON array of records of one kind: interval counts, each
exactly a line of the offline ``foot_traffic_counts.jsonl``, or cumulative
registers, each a line of ``foot_traffic_registers.jsonl``. Headers
(docs/feeds.md):

- ``Idempotency-Key``: the SHA-256 of the body, hex. A function of the
  records only, so a batch sent again (a retry, or a restarted producer
  re-sending what was not acknowledged) carries the same key;
- ``X-Foot-Traffic-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the
  body under ``COUNTER_WEBHOOK_SECRET`` (verify with :func:`verify`);
- ``X-Foot-Traffic-Records``: how many records the body holds;
- ``X-Foot-Traffic-Kind``: ``counts`` or ``registers``, the records' kind
  (also told by their fields: a count has ``in``, a register ``in_total``,
  so two batches of different kinds never share a body or a key).

Any 2xx answer acknowledges the batch. Everything else (another status, a
connection refused or reset, a timeout) is retried after a delay from
redis-py's ``EqualJitterBackoff`` (:class:`~producer.live.faults.Backoff`):
half to all of 0.5 s x 2^n, capped at 30 s (the settings ``WEBHOOK_RETRY_FIRST``
and ``WEBHOOK_RETRY_MAX``); the jitter keeps producers that lost the same
endpoint from coming back in step. A batch is never given up:
at least once is the contract, and a permanently refusing endpoint holds
the producer back (the relay's bound) rather than losing records.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence

from producer.live.faults import Backoff, short
from producer.settings import mask_secrets

log = logging.getLogger("producer.live.webhook")

KEY_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "X-Foot-Traffic-Signature"
RECORDS_HEADER = "X-Foot-Traffic-Records"
KIND_HEADER = "X-Foot-Traffic-Kind"


def body_of(lines: Sequence[bytes]) -> bytes:
    """The JSON array of the records (each a JSON object already)."""
    return b"[" + b",".join(lines) + b"]"


def idempotency_key(body: bytes) -> str:
    """The batch's key: the SHA-256 of its body, hex (the same body, the same key, whoever sends it)."""
    return hashlib.sha256(body).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the body under the secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (a constant-time comparison)."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)


class RelayStopped(Exception):
    """The relay is stopping: a batch in retry is left for the next start to send."""


class Poster:
    """POSTs batches to one URL, signed, each retried with backoff until a 2xx answer.

    ``first`` and ``most``: the retry delays' start and cap in seconds
    (``WEBHOOK_RETRY_FIRST``, ``WEBHOOK_RETRY_MAX``; their defaults are the settings').
    """

    def __init__(self, url: str, secret: str, timeout: float, stop: threading.Event,
                 first: float, most: float) -> None:
        self.url, self.timeout, self.stop = url, timeout, stop
        self.where = mask_secrets(url)  #: the URL as messages show it (a password in it masked)
        self._secret = secret
        self._first, self._most = first, most
        self.failures = 0  #: failed attempts so far (all batches): for the log and tests
        self._lock = threading.Lock()

    def headers(self, body: bytes, records: int, kind: str = "counts") -> dict[str, str]:
        return {"Content-Type": "application/json", KEY_HEADER: idempotency_key(body),
                SIGNATURE_HEADER: signature(self._secret, body), RECORDS_HEADER: str(records), KIND_HEADER: kind}

    def deliver(self, body: bytes, records: int, kind: str = "counts") -> None:
        """Send until acknowledged; :class:`RelayStopped` if the relay stops first."""
        backoff = Backoff(self._first, self._most)
        headers = self.headers(body, records, kind)
        while True:
            if self.stop.is_set():
                raise RelayStopped
            failed = self._attempt(body, headers)
            if failed is None:
                return
            with self._lock:
                self.failures += 1
                first = self.failures == 1
            delay = backoff.take()
            (log.warning if first or backoff.failures == 1 else log.debug)(
                "webhook %s: %s; batch %s retried in %.1f s", self.where, failed, headers[KEY_HEADER][:12], delay)
            if self.stop.wait(delay):
                raise RelayStopped

    def _attempt(self, body: bytes, headers: dict[str, str]) -> str | None:
        """One POST: ``None`` if acknowledged (2xx), else what went wrong, in a few words."""
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (http/https only)
                answer.read()
                status = int(answer.status)
        except urllib.error.HTTPError as exc:  # a status that is not 2xx (urllib raises for >= 400)
            exc.close()
            return f"answered {exc.code}"
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, a broken answer
            return short(exc)
        return None if 200 <= status < 300 else f"answered {status}"
