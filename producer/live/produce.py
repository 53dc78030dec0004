"""``foot-traffic produce``: the live producer, paced in real time, into Redis Streams.

It runs the same :class:`~sim.model.StoreModel` as ``foot-traffic simulate``
in a :class:`~producer.live.environment.PacedEnvironment`, with the
:class:`~producer.live.emitter.Emitter` as observer, so the events written to
Redis are exactly the events written to files for the same seed, start and
settings; only the pacing differs.

Exit codes: 0 when the run ended (``--days``/``--until``) or was stopped
with everything due written; 1 when Redis could not be reached in time,
refused us, or events were still unwritten at a stop (a restart writes
them); 2 for a malformed setting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import sys
import time
from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

import click
from prometheus_client import CollectorRegistry
from redis.exceptions import ResponseError

from producer.live.backfill import backfill
from producer.live.cluster_sink import ClusterSink
from producer.live.emitter import Emitter
from producer.live.environment import IdleGC, PacedEnvironment, Stopped, Waker
from producer.live.faults import TRANSIENT, retrying
from producer.live.layout import COUNTS, SENSOR, SESSIONS, StreamLayout
from producer.live.lease import Lease, LeaseGroup, LeaseTaken, lease_key
from producer.live.metrics import MetricsPortError, ProducerCollector, serve
from producer.live.outbox import Outbox
from producer.live.pace import FollowedClock, Pace, WallClock
from producer.live.progress import ProgressLog
from producer.live.records import RunRecords
from producer.live.redis_sink import ZERO_ID, Entry, RedisError, RedisSink, StreamId, reply_text
from producer.live.resume import model_start, replay_entries
from producer.live.runstate import RunState, resolve
from producer.live.sensor_pump import (
    SensorEmitter,
    attach,
    replay_sensor_entries,
    sensor_start,
)
from producer.live.shards import shard_stores
from producer.live.webhook_relay import WebhookGate, counts_streams, relay_of
from producer.options import GroupedCommand, fail, friendly_errors, load_settings, plural, settings_options
from producer.settings import (
    MAX_SPEED,
    SENSOR_SETTINGS,
    TRAFFIC_SETTINGS,
    WEBHOOK_SETTINGS,
    Settings,
    SettingsError,
    given_settings,
)
from producer.span import parse_end, parse_start
from sim.events import iso
from sim.model import StoreModel
from sim.sampling import Arrivals, draw_day
from sim.store import Store

log = logging.getLogger("producer")

#: Settings of the producer itself (the traffic settings are shared with ``simulate``).
PRODUCE_SETTINGS = (
    "redis_url", "redis_host", "redis_port", "redis_db", "redis_stream", "sim_start", "speed",
    "stream_maxlen", "buffer_max", "redis_connect_timeout", "publish_clock", "clock", "clock_key", "clock_db",
    "clock_max_jump", "standby", "lease_seconds", "metrics_host", "metrics_port", "log_level",
    "redis_cluster", "stream_per_store", "shard", *SENSOR_SETTINGS, *WEBHOOK_SETTINGS,
)
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
    """The run being produced: its state, how it was chosen, its pace, days drawn ahead."""

    state: RunState
    how: str  #: ``new``, ``continued`` or ``re-anchored``
    pace: Pace
    drawn: dict[tuple[int, dt.date], Arrivals]


def run_producer(
    settings: Settings, days: str | None = None, until: str | None = None, fresh: bool = False,
    given: Collection[str] = (), install_signals: bool = True,
) -> int:
    """Produce until the end, a stop or a fatal error; returns the exit code.

    Raises :class:`SettingsError` (malformed or contradicting settings) and
    :class:`RedisError` (Redis refused us), each with a one-line message.
    """
    if settings.speed >= MAX_SPEED and days is None and until is None and settings.clock == "wall":
        raise SettingsError("SPEED=max writes a run's whole span as fast as Redis takes it: "
                            "give its end with --days or --until")
    waker = Waker()
    restore = waker.install_signal_handlers() if install_signals else (lambda: None)
    start = parse_start(settings, 0) if settings.sim_start is not None else None
    parse_end(start or 0, days, until, None)  # validate early; recomputed from the run's start
    stores = shard_stores(settings, settings.stores())
    layout = StreamLayout.of(settings, stores)
    sink = _sink(settings, layout)
    outbox = Outbox(sink, waker, settings.buffer_max, settings.publish_clock)
    waker.unwritten = outbox.pending
    try:
        try:
            registry = serve(settings.metrics_host, settings.metrics_port) if settings.metrics_port else None
        except MetricsPortError as exc:
            raise RedisError(str(exc)) from None
        outbox.connect(settings.redis_connect_timeout or None)
        return _leased(settings, stores, layout, sink, outbox, waker, registry, start, given, fresh, days, until)
    except Stopped:
        log.info("stopped before the run began")
        return 0
    except ResponseError as exc:  # a refusal not met where it is expected (an ACL without a command ...)
        raise RedisError(f"Redis at {sink.where} refused a command: {reply_text(exc)}") from None
    except TRANSIENT as exc:  # Redis did not come back within REDIS_CONNECT_TIMEOUT while the run opened
        raise _unreachable(sink, settings, exc) from None
    finally:
        restore()
        waker.close()
        sink.close()


def _sink(settings: Settings, layout: StreamLayout) -> RedisSink:
    """The sink of the run's streams: on one Redis, or on a Redis Cluster (``REDIS_CLUSTER``)."""
    streams = layout.streams
    if settings.redis_cluster is not None:
        url = settings.redis_url if settings.redis_cluster == "on" else settings.redis_cluster
        return ClusterSink.connect_cluster(url, settings.redis_host, settings.redis_port, streams,
                                           settings.stream_maxlen)
    return RedisSink.connect(settings.redis_url, settings.redis_host, settings.redis_port, settings.redis_db,
                             streams, settings.stream_maxlen)


