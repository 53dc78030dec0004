"""Pacing: what simulated time is due now, and when to look again.

The paced environment (:mod:`producer.live.environment`) asks its pace two
questions about the next event's simulated time ``t``:

- :meth:`Pace.due`: the monotonic time at which ``t`` fell (or falls) due,
  or ``None`` while that is not known yet;
- :meth:`Pace.wake_at`: when to look again if ``t`` is not due yet.

There are two paces, and the environment does not know which one it has:

- :class:`WallClock`: simulated time runs at ``speed`` times the wall clock
  from an anchor (``sim_start`` is due at the epoch time ``wall_start``).
  Every due time is known in advance, so the environment sleeps until it.
- :class:`FollowedClock`: simulated time is whatever another program says
  (the pipeline's ``sim:now`` in Redis). A time is due once the clock has
  reached it. Redis pushes each change of the key
  (:mod:`producer.live.clock_push`), which wakes the environment, and the
  clock is read then; without a push (a server that refuses it, a Redis
  Cluster, a push connection lost) it is read every :data:`POLL` seconds
  while the environment waits, and with one every :data:`SAFETY` seconds
  all the same. It never goes backwards here: a clock that does (its
  driver restarted) is held at the latest time reached, with one warning.
  So is a value that is no time a run can reach (outside
  :data:`sim.limits.FIRST_INSTANT` .. :data:`sim.limits.LAST_INSTANT`),
  and a jump forward of more than ``max_jump`` seconds (``CLOCK_MAX_JUMP``:
  a garbage value would otherwise make everything up to it due at once),
  until the clock comes back within reach. A jump forward within the bound
  makes everything in between due at once, in order.

Lateness (time written minus time due) is measured from :meth:`Pace.due`.
For the followed clock the instant the clock changed is not known exactly:
with a push it is the instant the first change since the last read was
pushed (a local Redis delivers that within tens of microseconds of the
write); when polling, the read before the change (an upper bound, by at
most one poll interval, plus any time the producer was too busy to read).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sim.limits import FIRST_DATE, FIRST_INSTANT, LAST_DATE, LAST_INSTANT

log = logging.getLogger("producer.live.pace")

#: Seconds between two reads of a followed clock while waiting for it (without a push).
POLL = 0.005
#: Seconds between two reads of a followed clock whose changes are pushed (a safety net).
SAFETY = 1.0
#: The default bound on a followed clock's jump forward (CLOCK_MAX_JUMP): one simulated day.
MAX_JUMP = 86_400
#: Reads of a followed clock kept to answer ``due`` for times already reached.
HISTORY = 100_000


class Pace(Protocol):
    """What the paced environment asks: when a simulated time is due, and when to look again."""

    def due(self, t: float) -> float | None:
        """The monotonic time at which simulated time ``t`` is (or was) due; ``None`` if not known yet."""
        ...

    def wake_at(self, t: float) -> float:
        """The monotonic time to look at ``t`` again when it is not due yet."""
        ...

    def expect(self, t: float) -> float | None:
        """A guess of when ``t`` falls due (for choosing idle work), or ``None``."""
        ...


def wall_to_monotonic(wall: float) -> float:
    """The monotonic time of wall time ``wall``, from a pair of readings taken together.

    The two clocks are read one after the other; if this thread stalls in
    between (another thread holding the GIL in a long numpy call, a busy
    machine), the pair is off by the stall, and so would be every event's
    due time after it (it happened: 0.9 s early, under load). A reading is
    kept only when a wall reading before and after it are within 1 ms.
    """
    best = (time.time(), time.monotonic(), time.time())
    for _ in range(100):
        if best[2] - best[0] < 0.001:
            break
        again = (time.time(), time.monotonic(), time.time())
        if again[2] - again[0] < best[2] - best[0]:
            best = again
    before, mono, after = best
    return mono - ((before + after) / 2 - wall)


class WallClock:
    """Simulated time = ``sim_start + (wall - wall_start) * speed``."""

    def __init__(self, sim_start: int, speed: float, wall_start: float) -> None:
        self.sim_start, self.speed = sim_start, speed
        self.factor = 1.0 / speed
        self.anchor(wall_start)

    def anchor(self, wall_start: float) -> None:
        """Make ``sim_start`` due at ``wall_start`` (epoch seconds)."""
        self.wall_start = wall_start
        # The same instant on the monotonic clock the environment sleeps on.
        self.real_start = wall_to_monotonic(wall_start)

    def due(self, t: float) -> float:
        return self.real_start + (t - self.sim_start) * self.factor

    def reached(self) -> float:
        """The simulated time due now (the inverse of :meth:`due` at this monotonic instant)."""
        return self.sim_start + (time.monotonic() - self.real_start) * self.speed

    def wake_at(self, t: float) -> float:
        return self.due(t)

    def expect(self, t: float) -> float:
        return self.due(t)


@dataclass(frozen=True)
class Pushed:
    """A change of the followed clock, as pushed: when, and the key's value read just after it."""

    at: float  #: monotonic instant the first change since the last :meth:`Push.take` was pushed
    raw: bytes | None  #: the key's value read after it (``None``: missing) ...
    known: bool  #: ... if it could be read (else the clock reads the key itself: a wrong type, a lost reply)


