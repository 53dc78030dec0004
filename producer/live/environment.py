"""The real-time environment: SimPy's ``RealtimeEnvironment`` paced for a live sink.

:class:`PacedEnvironment` runs the same :class:`~sim.model.StoreModel` as the
offline run; only :meth:`PacedEnvironment.step` differs from SimPy's. It asks
its :class:`~producer.live.pace.Pace` when the next event is due: the wall
clock × ``SPEED`` knows every due time in advance, a followed clock (the
pipeline's ``sim:now``) only once it has reached it. Before it sleeps it hands
the sink everything it has buffered, so events due together leave in one
pipelined batch and nothing waits in the buffer while the process sleeps.
The sleep is one wait until the due time (or the followed clock's next
read), cut short only by a shutdown signal or by a retry of a sink that is
down. When the process falls behind it keeps stepping without sleeping and
flushes by age or size, which catches up in order; it never raises for
being slow (``strict=False``).

Python's cyclic garbage collector is the other source of pauses: a full
collection of a running model takes 50-150 ms, which shows as lateness. The
model makes no cyclic garbage while it runs (reference counting frees every
event), so :class:`IdleGC` turns automatic collection off and collects when
the producer is about to sleep anyway, with a forced collection every ten
minutes as a safety net for the rare cycle (an exception's traceback, say).
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any, Protocol

import simpy.rt
from simpy.core import EmptySchedule, Infinity
from simpy.events import Event

from producer.live.pace import Pace

log = logging.getLogger("producer.live.environment")

#: When behind schedule, flush once the buffer has waited this long (seconds) ...
FLUSH_AGE = 0.002
#: ... or once this many entries are buffered, whichever comes first.
FLUSH_COUNT = 2000
#: On schedule, a flush waits for the next event if it is due within this many seconds
#: (and the buffer is younger than that).
FLUSH_AHEAD = 0.0005
#: Waits longer than this (seconds) end early and are finished by a short second wait.
EARLY = 0.005
#: Lag (seconds) above which falling behind is logged, and below which catching up is.
LAG_WARN, LAG_OK = 1.0, 0.1


class Stopped(Exception):
    """A shutdown was requested (SIGTERM/SIGINT)."""


class Waker:
    """An interruptible wait: ``wait(t)`` returns early when ``wake()`` is called.

    A self-pipe rather than ``time.sleep`` so a signal handler can end the
    wait at once (``time.sleep`` resumes after a handler that returns).
    """

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self.stopping = False

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``; raise :class:`Stopped` if a stop was requested."""
        if self.stopping:
            raise Stopped
        if seconds > 0:
            ready, _, _ = select.select([self._r], [], [], seconds)
            if ready:
                try:
                    os.read(self._r, 512)
                except BlockingIOError:
                    pass
        if self.stopping:
            raise Stopped

    def stop(self) -> None:
        """Request a stop and end any wait in progress (safe in a signal handler)."""
        self.stopping = True
        try:
            os.write(self._w, b"x")
        except (BlockingIOError, OSError):
            pass

    def nudge(self) -> None:
        """End a wait in progress (or the next one) early, without stopping (safe from any thread)."""
        if self._w < 0:
            return  # closed
        try:
            os.write(self._w, b"n")
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        fds, self._w = (self._r, self._w), -1
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def install_signal_handlers(self, deadline: float = 4.5, unwritten: Callable[[], int] = lambda: -1
                                ) -> Callable[[], None]:
        """SIGTERM, SIGHUP and SIGINT call :meth:`stop`; returns a function restoring the old handlers.

        A stop must end the process in bounded time whatever Redis does (a
        frozen server answers nothing, and ``docker stop`` waits 10 s): if the
        process is still running ``deadline`` seconds after the first stop
        signal, it says what is left unwritten and exits 1 (a restart writes
        it). ``unwritten()`` counts the entries left (``-1``: not known). A
        second SIGINT exits at once with 130. Only the main thread may set
        handlers; elsewhere this does nothing.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self.stopping and signum == signal.SIGINT:
                log.error("received SIGINT again: exiting at once (a restart writes what is left)")
                _exit_now(130)
            if self.stopping:
                return
            log.info("received %s: flushing and stopping", name)
            self.stop()
            watchdog = threading.Timer(deadline, _overdue, args=(deadline, unwritten))
            watchdog.daemon = True
            watchdog.start()

        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

        def restore() -> None:
            for sig, h in old.items():
                signal.signal(sig, h)
        return restore


def _overdue(deadline: float, unwritten: Callable[[], int]) -> None:
    """The stop watchdog: still running ``deadline`` seconds after the stop signal; say what is left, exit 1."""
    left = unwritten()
    what = f"{left} entries are" if left >= 0 else "what was buffered is"
    log.error("still stopping %.1f s after the stop signal (Redis does not answer): %s not written; "
              "exiting 1, a restart with the same settings writes them", deadline, what)
    _exit_now(1)


def _exit_now(code: int) -> None:
    """End the process now (from a signal handler or the stop watchdog), logs flushed."""
    logging.shutdown()
    os._exit(code)


class IdleGC:
    """Collect cyclic garbage when idle, not when the collector's counters say so.

    ``start()`` collects once, freezes what exists (the setup: arrays,
    the model) out of future collections and turns automatic collection
    off; :meth:`idle` collects if the coming sleep is long enough and a
    collection is due; ``stop()`` turns automatic collection back on.
    """

    def __init__(self, every: float = 60.0, force_after: float = 600.0, min_idle: float = 0.05) -> None:
        self.every, self.force_after, self.min_idle = every, force_after, min_idle
        self._last = time.monotonic()
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.disable()
        self._last = time.monotonic()

    def idle(self, seconds: float) -> None:
        """Called before a sleep of ``seconds``; also when not sleeping (``seconds`` = 0)."""
        since = time.monotonic() - self._last
        if (seconds >= self.min_idle and since >= self.every) or since >= self.force_after:
            gc.collect()
            self._last = time.monotonic()

    def stop(self) -> None:
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()


class Outlet(Protocol):
    """What the environment flushes: the sink's buffer (see :class:`producer.live.outbox.Outbox`)."""

    def pending(self) -> int: ...

    def buffered_since(self) -> float: ...

    def flush(self, clock: int | None, wait: bool = True) -> bool: ...

    def busy(self) -> bool: ...

    def retry_at(self) -> float | None: ...


