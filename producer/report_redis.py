"""``foot-traffic report --redis-url URL``: the chain report of a live run, read from its streams (read-only).

The producer's run record (``<REDIS_STREAM>:run``, :mod:`producer.live.runstate`)
gives the seed, the simulated start and the run-defining settings; the
stores are rebuilt from those settings when their files (profile, stores)
are readable here and describe the same stores (the record's fingerprint),
else the page shows the data alone and says why. The sessions stream
(``REDIS_STREAM``) and the door events (``REDIS_STREAM:realistic``, or its
``:true`` stream with a sensor) are read page by page with XRANGE and
counted per store and bin as they come, into the same
:class:`producer.report_agg.Counts` the files give: memory grows with stores
x bins, not with the stream's length.

The span starts at the run's start (or, when the stream was trimmed by
``STREAM_MAXLEN``, at the first session it kept) and ends at the bin after
the last session read: a running run is reported up to where it is.
Nothing is written to Redis.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import redis

from producer.live.runstate import RunRecordError, RunState, run_key, store_fingerprint
from producer.manifest import RunInfo
from producer.report_agg import Counts, bin_width
from producer.settings import SPECS, TRAFFIC_SETTINGS, SettingsError, TrafficSettings
from sim.events import iso
from sim.store import Store

PAGE = 10_000
KINDS = ("entry", "exit", "turned_away", "gave_up")


class StreamsError(ValueError):
    """The streams cannot be read; the message is one line."""


def _epochs(texts: list[str]) -> np.ndarray:
    """Wire-format times (UTC, ``+00:00``) as epoch seconds."""
    return np.array([t[:19] for t in texts], dtype="datetime64[s]").astype(np.int64)


class _Tally:
    """Counts per (store, bin) and per (store, minute), added page by page."""

    def __init__(self, anchor: int | None, width: int) -> None:
        self.anchor, self.width = anchor, width
        self.stores: dict[str, int] = {}
        self.bins: dict[str, Counter[tuple[int, int]]] = {k: Counter() for k in ("sessions", *KINDS)}
        self.dwell: Counter[tuple[int, int]] = Counter()
        self.first: int | None = None
        self.last: int | None = None

    def _rows(self, store_ids: list[str]) -> np.ndarray:
        return np.array([self.stores.setdefault(s, len(self.stores)) for s in store_ids], np.int64)

    def add(self, kind: str, store_ids: list[str], times: np.ndarray, minutes: np.ndarray | None = None) -> None:
        if self.anchor is None:
            self.anchor = int(times.min()) // 3600 * 3600
        rows = self._rows(store_ids)
        bins = (times - self.anchor) // self.width
        keys, n = np.unique(np.stack([rows, bins]), axis=1, return_counts=True)
        self.bins[kind].update({(int(r), int(b)): int(c) for (r, b), c in zip(keys.T, n, strict=True)})
        if minutes is not None:
            keys, n = np.unique(np.stack([rows, minutes]), axis=1, return_counts=True)
            self.dwell.update({(int(r), int(m)): int(c) for (r, m), c in zip(keys.T, n, strict=True)})
            self.first = int(times.min()) if self.first is None else min(self.first, int(times.min()))
            self.last = int(times.max()) if self.last is None else max(self.last, int(times.max()))

    def counts(self, order: tuple[str, ...], end: int) -> Counts:
        assert self.anchor is not None
        n_bins = max(1, -(-(end - self.anchor) // self.width))
        where = {s: order.index(s) for s in self.stores if s in order}
        to_row = {r: where.get(s, -1) for s, r in self.stores.items()}

        def dense(tally: Counter[tuple[int, int]], width: int) -> np.ndarray:
            out = np.zeros((len(order), width), np.int64)
            for (r, b), c in tally.items():
                if to_row[r] >= 0 and 0 <= b < width:
                    out[to_row[r], b] += c
            return out

        top = max((m for _, m in self.dwell), default=1) + 1
        b = self.bins
        return Counts(order, self.anchor, self.width, n_bins, dense(b["sessions"], n_bins), dense(b["entry"], n_bins),
                      dense(b["exit"], n_bins), dense(b["turned_away"], n_bins), dense(b["gave_up"], n_bins),
                      dense(self.dwell, top))


def _pages(client: Any, stream: str):  # type: ignore[no-untyped-def]
    """The stream's events, page by page (JSON payloads decoded)."""
    after = "-"
    while True:
        entries = client.xrange(stream, min=after, max="+", count=PAGE)
        if not entries:
            return
        yield [orjson.loads(fields[b"data"]) for _, fields in entries if b"data" in fields]
        last = entries[-1][0].decode()
        ms, seq = last.split("-")
        after = f"{ms}-{int(seq) + 1}"