class Push(Protocol):
    """Changes of the followed clock told as they happen (see :class:`producer.live.clock_push.ClockPush`)."""

    live: bool  #: whether changes are being pushed now (else the clock polls)

    def pending(self) -> bool:
        """Whether a change was pushed that :meth:`take` has not returned yet."""
        ...

    def take(self) -> Pushed | None:
        """The change pushed since the last call (``None``: none), its value once read."""
        ...


def parse_clock(raw: bytes | str) -> float:
    """A clock value: an ISO time (``2026-01-01T07:00:15+00:00``; no offset means UTC) -> epoch seconds.

    ValueError if it is not an ISO time (or not UTF-8).
    """
    text = raw.decode() if isinstance(raw, bytes) else raw
    when = dt.datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


class FollowedClock:
    """The simulated time another program keeps in Redis: read when a change is pushed, else polled.

    ``read`` returns the key's raw value, ``None`` when the key is missing,
    and raises when Redis cannot be asked (the outbox deals with a Redis
    that is down; the clock only holds meanwhile). ``what`` names the key in
    log lines. ``push`` (optional) tells of changes as they happen; while it
    is not live the clock is read every ``poll`` seconds. ``max_jump``
    bounds a jump forward in simulated seconds (0: no bound).
    """

    def __init__(
        self, read: Callable[[], bytes | str | None], what: str, poll: float = POLL, push: Push | None = None,
        max_jump: float = MAX_JUMP,
    ) -> None:
        self.read, self.what, self.poll, self.push, self.max_jump = read, what, poll, push, max_jump
        self.high = -math.inf  #: the latest simulated time reached
        self._values: list[float] = []  # increasing clock values ...
        self._times: list[float] = []  # ... and the monotonic time each was (at the latest) reached
        self._last_read = -math.inf  # monotonic time of the last read
        self._trouble: str | None = None  # what is wrong with the clock now (logged once per episode)
        self._rate: tuple[float, float] | None = None  # (monotonic, value) of a recent change, for expect()
        self.speed = 0.0  # simulated seconds per wall second, as observed

    # -- reading ---------------------------------------------------------------------------

    def look(self) -> float | None:
        """Read the clock now; returns the latest time reached (``None`` while there is none)."""
        before = self._last_read
        pushed = self.push.take() if self.push is not None else None
        now = time.monotonic()
        self._last_read = now
        value = self._value(pushed)
        if value is None:
            return self._reached()
        if self._trouble is not None:
            if self.high > -math.inf:
                log.info("%s reads %s: following it again", self.what, self._show(value))
            self._trouble = None
        if value > self.high:
            # It changed after the previous read: the first change pushed since, or else that
            # read, is the earliest it may have changed.
            self._values.append(value)
            self._times.append(pushed.at if pushed is not None else before if before > -math.inf else now)
            if len(self._values) > 2 * HISTORY:
                del self._values[:HISTORY], self._times[:HISTORY]
            self._observe_rate(now, value)
            self.high = value
        return self._reached()

    def _value(self, pushed: Pushed | None) -> float | None:
        """The clock's value (as pushed, else read now) if it is one to follow; else ``None``, holding.

        Each kind of trouble is said once per episode.
        """
        held = f"holding at {self._show(self.high)}"
        if pushed is not None and pushed.known:
            raw: bytes | str | None = pushed.raw
        else:
            try:
                raw = self.read()
            except Exception as exc:  # noqa: BLE001 - a clock we cannot read holds; the write path reports Redis
                self._hold("unreadable", f"{self.what} cannot be read ({' '.join(str(exc).split())[:120]}): "
                           f"{held} until it can")
                return None
        if raw is None:
            self._hold("missing", f"{self.what} is missing: {held} until it is set")
            return None
        try:
            value = parse_clock(raw)
        except ValueError:
            self._hold("malformed", f"{self.what}={_text(raw)} is not an ISO time: {held}")
            return None
        if not FIRST_INSTANT <= value <= LAST_INSTANT:
            self._hold("outside", f"{self.what}={_text(raw)} is outside the supported dates ({FIRST_DATE} to "
                       f"{LAST_DATE}, UTC): {held} until it is back within them")
            return None
        if value < self.high:
            self._hold("backwards", f"{self.what} went back from {self._show(self.high)} to {self._show(value)} "
                       "(its driver restarted?): holding at the latest time reached until it passes it again")
            return None
        if self.max_jump and value - self.high > self.max_jump and self.high > -math.inf:
            self._hold("jump", f"{self.what}={_text(raw)} jumps {value - self.high:,.0f} s ahead of "
                       f"{self._show(self.high)}, more than CLOCK_MAX_JUMP={self.max_jump:g} s: {held} until it "
                       "comes back within it (raise CLOCK_MAX_JUMP, or 0 for no bound, to follow such a jump)")
            return None
        return value

    def wait_first(self, wait: Callable[[float], None]) -> float:
        """Read until the clock has a value (saying once that it is awaited); returns it.

        ``wait(seconds)`` sleeps between reads (and may raise to stop).
        """
        waited = False
        self._trouble = "missing"  # said below, in the words of a start
        while True:
            value = self.look()
            if value is not None:
                if waited:
                    log.info("%s is set (%s): starting", self.what, self._show(value))
                return value
            if not waited:
                log.warning("waiting for %s to be set (CLOCK=redis follows it)", self.what)
                waited = True
            wait(SAFETY if self._pushed() else max(self.poll, 0.05))

    # -- the pace --------------------------------------------------------------------------

    def due(self, t: float) -> float | None:
        if t > self.high and self._stale():
            self.look()
        if t > self.high:
            return None
        i = bisect.bisect_left(self._values, t)
        return self._times[i] if i < len(self._times) else self._times[-1]

    def wake_at(self, t: float) -> float:
        return self._last_read + (SAFETY if self._pushed() else self.poll)

    def expect(self, t: float) -> float | None:
        if t <= self.high:
            return self.due(t)
        if self.speed <= 0 or self._rate is None:
            return None
        return self._last_read + (t - self.high) / self.speed

    # -- helpers ---------------------------------------------------------------------------

    def _pushed(self) -> bool:
        return self.push is not None and self.push.live

    def _stale(self) -> bool:
        """Whether to read the clock again: a change was pushed, or the read interval has passed."""
        push = self.push
        if push is not None and push.pending():
            return True
        return time.monotonic() - self._last_read >= (SAFETY if push is not None and push.live else self.poll)

    def _reached(self) -> float | None:
        return None if self.high == -math.inf else self.high

    def _hold(self, kind: str, message: str) -> None:
        """Log ``message`` once per episode of trouble ``kind``."""
        if self._trouble != kind:
            self._trouble = kind
            log.warning("%s", message)

    def _observe_rate(self, now: float, value: float) -> None:
        """Keep the clock's observed speed (over the last second or so), for :meth:`expect`."""
        if self._rate is None:
            self._rate = (now, value)
            return
        since, base = self._rate
        if now - since >= 1.0:
            self.speed = (value - base) / (now - since)
            self._rate = (now, value)

    @staticmethod
    def _show(value: float) -> str:
        if value == -math.inf:
            return "nothing yet"
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()


def _text(raw: bytes | str) -> str:
    """A clock value as shown in a log line: quoted, cut at 60 characters."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return repr(text if len(text) <= 60 else text[:57] + "...")
