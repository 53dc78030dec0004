"""A live run as its named phases: connect, lease, resolve the run, backfill, follow the clock, stop.

:class:`LiveRun` is built once, with every collaborator it needs; each phase
is one method with one job, and hands what it made to the next as a value:

1. :meth:`~LiveRun.connect`: serve ``/metrics`` and wait until Redis answers;
2. :meth:`~LiveRun.lease`: take the streams' leases (a standby waits here);
3. :meth:`~LiveRun.resolve`: continue the run stored beside the streams, or
   begin (and store) a new one; with 2, retried while Redis is away;
4. :meth:`~LiveRun.backfill`: the outbox on the run's streams (its pace, its
   replayer), and what is due already written in bulk;
5. :meth:`~LiveRun.follow`: the model in the paced environment, on the clock,
   until the end or a stop;
6. :meth:`~LiveRun.stop`: what is buffered written, the summary line, the exit code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Collection, Sequence

from prometheus_client import CollectorRegistry
from redis.exceptions import ResponseError

from producer.live.backfill import backfill
from producer.live.catchup import QuietTimes
from producer.live.emitter import Emitter, Taker
from producer.live.environment import IdleGC, PacedEnvironment, Stopped, Waker
from producer.live.faults import TRANSIENT, retrying
from producer.live.labels import LabelPump, LabelSource
from producer.live.layout import COUNTS, REGISTERS, SENSOR, SESSIONS, StreamLayout
from producer.live.lease import Lease, LeaseGroup, LeaseTaken, lease_key
from producer.live.metrics import MetricsPortError, ProducerCollector, serve
from producer.live.outbox import Outbox
from producer.live.pace import FollowedClock, Pace, WallClock
from producer.live.progress import ProgressLog
from producer.live.reach import Reach
from producer.live.records import RunRecords
from producer.live.replayer import RunReplayer
from producer.live.resume import model_start
from producer.live.runstate import RunSettings, RunState, resolve
from producer.live.sensor_pump import SensorEmitter, attach, sensor_start
from producer.live.sink import ZERO_ID, Entry, RedisError, Sink, StreamId, reply_text
from producer.live.webhook_relay import WebhookGate, WebhookRelay, relay_of, relayed_streams
from producer.options import plural
from producer.settings import (
    MAX_SPEED,
    ClockSettings,
    LeaseSettings,
    MetricsSettings,
    RedisSettings,
    Settings,
    SettingsError,
    WebhookSettings,
)
from producer.span import parse_end
from sim.events import iso
from sim.model import StoreModel
from sim.sampling import Arrivals, draw_day
from sim.store import Store

log = logging.getLogger("producer")

#: Seconds a stop may spend writing what is buffered before giving up (the process ends
#: within 4.5 s of the signal whatever Redis does: see Waker.install_signal_handlers).
STOP_GRACE = 2.0


def window(speed: float) -> int:
    """Simulated seconds of arrivals the model hands out at a time.

    Each hand-out is a pause (list conversions and starting each
    customer's process, about 10 us per arrival on a busy machine); a
    window of a hundredth of a wall second, between 10 simulated seconds
    and an hour, keeps that pause to a couple of milliseconds at 40,000
    events/s (a quarter second made the p99 lateness 20-50 ms there, a
    twentieth 8-50 ms: bench/bench_producer.py). The fixed cost of a
    hand-out (about 0.2 ms) is then 2% of a core at most.
    """
    return int(min(3600, max(10, speed * 0.01)))


@dataclasses.dataclass
class Run:
    """The run being produced: its state, how it was chosen, its pace, days drawn ahead, its end."""

    state: RunState
    how: str  #: ``new``, ``continued`` or ``re-anchored``
    pace: Pace
    drawn: dict[tuple[int, dt.date], Arrivals]
    end: int | None  #: exclusive (``None``: until stopped)

    def anchor(self, wall_start: float) -> None:
        """A new run's wall clock starts now (after the first day's draw): its state and pace say so."""
        self.state = dataclasses.replace(self.state, wall_start=wall_start)
        assert isinstance(self.pace, WallClock)
        self.pace.anchor(wall_start)


@dataclasses.dataclass
class Followed:
    """What the follow phase leaves to the stop phase."""

    env: PacedEnvironment
    emitter: Emitter
    stopped: bool
    relay: WebhookRelay | None  #: the counter records' webhook, if the run has one


@dataclasses.dataclass(frozen=True)
class Sections:
    """The settings sections a run reads, each handed out of the command's one :class:`Settings`."""

    run: RunSettings  #: what defines the run: the traffic, the sensor, the clock (a stored run must agree)
    redis: RedisSettings
    clock: ClockSettings
    lease: LeaseSettings
    metrics: MetricsSettings
    webhook: WebhookSettings  #: the counter records pushed to an HTTP endpoint (docs/feeds.md)

    @classmethod
    def of(cls, settings: Settings) -> Sections:
        return cls(run=settings, redis=settings, clock=settings, lease=settings, metrics=settings,
                   webhook=settings)


