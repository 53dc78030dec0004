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

import logging
import os
import sys
from collections.abc import Collection
from typing import Any

import click

from producer.live.cluster_sink import ClusterSink
from producer.live.environment import Waker
from producer.live.layout import StreamLayout
from producer.live.redis_sink import RedisSink
from producer.live.run import Asked, LiveRun, Sections
from producer.live.shards import shard_stores
from producer.live.sink import RedisError, Sink
from producer.options import GroupedCommand, fail, friendly_errors, load_settings, settings_options
from producer.settings import (
    FEED_SETTINGS,
    MAX_SPEED,
    SENSOR_SETTINGS,
    TRAFFIC_SETTINGS,
    WEBHOOK_SETTINGS,
    ClusterSettings,
    RedisSettings,
    Settings,
    SettingsError,
    given_settings,
)
from producer.span import parse_end, parse_start

#: Settings of the producer itself (the traffic settings are shared with ``simulate``).
PRODUCE_SETTINGS = (
    "redis_url", "redis_host", "redis_port", "redis_db", "redis_stream", "sim_start", "speed",
    "stream_maxlen", "buffer_max", "redis_connect_timeout", "publish_clock", "clock", "clock_key", "clock_db",
    "clock_max_jump", "standby", "lease_seconds", "metrics_host", "metrics_port", "log_level",
    "redis_cluster", "stream_per_store", "shard", *SENSOR_SETTINGS, *FEED_SETTINGS,
    *WEBHOOK_SETTINGS,
)


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
    start = parse_start(settings, 0) if settings.sim_start is not None else None
    parse_end(start or 0, days, until, None)  # validate early; recomputed from the run's start
    settings.check_scenarios(settings.stores())  # as simulate: no sensor scenario with SENSOR=off
    stores = shard_stores(settings, settings.stores())
    layout = StreamLayout.of(settings, settings, settings, stores)
    sink = _sink(settings, settings, layout)
    live = LiveRun(Sections.of(settings), Asked(stores, layout, start, given, fresh, days, until), sink, waker)
    restore = waker.install_signal_handlers(unwritten=live.unwritten) if install_signals else (lambda: None)
    try:
        return live.run()
    finally:
        restore()
        waker.close()
        sink.close()


def _sink(redis: RedisSettings, cluster: ClusterSettings, layout: StreamLayout) -> Sink:
    """The sink of the run's streams: on one Redis, or on a Redis Cluster (``REDIS_CLUSTER``)."""
    streams = layout.streams
    if cluster.redis_cluster is not None:
        url = redis.redis_url if cluster.redis_cluster == "on" else cluster.redis_cluster
        return ClusterSink.connect_cluster(url, redis.redis_host, redis.redis_port, streams, redis.stream_maxlen)
    return RedisSink.connect(redis.redis_url, redis.redis_host, redis.redis_port, redis.redis_db,
                             streams, redis.stream_maxlen)


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
    REDIS_STREAM:counts the interval counts. With scenarios, REDIS_STREAM:labels
    holds each label when it opens and when it closes. A restart with the same
    settings continues the run stored beside them.
    """
    settings = load_settings(options)
    setup_logging(settings.log_level)
    try:
        code = run_producer(settings, days, until, fresh, given_settings(options, os.environ))
    except RedisError as exc:
        fail(str(exc), 1)
    sys.exit(code)