def _leased(
    settings: Settings, stores: Sequence[Store], layout: StreamLayout, sink: RedisSink, outbox: Outbox,
    waker: Waker, registry: CollectorRegistry | None, start: int | None, given: Collection[str], fresh: bool,
    days: str | None, until: str | None,
) -> int:
    """Take the streams' leases, open the run and produce it; the leases are released at the end."""
    lost: list[str] = []
    leases = LeaseGroup([Lease(sink.client, lease_key(base), settings.lease_seconds,
                               lambda why: _lost_lease(why, waker, lost)) for base in layout.bases],
                        sink.eval_each)
    records = RunRecords(sink, layout.bases)
    try:
        run = _open_retried(sink, outbox, settings, stores, start, given, fresh, waker, records, leases)
        end = parse_end(run.state.sim_start, days, until, None)
        run.state.check_end(end, records.name)
        code = _produce(settings, stores, layout, run, end, sink, outbox, waker, registry, records)
    except LeaseTaken as exc:
        raise RedisError(str(exc)) from None
    finally:
        leases.release()
    if lost:
        raise RedisError(lost[0])
    return code


def _unreachable(sink: RedisSink, settings: Settings, exc: BaseException) -> RedisError:
    return RedisError(f"Redis at {sink.where} is unreachable after {settings.redis_connect_timeout:g} s "
                      f"(REDIS_CONNECT_TIMEOUT): {' '.join(str(exc).split())}")


def _open_retried(
    sink: RedisSink, outbox: Outbox, settings: Settings, stores: Sequence[Store], start: int | None,
    given: Collection[str], fresh: bool, waker: Waker, records: RunRecords, leases: LeaseGroup,
) -> Run:
    """Take the leases and open the run, the whole retried while Redis is away (a start-up fault).

    Each step can be taken again: a lease already ours is kept, a run
    record written before the failure is found and continued. Before a
    retry the streams are read anew, as at start (Redis may have come back
    empty or from a snapshot). ``REDIS_CONNECT_TIMEOUT`` bounds the wait.
    """
    timeout = settings.redis_connect_timeout or None

    def step() -> Run:
        leases.take(settings.standby, waker.wait)
        return _open_run(sink, outbox, settings, stores, start, given, fresh, waker, records)

    return retrying(step, f"opening the run on Redis at {sink.where}", waker.wait, timeout,
                    again=lambda: outbox.reread(timeout))


