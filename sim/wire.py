"""The wire JSON: the one place its payloads are declared and encoded (numpy and orjson, no pyarrow).

The JSON form is the wire format of the producer this project replaces
(SPEC.md): the same field names, order and types, times in ISO 8601 UTC with
an explicit ``+00:00``, the slot label joined by an en dash. The payload
builders below (sessions, door events, the sensor's records and interval
counts) and their keys (``SESSION_KEYS`` ...) are the one place keys and their order are declared.

Encoding, a column at a time: a builder is called once with markers, and its
JSON becomes a bytes template with one ``%s``/``%d`` per field; each column
becomes its JSON tokens (labels and store ids, a few distinct values, encoded
by ``orjson`` once per value, so escaping and raw UTF-8 are orjson's own;
times from small tables of dates and clock times; customer ids as they are
when every byte is plain printable ASCII, else by ``orjson``), and every
line is one ``template % row``. A single event (``Session.to_json``, the live
producer's) goes through the same templates with each field an ``orjson``
token. The result is byte for byte ``orjson.dumps`` of the payload
(``tests/test_wire.py`` checks it against that reference on awkward inputs).

Used by the live backfill, the events' ``to_json``, the columns'
``json_lines`` (the JSONL files of the base install, the sensor's files).
Where pyarrow is installed, the offline JSONL files are built with Arrow
instead (:mod:`producer.sinks.jsonl`): ``python bench/bench_engine.py``
compares the two in the same run, and the Arrow path stays only while it is
faster. The live package imports this module, so it must never import pyarrow.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

SESSION_TYPE = "foot_traffic"
_DAY = 86_400

#: Bytes a JSON string may hold as they are: printable ASCII but quote and backslash.
_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


# -- the payloads ---------------------------------------------------------------------------------


#: Each payload's keys in the wire's order (SPEC.md); the CSV and Parquet files name their columns by them.
SESSION_KEYS = ("event_type", "customer_id", "entry_time", "exit_time", "trip_duration_minutes", "weekday",
                "time_slot", "store_id", "queue_seconds")
DOOR_KEYS = ("event_type", "time", "weekday", "time_slot", "customer_id", "store_id")
#: A sensor record: the door event's keys, then ``sent_at`` and ``reading``.
SENSOR_KEYS = (*DOOR_KEYS, "sent_at", "reading")
COUNT_KEYS = ("store_id", "interval_start", "interval_end", "in", "out")


def _payload(keys: tuple[str, ...], *values: Any) -> dict[str, Any]:
    return dict(zip(keys, values, strict=True))


def session_payload(
    customer_id: str, entry_time: str, exit_time: str, minutes: int,
    weekday: str, time_slot: str, store_id: str, queue_seconds: int = 0,
) -> dict[str, Any]:
    return _payload(SESSION_KEYS, SESSION_TYPE, customer_id, entry_time, exit_time, minutes, weekday, time_slot,
                    store_id, queue_seconds)


def door_payload(
    kind: str, time: str, weekday: str, time_slot: str, customer_id: str, store_id: str,
) -> dict[str, Any]:
    return _payload(DOOR_KEYS, kind, time, weekday, time_slot, customer_id, store_id)


def sensor_payload(kind: str, time: str, weekday: str, time_slot: str, customer_id: str, store_id: str,
                   sent_at: str, reading: int) -> dict[str, Any]:
    """A sensor record: the door event's fields, then ``sent_at`` and ``reading``."""
    return _payload(SENSOR_KEYS, kind, time, weekday, time_slot, customer_id, store_id, sent_at, reading)


def count_payload(store_id: str, interval_start: str, interval_end: str, entries: int, exits: int) -> dict[str, Any]:
    """One interval's counts of one store's sensor."""
    return _payload(COUNT_KEYS, store_id, interval_start, interval_end, entries, exits)


def register_payload(store_id: str, interval_start: str, interval_end: str, reset_at: str, in_total: int,
                     out_total: int, occupancy: int) -> dict[str, Any]:
    """One counter's cumulative registers at an interval's end (:mod:`sim.counter_feed`)."""
    return {"store_id": store_id, "interval_start": interval_start, "interval_end": interval_end,
            "reset_at": reset_at, "in_total": in_total, "out_total": out_total, "occupancy": occupancy}


