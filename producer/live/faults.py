"""What Redis's failures mean to the producer, in one table, and the one retry policy.

Every failure the producer meets is one of three kinds:

- **transient**: the connection was lost or timed out, or Redis refused a
  command *for now* (out of memory, a replica after a failover, loading,
  a script running, a cluster in transition). The entries stay buffered,
  and the step is retried with :class:`Backoff`.
- **not ours**: the key, slot or id belongs to someone else: a key of
  another type (``WRONGTYPE``), a slot served by another node (``MOVED``,
  ``ASK``), an id not above the stream's top (our own earlier write, or
  another writer's: the outbox checks which).
- **fatal**: retrying cannot help (credentials, ACL, not the Redis
  protocol, a command refused for good); the run ends with one line.

As in redis-py, where ``EXCEPTION_CLASSES`` turns a reply's code into an
exception class, the kind is found by a table, never by reading messages
in several places: :data:`FAULT_CLASSES` by exception class (along the
class's MRO, so the most specific entry wins) and :data:`REPLY_CODES` for
the replies redis-py leaves untyped (a plain ``ResponseError``).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from redis.backoff import AbstractBackoff, EqualJitterBackoff
from redis.exceptions import (
    AskError,
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ClusterDownError,
    InvalidResponse,
    MasterDownError,
    MovedError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("producer.live.faults")


class Fault(enum.Enum):
    TRANSIENT = "transient"  #: wait, then retry
    NOT_OURS = "not ours"  #: another's key, slot or id: route, check or stop, never overwrite
    FATAL = "fatal"  #: one line, exit 1


#: Exception classes and their kind (looked up along the exception's MRO: the most specific wins).
FAULT_CLASSES: dict[type[BaseException], Fault] = {
    # The connection: lost, refused, timed out (redis-py's own types, and the socket's).
    RedisConnectionError: Fault.TRANSIENT,
    RedisTimeoutError: Fault.TRANSIENT,
    OSError: Fault.TRANSIENT,
    # Replies meaning "try again later" (OOM, READONLY, LOADING, MASTERDOWN, TRYAGAIN, CLUSTERDOWN).
    OutOfMemoryError: Fault.TRANSIENT,
    ReadOnlyError: Fault.TRANSIENT,
    BusyLoadingError: Fault.TRANSIENT,
    MasterDownError: Fault.TRANSIENT,
    TryAgainError: Fault.TRANSIENT,
    ClusterDownError: Fault.TRANSIENT,
    # Another node's slot (MovedError is an AskError).
    AskError: Fault.NOT_OURS,
    MovedError: Fault.NOT_OURS,
    # Retrying cannot fix these (AuthenticationError is a ConnectionError: listed so that it wins).
    AuthenticationError: Fault.FATAL,
    AuthorizationError: Fault.FATAL,
    NoPermissionError: Fault.FATAL,
    InvalidResponse: Fault.FATAL,
    ResponseError: Fault.FATAL,
}

#: The first word of a reply redis-py leaves untyped (a plain ``ResponseError``), and its kind.
REPLY_CODES: dict[str, Fault] = {
    "BUSY": Fault.TRANSIENT,  # a script is running
    "WRONGTYPE": Fault.NOT_OURS,  # the key holds another type: another program's key
    "NOAUTH": Fault.FATAL,
    "WRONGPASS": Fault.FATAL,
}

#: An XADD refused because the id is not above the stream's top: an entry already there.
ID_TOO_SMALL = "equal or smaller than the target stream top item"

#: Exceptions after which the connection is dropped and the step retried: the transient classes
#: that are not replies (a transient reply is turned into :class:`~producer.live.sink.Refused`,
#: a connection error, where it is read).
TRANSIENT: tuple[type[BaseException], ...] = tuple(
    cls for cls, kind in FAULT_CLASSES.items() if kind is Fault.TRANSIENT and not issubclass(cls, ResponseError))


def classify(exc: BaseException) -> Fault:
    """The kind of a failure, by :data:`REPLY_CODES` for untyped replies, else by :data:`FAULT_CLASSES`."""
    if type(exc) is ResponseError:
        code = str(exc).split(" ", 1)[0]
        if code in REPLY_CODES:
            return REPLY_CODES[code]
        if ID_TOO_SMALL in str(exc):
            return Fault.NOT_OURS
    for cls in type(exc).__mro__:
        kind = FAULT_CLASSES.get(cls)
        if kind is not None:
            return kind
    return Fault.FATAL


def refused_for_now(exc: BaseException) -> bool:
    """Whether a reply refuses a command for now (a transient reply, as opposed to a lost connection)."""
    return isinstance(exc, ResponseError) and classify(exc) is Fault.TRANSIENT


#: Backoff between attempts (seconds): about doubling from the first to the last.
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0


class Backoff:
    """The retry policy: redis-py's :class:`~redis.backoff.EqualJitterBackoff`, counting failures.

    The n-th delay in a row is between half and all of ``first * 2**n``,
    capped at ``most``: the jitter keeps producers that lost the same Redis
    from coming back in step. :meth:`reset` after a success.
    """

    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX,
                 backoff: AbstractBackoff | None = None) -> None:
        # EqualJitterBackoff(cap, base) gives base * 2**(n+1) / 2 .. base * 2**(n+1): base is half the first.
        self.backoff = backoff or EqualJitterBackoff(cap=most, base=first / 2)
        self.failures = 0

    def take(self) -> float:
        delay = self.backoff.compute(self.failures + 1)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


T = TypeVar("T")


def short(exc: BaseException) -> str:
    """An error as one short line."""
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def retrying(step: Callable[[], T], what: str, wait: Callable[[float], None], timeout: float | None = None,
             backoff: Backoff | None = None, again: Callable[[], None] | None = None) -> T:
    """``step()``, retried after each transient failure with the policy, one log line per retry.

    ``what`` says what failed (``Redis at host:6379/0 is unreachable``);

    ``wait`` sleeps (the producer's waker: a stop ends the wait); ``timeout``
    (seconds, ``None`` = for ever) bounds the retries, after which the last
    failure is raised; ``again`` runs before each retry (a reconnection).
    """
    policy = backoff or Backoff()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            if policy.failures and again is not None:
                again()
            return step()
        except TRANSIENT as exc:
            delay = policy.take()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                delay = min(delay, left)
            log.warning("%s (%s); retrying in %.1f s", what, short(exc), delay)
            wait(delay)