def _lost_lease(why: str, waker: Waker, lost: list[str]) -> None:
    """Another producer took the streams: stop writing at once (the run ends with exit 1)."""
    log.error("%s", why)
    lost.append(why)
    waker.stop()


def _open_run(
    sink: RedisSink, outbox: Outbox, settings: Settings, stores: Sequence[Store], start: int | None,
    given: Collection[str], fresh: bool, waker: Waker, records: RunRecords,
) -> Run:
    """Continue the run stored beside the streams, or begin a new one (and store it)."""
    key = records.name
    stored, raw = records.read(fresh)
    state, how = resolve(stored, settings, start, given, fresh, time.time(), key)
    clock: FollowedClock | None = None
    if state.clock == "redis":
        if "speed" in given:
            raise SettingsError(
                f"SPEED={settings.speed:g} has no meaning with CLOCK=redis: the followed clock "
                f"{settings.clock_key} sets the pace; unset SPEED")
        what = f"{settings.clock_key} (db {settings.clock_db})"
        clock = FollowedClock(sink.clock_reader(settings.clock_key, settings.clock_db), what,
                              push=sink.clock_push(settings.clock_key, settings.clock_db, waker.nudge, what),
                              max_jump=settings.clock_max_jump)
        now = clock.wait_first(waker.wait)
    drawn: dict[tuple[int, dt.date], Arrivals] = {}
    if how == "new" and start is None:
        # Draw the first day before fixing the start, so that the start is the
        # instant the clock starts, not a moment that passed during the draw.
        guess = int(now) if clock is not None else int(time.time())
        drawn = {(i, s.local_date(guess)): draw_day(state.seed, s, i, s.local_date(guess))
                 for i, s in enumerate(stores)}
        if clock is not None:
            sim_start = int(clock.look() or now)
            state = dataclasses.replace(state, sim_start=sim_start, wall_start=time.time())
        else:
            sim_start = math.ceil(time.time())
            state = dataclasses.replace(state, sim_start=sim_start, wall_start=float(sim_start))
    if how == "new":
        _clear_the_way(sink, outbox, state, key, fresh)
        if fresh:
            records.delete()
        if not records.create(state):
            raise SettingsError(
                f"a run appeared in {key} while this one was being created (another producer without a "
                "lease?); start again to continue it, or pass --fresh")
    elif how == "re-anchored":
        log.info("speed changed from %g to %g: re-anchoring the run's timeline", stored.speed if stored else 0,
                 state.speed)
        records.write(state)
    elif stored is not None and raw.get("version") != state.version:
        log.info("the run record %s is upgraded to version %s", key, state.version)
        records.write(state)
    pace: Pace = clock if clock is not None else WallClock(state.sim_start, state.speed, state.wall_start)
    pacing = (f"following {clock.what}" if clock is not None
              else "speed max" if state.speed >= MAX_SPEED else f"speed {state.speed:g}")
    shown = sink.streams if len(sink.streams) <= 4 else (*sink.streams[:2], f"... ({len(sink.streams)} streams)")
    log.info("%s run: seed %d, start %s, %s, streams %s -> Redis at %s", how, state.seed,
             iso(state.sim_start), pacing, ", ".join(shown), sink.where)
    return Run(state, how, pace, drawn)


def _clear_the_way(sink: RedisSink, outbox: Outbox, state: RunState, key: str, fresh: bool) -> None:
    """A new run starts on empty streams: ``--fresh`` replaces streams that hold anything.

    Entries at or after the new start would collide with the run's ids; older
    ones belong to no run stored here, so a restart could not tell them from
    its own. Either way, without ``--fresh`` it is a one-line error.
    """
    held = [(name, last) for name, last in zip(sink.streams, sink.last_ids(), strict=True) if last != ZERO_ID]
    if not held:
        return
    name, last = max(held, key=lambda pair: pair[1])
    if not fresh:
        where = "at or after" if last >= (state.sim_start * 1000, 0) else "before"
        raise SettingsError(
            f"stream {name} already holds entries up to {iso(last[0] // 1000)}, {where} "
            f"this run's start {iso(state.sim_start)}, and no run is stored in {key}; "
            "pass --fresh to replace them")
    log.warning("--fresh: deleting streams %s (they hold entries of another run)", ", ".join(sink.streams))
    kept = sink.replace_streams()
    if kept:
        log.info("--fresh: kept consumer groups %s; each reads the new run from its first entry",
                 ", ".join(f"{group} on {stream}" for stream, group in kept))
    outbox.streams_replaced()  # re-read the (now empty) streams' last ids


