"""The producer's progress line: one per simulated hour, never one per event.

At speed-ups above 3,600 simulated hours pass faster than one a second; the
line then covers every hour since the last one, at most one line per wall
second, so the log stays readable at any speed.
"""

from __future__ import annotations

import logging
import time

from producer.live.emitter import Emitter
from producer.live.environment import PacedEnvironment
from producer.live.outbox import Outbox
from producer.options import plural
from sim.events import iso

log = logging.getLogger("producer")

HOUR = 3600


class ProgressLog:
    """Logs visits, entries written, lateness and the buffer since the last line."""

    def __init__(self, env: PacedEnvironment, outbox: Outbox, emitter: Emitter, min_interval: float = 0.9) -> None:
        self.env, self.outbox, self.min_interval = env, outbox, min_interval
        self.emitter = emitter
        # A restarted run replays what the streams hold first: its lines start where the streams end.
        self._since = max(int(env.now), int(env.replay_until))
        self._visits = 0
        self._written = 0
        self._wall = time.monotonic()

    def start(self) -> None:
        """Schedule a line at every whole simulated hour."""
        first = (self._since // HOUR + 1) * HOUR
        self.env.every(HOUR, self.tick, first=first)

    def tick(self, now: int) -> None:
        wall = time.monotonic()
        if wall - self._wall < self.min_interval:
            return
        self.line(now)
        self._wall = wall

    def line(self, now: int) -> None:
        ob = self.outbox
        visits = self.emitter.visits
        written = sum(ob.written)
        w = ob.window
        log.info(
            "%s..%s: %s, %s written, lateness p50 %.1f ms p99 %.1f ms max %.1f ms, "
            "%d buffered, lag %.2f s%s",
            iso(self._since)[:16], iso(now)[11:16], plural(visits - self._visits, "visit"),
            plural(written - self._written, "entry", "entries"),
            w.quantile(0.5) * 1e3, w.quantile(0.99) * 1e3, w.max * 1e3, ob.pending(), self.env.lag(),
            ", Redis DOWN" if ob.down else "",
        )
        self._since, self._visits, self._written = now, visits, written
        w.reset()
