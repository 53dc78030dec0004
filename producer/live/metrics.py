"""Measuring the producer: a lateness histogram and the Prometheus ``/metrics`` endpoint.

:class:`Lateness` counts how late entries reached Redis in log-spaced
buckets (40 per decade from 1 us to 10,000 s, so a quantile is exact to
within 6%), with the exact maximum and sum. One ``add`` takes a value and a
count, because every entry of one simulated instant written in one batch
is equally late: the producer adds once per instant, not once per entry.

:class:`ProducerCollector` exposes the live counters to Prometheus on
scrape, reading them from the outbox and the environment rather than
updating Prometheus objects on every event.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from producer.live.outbox import Outbox

#: Fine bucket upper edges (seconds): 40 per decade, 1 us .. 10,000 s; the last bucket is open.
EDGES: list[float] = (10.0 ** (np.arange(-6 * 40, 4 * 40 + 1) / 40)).tolist()
#: The coarse buckets published to Prometheus (each is one of the fine edges, up to rounding).
PROM_EDGES: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
)


class Lateness:
    """A histogram of lateness in seconds (negative values count as 0)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(EDGES) + 1)
        self.total = 0
        self.sum = 0.0
        self.max = 0.0

    def add(self, seconds: float, count: int = 1) -> None:
        seconds = max(seconds, 0.0)
        self.counts[bisect.bisect_left(EDGES, seconds)] += count
        self.total += count
        self.sum += seconds * count
        if seconds > self.max:
            self.max = seconds

    def quantile(self, q: float) -> float:
        """The upper edge of the bucket holding the ``q`` quantile (at most 6% above it, or the max)."""
        if not self.total:
            return 0.0
        rank = q * self.total
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank and c:
                return min(EDGES[i] if i < len(EDGES) else self.max, self.max)
        return self.max

    def cumulative(self, edges: tuple[float, ...]) -> list[tuple[str, float]]:
        """Prometheus buckets ``(le, cumulative count)`` for the given upper edges, then +Inf."""
        out: list[tuple[str, float]] = []
        seen, i = 0, 0
        for le in edges:
            while i < len(EDGES) and EDGES[i] <= le * (1 + 1e-9):
                seen += self.counts[i]
                i += 1
            out.append((repr(le), float(seen)))
        out.append(("+Inf", float(self.total)))
        return out

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


class ProducerCollector(Collector):
    """The producer's metrics, read from its live objects on each scrape."""

    def __init__(self, outbox: Outbox, streams: tuple[str, ...], sim_time: Callable[[], float],
                 visits: Callable[[], int]) -> None:
        self.outbox, self.streams, self.sim_time, self.visits = outbox, streams, sim_time, visits

    def collect(self) -> Iterator[Metric]:
        ob = self.outbox
        written = CounterMetricFamily(
            "foot_traffic_events_written", "Entries written to each Redis stream", labels=["stream"])
        skipped = CounterMetricFamily(
            "foot_traffic_events_skipped", "Entries not written because Redis already held them "
            "(a restarted run replaying its past)", labels=["stream"])
        for i, name in enumerate(self.streams):
            written.add_metric([name], ob.written[i])
            skipped.add_metric([name], ob.skipped[i])
        yield written
        yield skipped
        yield CounterMetricFamily("foot_traffic_visits", "Visits simulated", value=self.visits())
        late = ob.lateness
        yield HistogramMetricFamily(
            "foot_traffic_lateness_seconds", "Time an entry was written minus the time it was due",
            buckets=late.cumulative(PROM_EDGES), sum_value=late.sum)
        yield GaugeMetricFamily("foot_traffic_buffered_events", "Entries waiting to be written",
                                value=ob.pending())
        yield CounterMetricFamily("foot_traffic_redis_errors", "Failed Redis operations", value=ob.errors)
        yield GaugeMetricFamily("foot_traffic_redis_up", "1 if the last Redis write succeeded",
                                value=0 if ob.down else 1)
        yield GaugeMetricFamily("foot_traffic_simulated_time_seconds",
                                "The simulation's clock (epoch seconds)", value=self.sim_time())


class MetricsPortError(Exception):
    """``/metrics`` cannot listen where it was told to; the message is one line."""


def serve(host: str, port: int) -> CollectorRegistry:
    """Serve ``/metrics`` on ``host:port`` from a registry of its own (register collectors on it later).

    Called before anything is written, so a port already in use stops the
    producer before it has touched Redis.
    """
    registry = CollectorRegistry()
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise MetricsPortError(
            f"METRICS_PORT={port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose a free port, or 0 to turn metrics off") from None
    return registry