def _produce(
    settings: Settings, stores: Sequence[Store], layout: StreamLayout, run: Run, end: int | None, sink: RedisSink,
    outbox: Outbox, waker: Waker, registry: CollectorRegistry | None, records: RunRecords,
) -> int:
    state = run.state
    outbox.check_tops()
    sensor = layout.sensor
    interval = 60 * settings.count_interval
    backfilled_visits = 0
    # With a sensor the model catches up: the backfill knows no sensor, true and counts streams.
    if not sensor:
        sessions_before = layout.total(outbox.written, SESSIONS)
        if backfill(state.seed, stores, state.sim_start, end, run.pace, sink, outbox, layout):
            outbox.check_tops()  # the tops backfilled (checked by the model's replay as after any restart)
        backfilled_visits = layout.total(outbox.written, SESSIONS) - sessions_before  # a session per visit there
    if sensor:
        begin, feed_from = sensor_start(state.sim_start, outbox.last_ids, stores, interval)
    else:
        begin = model_start(state.sim_start, outbox.last_ids, stores)
        feed_from = begin
    if begin > state.sim_start:
        log.info("the streams end at %s: replaying the model from %s", iso(min(ms for ms, _ in outbox.last_ids)
                                                                          // 1000), iso(begin))
    idle_gc = IdleGC()
    resume = min(ms for ms, _ in outbox.last_ids) // 1000 if outbox.last_ids else begin
    env = PacedEnvironment(run.pace, waker, now=begin, outlet=outbox, gc=idle_gc, replay_until=max(begin, resume))
    outbox.due = env.due

    def emitter_of(taker: Any) -> Emitter:
        if sensor:
            return attach(env, taker, state.seed, stores, state.sim_start, end, interval, feed_from,
                          settings.write_rejected, run.pace, layout)
        return Emitter(taker, settings.write_rejected, layout)

    def heal(lost: list[tuple[int, StreamId, StreamId]]) -> list[Entry]:
        records.write(state)  # the run record may be gone or old too
        since, upto = list(outbox.last_ids), [ZERO_ID for _ in sink.streams]
        for i, _, acked in lost:
            upto[i] = acked
        if sensor:
            return replay_sensor_entries(state.seed, stores, state.sim_start, end, interval, since, upto,
                                         settings.write_rejected, layout)
        return replay_entries(state.seed, stores, state.sim_start, since, upto, settings.write_rejected, layout)

    outbox.heal = heal
    relay = relay_of(settings, sink.client, layout, len(stores))  # the counts' webhook (docs/feeds.md), or None
    if relay is not None:
        relay.start(new=run.how == "new")
    emitter = emitter_of(outbox if relay is None else WebhookGate(outbox, relay, counts_streams(layout), waker.wait))
    emitter.visits += backfilled_visits
    speed = state.speed if state.clock == "wall" else 1.0
    StoreModel(env, state.seed, stores, begin, end, emitter, window=window(speed), prefetch=True,
               drawn=run.drawn)
    env.prime()  # the model's first step (the first day's draw), before the clock starts
    if run.how == "new" and isinstance(run.pace, WallClock) and settings.sim_start is not None:
        # A new run with a given start: its clock starts now, after that draw.
        state = dataclasses.replace(state, wall_start=time.time())
        run.pace.anchor(state.wall_start)
        _anchor_record(records, state, waker, settings)
    progress = ProgressLog(env, outbox, emitter)
    progress.start()
    if settings.publish_clock:
        # Keep sim:now moving between events, about ten times per wall second.
        every = max(1, round(state.speed * 0.1))
        env.every(every, lambda now: outbox.flush(now - 1, wait=False), first=state.sim_start + every)
    if registry is not None:
        registry.register(ProducerCollector(outbox, sink.streams, lambda: env.now, lambda: emitter.visits))
        log.info("serving Prometheus metrics on %s:%d", settings.metrics_host, settings.metrics_port)
    stopped = False
    idle_gc.start()
    log.info("on the clock from %s", iso(int(env.now)))
    try:
        env.run_to(end)
        if isinstance(emitter, SensorEmitter):
            if end is not None:  # no longer run can follow the tail: say so before its first entry
                _write_record(records, dataclasses.replace(state, closed=end), outbox, waker)
            _sensor_tail(env, emitter)
    except Stopped:
        stopped = True
    finally:
        idle_gc.stop()
    done = _finish(outbox, waker, stopped)
    # The webhook acknowledged every count written (after a stop, the next start sends the rest).
    delivered = relay is None or relay.close(waker.wait, deliver=done and not stopped) or stopped
    late = outbox.lateness
    total = partial(layout.total, outbox.written)
    sensor_part = (f", {plural(total(SENSOR), 'sensor record')} and "
                   f"{plural(total(COUNTS), 'interval count')}" if sensor else "")
    log.info(
        "%s at %s: %s, %s and %s%s written (%d made again by the model's replay were in Redis already: "
        "not written twice), "
        "lateness p50 %.1f ms p99 %.1f ms max %.1f ms%s",
        "stopped" if stopped else "finished", iso(int(env.now)), plural(emitter.visits, "visit"),
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


def _write_record(records: RunRecords, state: RunState, outbox: Outbox, waker: Waker) -> None:
    """Store the run record mid-run: after what is buffered, retrying (with backoff) while Redis is away."""
    def write() -> None:
        outbox.wait_empty()  # waits for Redis itself, writing what is buffered first
        records.write(state)

    retrying(write, "writing the run record", waker.wait)


def _anchor_record(records: RunRecords, state: RunState, waker: Waker, settings: Settings) -> None:
    """A new run's clock starts now: its record says when (retried while Redis is away, as a start-up step)."""
    retrying(lambda: records.write(state), "writing the run record", waker.wait,
             settings.redis_connect_timeout or None)


def _sensor_tail(env: PacedEnvironment, emitter: SensorEmitter) -> None:
    """The run reached its end: the sensor's records delivered after it, and the last counts, on the clock.

    The offline file holds every counted crossing of the run, some delivered
    after its end; the streams hold the same, each written at its ``sent_at``.
    """
    emitter.ended = True
    assert emitter.pump is not None
    last = emitter.pump.close()
    if last is not None:
        log.info("the run's end is reached; the sensor's last records and counts follow until %s",
                 iso(math.ceil(last)))
        env.run_to(math.floor(last) + 1)


def _finish(outbox: Outbox, waker: Waker, stopped: bool) -> bool:
    """Write what is buffered: within a grace period after a stop, else until Redis takes it."""
    if stopped:
        return outbox.drain(STOP_GRACE)
    try:
        outbox.wait_empty()
        return True
    except Stopped:
        return outbox.drain(STOP_GRACE)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.command(cls=GroupedCommand)
@click.option("--days", default=None, metavar="N", help="simulated days to produce [default: until stopped]")
@click.option("--until", default=None, metavar="DATE|TIME", help="simulated end (exclusive), instead of --days")
@click.option("--fresh", is_flag=True,
              help="start a new run instead of continuing the one stored in Redis beside the streams")
@settings_options(PRODUCE_SETTINGS + TRAFFIC_SETTINGS)
@friendly_errors
def produce(days: str | None, until: str | None, fresh: bool, **options: Any) -> None:
    """Simulate in real time (SPEED x wall clock) and write events to Redis Streams.

    Sessions go to REDIS_STREAM, door events to REDIS_STREAM:realistic. With
    a [sensor] table in the profile, REDIS_STREAM:realistic holds what the
    sensor delivered, REDIS_STREAM:realistic:true the true door events and
    REDIS_STREAM:counts the interval counts. A restart with the same
    settings continues the run stored beside them.
    """
    settings = load_settings(options)
    setup_logging(settings.log_level)
    try:
        code = run_producer(settings, days, until, fresh, given_settings(options, os.environ))
    except RedisError as exc:
        fail(str(exc), 1)
    sys.exit(code)