class PacedEnvironment(simpy.rt.RealtimeEnvironment):
    """A ``RealtimeEnvironment(strict=False)`` that asks a :class:`Pace` and flushes an outlet before it sleeps.

    ``now`` is where the clock starts (a restarted run may start its model
    later than the run's start). What is already due when the run begins (a
    restarted run, a followed clock far ahead) is processed at once and in
    order.
    """

    def __init__(
        self, pace: Pace, waker: Waker, now: int, outlet: Outlet | None = None, gc: IdleGC | None = None,
        replay_until: int | None = None,
    ) -> None:
        super().__init__(initial_time=now, factor=1.0, strict=False)
        self.pace, self.waker, self.outlet, self.gc = pace, waker, outlet, gc
        #: A restarted run replays what the streams hold up to here: being "behind" there means
        #: nothing (those events are not written), so lag is measured from here on.
        self.replay_until = replay_until if replay_until is not None else now
        self.behind = False
        self.max_lag = 0.0
        #: Whether ``now`` has been reached on the pace. The start instant has not: without
        #: SIM_START it is the next whole second, up to 1 s ahead of the wall clock, and the
        #: hot path below would write its events at once, that much early.
        self._now_due = False

    def prime(self) -> None:
        """Process the events at the start instant that precede any output, unpaced.

        The model's first step draws the first day's arrivals (a noticeable
        pause for a busy store); doing it before the clock starts keeps that
        pause out of the first events' lateness.
        """
        if self.peek() == self.now and self.outlet is not None and not self.outlet.pending():
            simpy.Environment.step(self)

    def lag(self) -> float:
        """How far (seconds) the simulation is behind its schedule now (0 when on time)."""
        nxt = self.peek()
        due = None if nxt is Infinity else self.pace.due(nxt)
        return 0.0 if due is None else max(0.0, time.monotonic() - due)

    def step(self) -> None:
        """Process the next event when it is due, flushing the outlet first if it is not due yet."""
        nxt = self.peek()
        if nxt is Infinity:
            raise EmptySchedule
        if nxt == self.now and self._now_due:
            outlet = self.outlet
            # Hot path: more of the current instant, which was due already (also after a stop: an
            # instant is finished, so both streams stop at the same time). Flush only if the buffer is large.
            if outlet is None or outlet.pending() < FLUSH_COUNT:
                simpy.Environment.step(self)
                return
        if self.waker.stopping and nxt > self.now:
            raise Stopped
        self._until_due(nxt)
        self._now_due = True
        simpy.Environment.step(self)

    def _until_due(self, nxt: float) -> None:
        """Flush and sleep until ``nxt`` is due (at once if it is already)."""
        due = self.pace.due(nxt)
        while True:
            now, late = self._flush_before(nxt, due)
            if late >= 0:
                self._note_lag(late)
                if self.gc is not None:
                    self.gc.idle(0.0)
                return
            self._note_lag(0.0)
            self._sleep(nxt, due, now)
            if due is None:
                due = self.pace.due(nxt)

    def _flush_before(self, nxt: float, due: float | None) -> tuple[float, float]:
        """Hand the outlet its buffer if it is time to; returns (now, seconds late: negative while early).

        A batch waits until the one in flight is answered (or the buffer is large): on a
        slow link that makes batches grow with the round trip, not stall on it. The
        writer thread sends it and reads the replies; the answer wakes this loop.
        On schedule with the next event due within FLUSH_AHEAD, its entries join this
        batch: at high speed-ups that is a batch per millisecond, not per simulated second.
        """
        now = time.monotonic()
        late = -1.0 if due is None else now - due
        outlet = self.outlet
        if outlet is None or not outlet.pending():
            return now, late
        age = now - outlet.buffered_since()
        if outlet.pending() >= FLUSH_COUNT or not outlet.busy() and (
                late < -FLUSH_AHEAD or age > (FLUSH_AHEAD if late < 0 else FLUSH_AGE)):
            outlet.flush(self._clock(nxt), wait=False)
            now = time.monotonic()
            late = -1.0 if due is None else now - due
        return now, late

    def _sleep(self, nxt: float, due: float | None, now: float) -> None:
        """Wait until ``nxt`` is due (or the pace's next look, or the outlet's next retry); collect garbage first."""
        pace, outlet = self.pace, self.outlet
        wake = due if due is not None else pace.wake_at(nxt)
        if self.gc is not None:
            expected = due if due is not None else pace.expect(nxt)
            self.gc.idle(0.0 if expected is None else expected - now)
        wait = wake - time.monotonic()
        if outlet is not None and outlet.pending():
            retry = outlet.retry_at()  # the sink is down: wake for its next retry
            if retry is not None:
                wait = min(wait, max(0.0, retry - now))
        if wait > EARLY:
            # Linux lets a select() timeout run 0.1% long (1 ms on a 1 s wait): wake a
            # little early and wait the rest, which is short, in the next round.
            wait -= wait / 500 + EARLY / 10
        self.waker.wait(wait)

    def _clock(self, nxt: float) -> int:
        """The simulated time whose events are all processed: ``now``, or the second before."""
        now = int(self.now)
        return now if nxt > now else now - 1

    def _note_lag(self, lag: float) -> None:
        if self.now < self.replay_until:
            return
        self.max_lag = max(self.max_lag, lag)
        if lag > LAG_WARN and not self.behind:
            self.behind = True
            log.warning("behind schedule by %.1f s; catching up in order", lag)
        elif lag < LAG_OK and self.behind:
            self.behind = False
            log.info("caught up: back on schedule")

    def run_to(self, end: int | None) -> None:
        """Step until ``end`` (exclusive; ``None`` = forever) or a stop, then hand the outlet what is due.

        The last flush does not wait for a Redis that is down: the caller
        decides how long to keep trying (see ``producer.live.produce``).
        """
        try:
            while end is None or self.peek() < end:
                self.step()
        except EmptySchedule:
            pass
        except Stopped:
            self._last_flush(end)
            raise
        self._last_flush(end)

    def _last_flush(self, end: int | None) -> None:
        if self.outlet is not None:
            # Every instant up to ``now`` is finished (a stop waits for the current one).
            self.outlet.flush(int(self.now) if end is None else min(int(self.now), end - 1))

    def every(self, seconds: int, action: Callable[[int], object], first: int | None = None) -> None:
        """Call ``action(now)`` every ``seconds`` simulated seconds (a SimPy process)."""
        def ticker() -> Generator[Event, Any, None]:
            t = self.now if first is None else first
            if t < self.now:  # a clock that starts later (a resumed run): the next tick from now
                t += -(-(self.now - t) // seconds) * seconds
            while True:
                if t > self.now:
                    yield self.timeout(t - self.now)
                action(int(self.now))
                t += seconds
        self.process(ticker())