# -- times ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def iso(epoch: int) -> str:
    """One epoch second as ``YYYY-MM-DDTHH:MM:SS+00:00``.

    Cached: events come in time order, and a session and its door events
    share their times, so most calls repeat a recent second (the live
    producer makes four calls per visit, 1.2 us each uncached, 0.07 us cached).
    """
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def iso_many(epochs: np.ndarray) -> list[str]:
    """Many epoch seconds as ISO strings, vectorized."""
    text = np.datetime_as_string(np.asarray(epochs, dtype="datetime64[s]"), unit="s")
    return [t + "+00:00" for t in text.tolist()]


def iso_ms(ms: np.ndarray) -> list[str]:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmm+00:00``."""
    text = np.datetime_as_string(np.asarray(ms, dtype="datetime64[ms]"), unit="ms")
    return [t + "+00:00" for t in text.tolist()]


@functools.cache
def _clock_times() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day, as ``S8`` (built once, by numpy's own formatting)."""
    text = np.datetime_as_string(np.arange(_DAY, dtype=np.int64).astype("datetime64[s]"), unit="s")
    return np.char.encode(text).view(np.uint8).reshape(_DAY, 19)[:, 11:].copy().view("S8").ravel()


@functools.cache
def _millis() -> np.ndarray:
    """``.000`` to ``.999``, as ``S4`` (built once)."""
    return np.array([f".{i:03d}".encode() for i in range(1000)], dtype="S4")


def _time_record(epochs: np.ndarray, *more: tuple[str, np.ndarray]) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS`` (and ``more`` fixed-width fields after it) of each epoch second, as one
    packed record a row: a batch's few dates and the clock of the day are looked up, not formatted."""
    t = np.asarray(epochs, dtype=np.int64)
    day = t // _DAY
    first = int(day.min())
    dates = np.char.encode(np.datetime_as_string(np.arange(first, int(day.max()) + 1).astype("datetime64[D]")))
    out = np.empty(len(t), dtype=[("date", "S10"), ("t", "S1"), ("clock", "S8"),
                                  *((name, values.dtype) for name, values in more)])
    out["date"] = dates.astype("S10")[day - first]
    out["t"] = b"T"
    out["clock"] = _clock_times()[t - day * _DAY]
    for name, values in more:
        out[name] = values
    return out


def times(epochs: np.ndarray) -> list[bytes]:
    """``YYYY-MM-DDTHH:MM:SS`` of each epoch second (the template adds ``+00:00``).

    Each time is a packed record of its date, ``T`` and clock time, seen as
    ``S19`` (numpy formats every time anew, 3x slower).
    """
    if not len(epochs):
        return []
    return _time_record(epochs).view("S19").tolist()  # type: ignore[no-any-return]