def _stores_of(state: RunState, notes: list[str]) -> tuple[Store, ...] | None:
    """The run's stores from its record's settings, when their files are here and describe the same stores."""
    values: dict[str, Any] = {}
    for name, text in state.traffic.items():
        if name not in ("fingerprint", "sensor"):
            values[name] = json.loads(text)
    try:
        traffic = TrafficSettings(**{name: values.get(name, SPECS[name].default) for name in TRAFFIC_SETTINGS}
                                  | {"seed": state.seed})  # the record's traffic section, defaults for the rest
        stores = traffic.stores()
    except (SettingsError, OSError, ValueError, TypeError) as exc:
        notes.append(f"The run's stores cannot be rebuilt here ({' '.join(str(exc).split())[:160]}): "
                     "the figures show the data without the profile's expectation.")
        return None
    if store_fingerprint(stores) != state.traffic.get("fingerprint"):
        notes.append("The run's settings name files that describe other stores here than the run had: "
                     "the figures show the data without the profile's expectation.")
        return None
    return stores


def _read_record(client: Any, stream: str, notes: list[str]) -> RunState | None:
    key = run_key(stream)
    raw = client.hgetall(key)
    if not raw:
        notes.append(f"No run record ({key}): the figures show the streams' data without the expectation.")
        return None
    try:
        return RunState.from_hash({k.decode(): v.decode() for k, v in raw.items()}, key)
    except RunRecordError as exc:
        raise StreamsError(str(exc).split(";")[0]) from None


def _tally_streams(client: Any, stream: str, anchor: int | None, width: int, notes: list[str]) -> _Tally:
    tally = _Tally(anchor, width)
    for page in _pages(client, stream):
        tally.add("sessions", [e["store_id"] for e in page], _epochs([e["entry_time"] for e in page]),
                  np.array([e["trip_duration_minutes"] for e in page], np.int64))
    if tally.first is None:
        raise StreamsError(f"stream {stream!r} holds no sessions: nothing to report")
    doors = f"{stream}:realistic:true" if client.exists(f"{stream}:realistic:true") else f"{stream}:realistic"
    for page in _pages(client, doors):
        for kind in KINDS:
            mine = [e for e in page if e["event_type"] == kind]
            if mine:
                tally.add(kind, [e["store_id"] for e in mine], _epochs([e["time"] for e in mine]))
    info = client.xinfo_stream(stream)
    added, length = info.get("entries-added"), info.get("length")
    if added is not None and length is not None and int(added) > int(length):
        notes.append(f"Stream {stream!r} kept {int(length):,} of the {int(added):,} sessions written "
                     f"(STREAM_MAXLEN): the report starts at its first kept session, {iso(tally.first)}.")
    return tally


def read_streams(url: str, stream: str) -> tuple[Counts, RunInfo | None, list[str]]:
    """The binned counts of a live run's streams, its run record as a :class:`RunInfo` (or None), and notes."""
    notes: list[str] = []
    try:
        client = redis.Redis.from_url(url)
    except ValueError as exc:
        raise StreamsError(f"--redis-url: {exc}") from None
    try:
        state = _read_record(client, stream, notes)
        stores = _stores_of(state, notes) if state is not None else None
        width = bin_width([m for s in stores or () for m in s.profile.starts])
        anchor = None if state is None else state.sim_start // width * width
        tally = _tally_streams(client, stream, anchor, width, notes)
    except redis.RedisError as exc:
        raise StreamsError(f"--redis-url: cannot read the streams ({' '.join(str(exc).split())[:200]})") from None
    finally:
        client.close()
    start, end = _span(tally, state, width, trimmed=any("STREAM_MAXLEN" in n for n in notes))
    order = tuple(s.store_id for s in stores) if stores else tuple(sorted(tally.stores))
    counts = tally.counts(order, end)
    info = None
    if state is not None and stores is not None:
        rejected = bool(json.loads(state.traffic.get("write_rejected", "false")))
        info = RunInfo(state.seed, start, end, stores, {"write_rejected": rejected})
    return counts, info, notes


def _span(tally: _Tally, state: RunState | None, width: int, trimmed: bool) -> tuple[int, int]:
    """The span reported: from the run's start (or, from a ``trimmed`` stream, the bin of the first session
    kept) to the run's close, or the bin after the last session read."""
    assert tally.first is not None and tally.last is not None and tally.anchor is not None
    end = (tally.last // width + 1) * width
    if state is not None and state.closed is not None:
        end = state.closed
    if state is None:
        return tally.anchor, end
    return max(state.sim_start, tally.first // width * width if trimmed else state.sim_start), end


def source_name(url: str, stream: str) -> str:
    """The page's name of the source, without a password."""
    parts = redis.connection.parse_url(url)
    host = parts.get("host") or Path(str(parts.get("path", ""))).name
    return f"redis://{host}:{parts.get('port', 6379)}/{parts.get('db', 0)} stream {stream}"