@dataclasses.dataclass(frozen=True)
class Asked:
    """What the command asked for: the stores and their streams, the start, the end, ``--fresh``."""

    stores: Sequence[Store]
    layout: StreamLayout
    start: int | None  #: SIM_START (``None``: now)
    given: Collection[str]  #: the settings given explicitly (a stored run must agree with them)
    fresh: bool = False
    days: str | None = None
    until: str | None = None


class LiveRun:
    """One producer run on a :class:`~producer.live.sink.Sink`, phase by phase (see the module's docstring)."""

    def __init__(self, sections: Sections, asked: Asked, sink: Sink, waker: Waker) -> None:
        self.sections, self.asked, self.sink, self.waker = sections, asked, sink, waker
        self.timeout = sections.redis.redis_connect_timeout or None
        self.reach = Reach(sink, waker)
        self.records = RunRecords(sink, asked.layout.bases)
        self.lost: list[str] = []
        self.leases = LeaseGroup([Lease(sink.client, lease_key(base), sections.lease.lease_seconds,
                                        self._lost_lease)
                                  for base in asked.layout.bases], sink.eval_each)
        self._outbox: Outbox | None = None  # made by the backfill phase
        #: The streams' tops as a new run's resolve read them (its lease held, nothing written since): the
        #: outbox starts from them instead of reading them again (``None``: it reads them).
        self._tops: list[tuple[StreamId, Entry | None]] | None = None

    def unwritten(self) -> int:
        """Entries not written yet (``-1``: no outbox yet), for the stop watchdog's message."""
        return -1 if self._outbox is None else self._outbox.pending()

    def run(self) -> int:
        """Every phase in turn; returns the exit code (see :mod:`producer.live.produce`)."""
        try:
            registry = self.connect()
            try:
                run = self.open()
                code = self.stop(run, self.follow(run, self.backfill(run), registry))
            except LeaseTaken as exc:
                raise RedisError(str(exc)) from None
            finally:
                self.leases.release()
            if self.lost:
                raise RedisError(self.lost[0])
            return code
        except Stopped:
            log.info("stopped before the run began")
            return 0
        except ResponseError as exc:  # a refusal not met where it is expected (an ACL without a command ...)
            raise RedisError(f"Redis at {self.sink.where} refused a command: {reply_text(exc)}") from None
        except TRANSIENT as exc:  # Redis did not come back within REDIS_CONNECT_TIMEOUT while the run opened
            raise RedisError(f"Redis at {self.sink.where} is unreachable after "
                             f"{self.sections.redis.redis_connect_timeout:g} s (REDIS_CONNECT_TIMEOUT): "
                             f"{' '.join(str(exc).split())}") from None

    # -- 1. connect ------------------------------------------------------------------------------

    def connect(self) -> CollectorRegistry | None:
        """Serve ``/metrics`` (if asked) and wait until Redis answers; returns the metrics' registry."""
        metrics = self.sections.metrics
        try:
            registry = serve(metrics.metrics_host, metrics.metrics_port) if metrics.metrics_port else None
        except MetricsPortError as exc:
            raise RedisError(str(exc)) from None
        self.reach.wait(self._reachable, self.timeout)
        return registry

    def _reachable(self) -> None:
        """Redis answers, and lets us read the streams: a refusal (an ACL that denies them, a cluster node
        without ``REDIS_CLUSTER``) is one line before any lease is taken."""
        self.sink.ping()
        self.sink.tops()

    # -- 2. lease and 3. resolve the run ------------------------------------------------------

    def open(self) -> Run:
        """Take the leases and resolve the run, the whole retried while Redis is away (a start-up fault).

        Each step can be taken again: a lease already ours is kept, a run
        record written before the failure is found and continued. Before a
        retry Redis is waited for, as at start. ``REDIS_CONNECT_TIMEOUT``
        bounds the wait.
        """
        def step() -> Run:
            self.lease()
            return self.resolve()

        return retrying(step, f"opening the run on Redis at {self.sink.where}", self.waker.wait, self.timeout,
                        again=lambda: self.reach.wait(self._reachable, self.timeout))

    def lease(self) -> None:
        """Take the leases of the streams (a standby waits until they are free)."""
        self.leases.take(self.sections.lease.standby, self.waker.wait)

    def _lost_lease(self, why: str) -> None:
        """Another producer took the streams: stop writing at once (the run ends with exit 1)."""
        log.error("%s", why)
        self.lost.append(why)
        self.waker.stop()

    def resolve(self) -> Run:
        """Continue the run stored beside the streams, or begin a new one (and store it)."""
        asked, key = self.asked, self.records.name
        self._tops = None
        stored, raw = self.records.read(asked.fresh)
        state, how = resolve(stored, self.sections.run, asked.start, asked.given, asked.fresh, time.time(), key)
        clock = self._followed() if state.clock == "redis" else None
        drawn: dict[tuple[int, dt.date], Arrivals] = {}
        if how == "new" and asked.start is None:
            state, drawn = self._start_now(state, clock)
        if how == "new":
            self._create(state)
        elif how == "re-anchored":
            log.info("speed changed from %g to %g: re-anchoring the run's timeline", stored.speed if stored else 0,
                     state.speed)
            self.records.write(state)
        elif stored is not None and raw.get("version") != state.version:
            log.info("the run record %s is upgraded to version %s", key, state.version)
            self.records.write(state)
        elif stored is not None and state.traffic != stored.traffic:  # a setting the record lacked is added
            log.info("the run record %s now keeps COUNTER_RESET (stored before the live registers)", key)
            self.records.write(state)
        pace: Pace = clock if clock is not None else WallClock(state.sim_start, state.speed, state.wall_start)
        self._announce(state, how, clock)
        end = parse_end(state.sim_start, asked.days, asked.until, None)
        state.check_end(end, key)
        return Run(state, how, pace, drawn, end)

    def _followed(self) -> FollowedClock:
        """The followed clock (``CLOCK=redis``), once it has a first value."""
        settings = self.sections.clock
        if "speed" in self.asked.given:
            raise SettingsError(
                f"SPEED={settings.speed:g} has no meaning with CLOCK=redis: the followed clock "
                f"{settings.clock_key} sets the pace; unset SPEED")
        what = f"{settings.clock_key} (db {settings.clock_db})"
        clock = FollowedClock(
            self.sink.clock_reader(settings.clock_key, settings.clock_db), what,
            push=self.sink.clock_push(settings.clock_key, settings.clock_db, self.waker.nudge, what),
            max_jump=settings.clock_max_jump)
        clock.wait_first(self.waker.wait)
        return clock

    def _start_now(self, state: RunState, clock: FollowedClock | None
                   ) -> tuple[RunState, dict[tuple[int, dt.date], Arrivals]]:
        """A new run without SIM_START starts now: the first day is drawn first, so that the start is the
        instant the clock starts, not a moment that passed during the draw."""
        guess = int(clock.high) if clock is not None else int(time.time())
        drawn = {(i, s.local_date(guess)): draw_day(state.seed, s, i, s.local_date(guess))
                 for i, s in enumerate(self.asked.stores)}
        if clock is not None:
            return dataclasses.replace(state, sim_start=int(clock.look() or clock.high), wall_start=time.time()), drawn
        sim_start = math.ceil(time.time())
        return dataclasses.replace(state, sim_start=sim_start, wall_start=float(sim_start)), drawn

    def _create(self, state: RunState) -> None:
        """Store a new run, on streams cleared for it."""
        key, fresh = self.records.name, self.asked.fresh
        self._clear_the_way(state)
        if fresh:
            self.records.delete()
        if not self.records.create(state):
            raise SettingsError(
                f"a run appeared in {key} while this one was being created (another producer without a "
                "lease?); start again to continue it, or pass --fresh")

    def _clear_the_way(self, state: RunState) -> None:
        """A new run starts on empty streams: ``--fresh`` replaces streams that hold anything.

        Entries at or after the new start would collide with the run's ids; older
        ones belong to no run stored here, so a restart could not tell them from
        its own. Either way, without ``--fresh`` it is a one-line error.
        """
        sink = self.sink
        tops = sink.tops()
        held = [(name, last) for name, (last, _) in zip(sink.streams, tops, strict=True) if last != ZERO_ID]
        if not held:
            self._tops = tops  # the streams stay as read (the run record is a hash): the outbox starts from them
            return
        name, last = max(held, key=lambda pair: pair[1])
        if not self.asked.fresh:
            where = "at or after" if last >= (state.sim_start * 1000, 0) else "before"
            raise SettingsError(
                f"stream {name} already holds entries up to {iso(last[0] // 1000)}, {where} "
                f"this run's start {iso(state.sim_start)}, and no run is stored in {self.records.name}; "
                "pass --fresh to replace them")
        log.warning("--fresh: deleting streams %s (they hold entries of another run)", ", ".join(sink.streams))
        kept = sink.replace_streams()
        if kept:
            log.info("--fresh: kept consumer groups %s; each reads the new run from its first entry",
                     ", ".join(f"{group} on {stream}" for stream, group in kept))

    def _announce(self, state: RunState, how: str, clock: FollowedClock | None) -> None:
        streams, where = self.sink.streams, self.sink.where
        pacing = (f"following {clock.what}" if clock is not None
                  else "speed max" if state.speed >= MAX_SPEED else f"speed {state.speed:g}")
        shown = streams if len(streams) <= 4 else (*streams[:2], f"... ({len(streams)} streams)")
        log.info("%s run: seed %d, start %s, %s, streams %s -> Redis at %s", how, state.seed,
                 iso(state.sim_start), pacing, ", ".join(shown), where)

    # -- 4. backfill ------------------------------------------------------------------------------

    def backfill(self, run: Run) -> tuple[Outbox, int, QuietTimes]:
        """The outbox of the run, connected, and what is due already written in bulk.

        Returns the outbox, the visits backfilled (a session per visit) and
        where the model may start after it (:class:`QuietTimes`: for a
        capacity, an instant the backfill saw every store empty). With a
        sensor its five streams are backfilled too.
        """
        sections, layout, stores = self.sections, self.asked.layout, self.asked.stores
        interval, reset = 60 * sections.run.count_interval, sections.run.counter_reset
        replayer = RunReplayer(lambda: run.state, stores, run.end, layout, self.records,
                               sections.run.write_rejected, interval, reset)
        outbox = self._outbox = Outbox(self.sink, self.waker, sections.redis.buffer_max,
                                       sections.clock.publish_clock,
                                       due=run.pace.due, replayer=replayer, reach=self.reach)
        outbox.connect(self.timeout, self._tops)
        self._tops = None
        outbox.check_tops()
        state = run.state
        quiet = QuietTimes(stores, state.sim_start)
        before = layout.total(outbox.written, SESSIONS)
        if self._clock_starts_later(run) and state.speed < MAX_SPEED:
            # Nothing is due before the clock starts (the follow phase anchors it): what a slow start
            # would find "due" by the first anchor would be written ahead of its time by the second.
            return outbox, 0, quiet
        if backfill(state.seed, stores, state.sim_start, run.end, run.pace, self.sink, outbox, layout,
                    sections.run.write_rejected, quiet, interval, self.timeout, reset, keep=run.drawn):
            outbox.check_tops()  # the tops backfilled (checked by the model's replay as after any restart)
        return outbox, layout.total(outbox.written, SESSIONS) - before, quiet

    def _clock_starts_later(self, run: Run) -> bool:
        """A new run with a given start on the wall clock: its clock starts after the model's first step
        (:meth:`Run.anchor` in the follow phase), not when the run record was first written."""
        return run.how == "new" and isinstance(run.pace, WallClock) and self.asked.start is not None

    # -- 5. follow the clock ---------------------------------------------------------------------

    def follow(self, run: Run, backfilled: tuple[Outbox, int, QuietTimes],
               registry: CollectorRegistry | None) -> Followed:
        """The model, in the paced environment from where the streams end, on the clock to the end or a stop."""
        outbox, visits, quiet = backfilled
        sections, stores, state = self.sections, self.asked.stores, run.state
        interval = 60 * sections.run.count_interval
        layout = self.asked.layout
        last = layout.model_ids(outbox.last_ids)  # the model writes nothing to the labels streams
        if layout.sensor:
            begin, feed_from = sensor_start(state.sim_start, last, stores, interval, quiet,
                                            sections.run.counter_reset)
        else:
            begin = feed_from = model_start(state.sim_start, last, stores, quiet)
        resume = min(ms for ms, _ in last) // 1000 if last else begin
        if begin > state.sim_start:
            log.info("the streams end at %s: replaying the model from %s", iso(resume), iso(begin))
        idle_gc = IdleGC()
        env = PacedEnvironment(run.pace, self.waker, now=begin, outlet=outbox, gc=idle_gc,
                               replay_until=max(begin, resume))
        relay = relay_of(sections.webhook, self.sink.client, self.asked.layout, len(stores))  # or None
        if relay is not None:
            relay.start(new=run.how == "new")
        taker = outbox if relay is None else WebhookGate(
            outbox, relay, relayed_streams(self.asked.layout, sections.webhook.webhook_records), self.waker.wait)
        emitter = self._emitter(env, taker, run, feed_from, visits)
        labels = (LabelPump(env, taker, LabelSource(state.seed, stores, layout, state.sim_start, run.end))
                  if layout.labels else None)
        speed = state.speed if state.clock == "wall" else 1.0
        drawn = dict(run.drawn)  # the model's feed holds them until it reaches their days, the run not
        run.drawn.clear()
        StoreModel(env, state.seed, stores, begin, run.end, emitter, window=window(speed), prefetch=True,
                   drawn=drawn)
        env.prime()  # the model's first step (the first day's draw), before the clock starts
        if self._clock_starts_later(run):
            # A new run with a given start: its clock starts now, after that draw.
            run.anchor(time.time())
            retrying(lambda: self.records.write(run.state), "writing the run record", self.waker.wait, self.timeout)
        ProgressLog(env, outbox, emitter).start()
        if sections.clock.publish_clock:
            # Keep sim:now moving between events, about ten times per wall second.
            every = max(1, round(state.speed * 0.1))
            env.every(every, lambda now: outbox.flush(now - 1, wait=False), first=state.sim_start + every)
        if registry is not None:
            registry.register(ProducerCollector(outbox, self.sink.streams, lambda: env.now, lambda: emitter.visits))
            log.info("serving Prometheus metrics on %s:%d", sections.metrics.metrics_host,
                     sections.metrics.metrics_port)
        return Followed(env, emitter, self._on_the_clock(env, emitter, outbox, run, idle_gc, labels), relay)

    def _emitter(self, env: PacedEnvironment, outbox: Taker, run: Run, feed_from: int, visits: int) -> Emitter:
        wanted, layout, state = self.sections.run, self.asked.layout, run.state
        emitter = (attach(env, outbox, state.seed, self.asked.stores, state.sim_start, run.end,
                          60 * wanted.count_interval, feed_from, wanted.write_rejected, run.pace, layout,
                          wanted.counter_reset)
                   if layout.sensor else Emitter(outbox, wanted.write_rejected, layout, visits))
        return emitter

    def _on_the_clock(self, env: PacedEnvironment, emitter: Emitter, outbox: Outbox, run: Run,
                      idle_gc: IdleGC, labels: LabelPump | None) -> bool:
        """Run the model on the clock to the run's end; ``True`` if a stop came first."""
        idle_gc.start()
        log.info("on the clock from %s", iso(int(env.now)))
        try:
            env.run_to(run.end)
            sensor = isinstance(emitter, SensorEmitter)
            if run.end is not None and (sensor or labels is not None):
                # No longer run can follow the sensor's tail or the labels closed at the end (their
                # windows and expectations cut by it): say so before the first of them.
                self._write_record(dataclasses.replace(run.state, closed=run.end), outbox)
            if labels is not None:
                labels.close()
            if isinstance(emitter, SensorEmitter):
                _sensor_tail(env, emitter)
        except Stopped:
            return True
        finally:
            idle_gc.stop()
        return False

    def _write_record(self, state: RunState, outbox: Outbox) -> None:
        """Store the run record mid-run: after what is buffered, retrying (with backoff) while Redis is away."""
        def write() -> None:
            outbox.wait_empty()  # waits for Redis itself, writing what is buffered first
            self.records.write(state)

        retrying(write, "writing the run record", self.waker.wait)

    # -- 6. stop ----------------------------------------------------------------------------------

    def stop(self, run: Run, followed: Followed) -> int:
        """Write what is buffered (within a grace period after a stop); the summary line; the exit code."""
        assert self._outbox is not None
        outbox, layout, stopped = self._outbox, self.asked.layout, followed.stopped
        done = _finish(outbox, stopped)
        relay = followed.relay
        # The webhook acknowledged every record written that it relays (after a stop, the next start sends the rest).
        delivered = relay is None or relay.close(self.waker.wait, deliver=done and not stopped) or stopped
        late = outbox.lateness

        def total(kind: int) -> int:
            return layout.total(outbox.written, kind)

        sensor_part = (f", {plural(total(SENSOR), 'sensor record')}, "
                       f"{plural(total(COUNTS), 'interval count')} and "
                       f"{plural(total(REGISTERS), 'register row')}" if layout.sensor else "")
        if layout.labels:
            sensor_part += f", {plural(total(layout.labels_kind), 'label entry', 'label entries')}"
        log.info(
            "%s at %s: %s, %s and %s%s written (%d made again by the model's replay were in Redis already: "
            "not written twice), "
            "lateness p50 %.1f ms p99 %.1f ms max %.1f ms%s",
            "stopped" if stopped else "finished", iso(int(followed.env.now)), plural(followed.emitter.visits, "visit"),
            plural(total(SESSIONS), "session"), plural(total(layout.door_kind), "door event"), sensor_part,
            sum(outbox.skipped),
            late.quantile(0.5) * 1e3, late.quantile(0.99) * 1e3,
            late.max * 1e3, "" if done else f"; {outbox.pending()} entries NOT written",
        )
        if not done:
            log.error("%d entries could not be written; a restart with the same settings writes them",
                      outbox.pending())
            return 1
        return 0 if delivered else 1


def _sensor_tail(env: PacedEnvironment, emitter: SensorEmitter) -> None:
    """The run reached its end: the sensor's records delivered after it, and the last counts, on the clock.

    The offline file holds every counted crossing of the run, some delivered
    after its end; the streams hold the same, each written at its ``sent_at``.
    """
    emitter.end()
    last = emitter.pump.close()
    if last is not None:
        log.info("the run's end is reached; the sensor's last records and counts follow until %s",
                 iso(math.ceil(last)))
        env.run_to(math.floor(last) + 1)


def _finish(outbox: Outbox, stopped: bool) -> bool:
    """Write what is buffered: within a grace period after a stop, else until Redis takes it."""
    if stopped:
        return outbox.drain(STOP_GRACE)
    try:
        outbox.wait_empty()
        return True
    except Stopped:
        return outbox.drain(STOP_GRACE)