def times_ms(ms: np.ndarray) -> list[bytes]:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` of each epoch millisecond (the template adds ``+00:00``)."""
    if not len(ms):
        return []
    seconds, rest = np.divmod(np.asarray(ms, dtype=np.int64), 1000)
    return _time_record(seconds, ("ms", _millis()[rest])).view("S23").tolist()  # type: ignore[no-any-return]


# -- tokens ---------------------------------------------------------------------------------------


def encoded(values: np.ndarray) -> list[bytes]:
    """Each value's JSON token (quoted, escaped by orjson), made once per distinct value."""
    codes, names = getattr(values, "codes", None), getattr(values, "names", None)
    if codes is not None and names is not None:  # a Coded column (sim.batch): its few names, and codes
        tokens = np.array([orjson.dumps(v) for v in names.tolist()] + [b""], dtype=object)[:-1]
        return tokens[codes].tolist()  # type: ignore[no-any-return]
    plain = values.tolist()
    token = {v: orjson.dumps(v) for v in set(plain)}
    return [token[v] for v in plain]


def ids(values: np.ndarray) -> tuple[list[bytes], str]:
    """Customer ids as bytes and how to write them: ``text`` if all plain ASCII, else ``json`` tokens."""
    raw = values if values.dtype.kind == "S" else np.char.encode(values.astype(str), "utf-8")
    if not raw.tobytes().translate(None, _PLAIN):  # only plain bytes (no NUL padding either: all full width)
        return raw.tolist(), "text"
    return encoded(np.char.decode(raw, "utf-8")), "json"


# -- templates ------------------------------------------------------------------------------------

_HOLES = {"json": b"%s", "text": b'"%s"', "time": b'"%s+00:00"', "int": b"%d"}


def _template(build: Callable[..., dict[str, Any]], kinds: Sequence[str]) -> tuple[bytes, list[int]]:
    """The builder's JSON as a format, and which argument each ``%`` takes, in order.

    ``kinds[i]`` says how argument ``i`` is written: ``json`` (an encoded
    token), ``text`` (plain text between the quotes), ``time`` (an ISO time
    without its ``+00:00``) or ``int``.
    """
    markers = [f"@@{i}@@" for i in range(len(kinds))]
    raw = orjson.dumps(build(*markers)).replace(b"%", b"%%")
    where = sorted((raw.index(f'"{m}"'.encode()), i) for i, m in enumerate(markers))
    for i, kind in enumerate(kinds):
        raw = raw.replace(f'"{markers[i]}"'.encode(), _HOLES[kind])
    return raw, [i for _, i in where]


@functools.cache
def template(build: Callable[..., dict[str, Any]], kinds: tuple[str, ...]) -> tuple[bytes, list[int]]:
    """:func:`_template`, made once per builder and kinds."""
    return _template(build, kinds)


def _lines(build: Callable[..., dict[str, Any]], kinds: tuple[str, ...], args: list[Any]) -> list[bytes]:
    fmt, order = template(build, kinds)
    return [fmt % row for row in zip(*[args[i] for i in order])]


def session_lines(s: Any) -> list[bytes]:
    """Each session's JSON (:class:`~sim.batch.SessionColumns`), a column at a time."""
    cid, how = ids(s.customer_id)
    args = [cid, times(s.entry), times(s.exit), s.trip_duration_minutes.tolist(), encoded(s.weekday),
            encoded(s.time_slot), encoded(s.store_id), s.queue_seconds.tolist()]
    return _lines(session_payload, (how, "time", "time", "int", "json", "json", "json", "int"), args)


def door_lines(d: Any) -> list[bytes]:
    """Each door event's JSON (:class:`~sim.batch.DoorColumns`), a column at a time."""
    cid, how = ids(d.customer_id)
    args = [encoded(d.event_type), times(d.time), encoded(d.weekday), encoded(d.time_slot), cid, encoded(d.store_id)]
    return _lines(door_payload, ("json", "time", "json", "json", how, "json"), args)


def sensor_lines(r: Any) -> list[bytes]:
    """Each sensor record's JSON (:class:`~sim.sensor_stream.SensorColumns`), a column at a time."""
    cid, how = ids(r.customer_id)
    args = [encoded(r.event_type), times(r.time), encoded(r.weekday), encoded(r.time_slot), cid,
            encoded(r.store_id), times_ms(r.sent_at), r.reading.tolist()]
    return _lines(sensor_payload, ("json", "time", "json", "json", how, "json", "time", "int"), args)


def count_lines(c: Any) -> list[bytes]:
    """Each interval count's JSON (:class:`~sim.sensor_stream.CountColumns`), a column at a time."""
    args = [encoded(c.store_id), times(c.interval_start), times(c.interval_end), c.entries.tolist(), c.exits.tolist()]
    return _lines(count_payload, ("json", "time", "time", "int", "int"), args)


def register_lines(c: Any) -> list[bytes]:
    """Each register row's JSON (:class:`~sim.counter_feed.RegisterColumns`), a column at a time."""
    args = [encoded(c.store_id), times(c.interval_start), times(c.interval_end), times(c.reset_at),
            c.in_total.tolist(), c.out_total.tolist(), c.occupancy.tolist()]
    return _lines(register_payload, ("json", "time", "time", "time", "int", "int", "int"), args)


# -- one event ------------------------------------------------------------------------------------

_token = functools.lru_cache(maxsize=1 << 12)(orjson.dumps)  # labels and store ids: a few values


@functools.lru_cache(maxsize=1 << 16)
def _time_token(epoch: int) -> bytes:
    return orjson.dumps(iso(epoch))


def session_json(customer_id: str, entry: int, exit_: int, minutes: int, weekday: str, time_slot: str,
                 store_id: str, queue_seconds: int) -> bytes:
    """One session's JSON, through the sessions' template."""
    fmt, order = template(session_payload, ("json", "json", "json", "int", "json", "json", "json", "int"))
    args = (orjson.dumps(customer_id), _time_token(entry), _time_token(exit_), minutes, _token(weekday),
            _token(time_slot), _token(store_id), queue_seconds)
    return fmt % tuple(args[i] for i in order)


def door_json(kind: str, time: int, weekday: str, time_slot: str, customer_id: str, store_id: str) -> bytes:
    """One door event's JSON, through the door events' template."""
    fmt, order = template(door_payload, ("json", "json", "json", "json", "json", "json"))
    args = (_token(kind), _time_token(time), _token(weekday), _token(time_slot), orjson.dumps(customer_id),
            _token(store_id))
    return fmt % tuple(args[i] for i in order)
