"""JSON lines of a batch with one bytes format per line: numpy and the standard library, no pyarrow.

The backfill (:mod:`producer.live.backfill`) writes hundreds of thousands of
events a second; ``orjson.dumps`` of a fresh dict per event cost it more
than Redis did. Here a payload builder of :mod:`sim.events`
(``session_payload``, ``door_payload``: the one place keys and their order
are declared) is called once with markers, and its JSON becomes a bytes
template with one ``%s``/``%d`` per field; every line is then one
``template % row``. The result is byte for byte
:meth:`~sim.batch.SessionColumns.json_lines` (``tests/test_live_lines.py``):

- labels and store ids (a few distinct values) are encoded by ``orjson``
  once per distinct value, so escaping and raw UTF-8 (the en dash) are
  orjson's own;
- times are ``YYYY-MM-DDTHH:MM:SS+00:00`` from numpy, the suffix in the
  template; integers are ``%d``;
- customer ids are written as they are when every byte is a plain
  printable ASCII character, else encoded by ``orjson`` like labels.

The live package must not import pyarrow (``tests/test_live_import_boundary.py``),
so this is not :mod:`producer.sinks.jsonl`, which builds the files' lines with Arrow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

from sim.batch import DoorColumns, SessionColumns
from sim.events import door_payload, session_payload

#: Bytes a JSON string may hold as they are: printable ASCII but quote and backslash.
_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[0x20:0x7F] = True
_PLAIN[[ord('"'), ord("\\")]] = False


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
        token = f'"{markers[i]}"'.encode()
        raw = raw.replace(token, {"json": b"%s", "text": b'"%s"', "time": b'"%s+00:00"', "int": b"%d"}[kind])
    return raw, [i for _, i in where]


_SESSION, _SESSION_ORDER = _template(
    session_payload, ("text", "time", "time", "int", "json", "json", "json", "int"))
_DOOR, _DOOR_ORDER = _template(door_payload, ("json", "time", "json", "json", "text", "json"))


def encoded(values: np.ndarray) -> list[bytes]:
    """Each value's JSON token (quoted, escaped by orjson), made once per distinct value."""
    codes, names = getattr(values, "codes", None), getattr(values, "names", None)
    if codes is not None and names is not None:  # a Coded column: its few names, and codes
        tokens = np.array([orjson.dumps(v) for v in names.tolist()] + [b""], dtype=object)[:-1]
        return tokens[codes].tolist()  # type: ignore[no-any-return]
    plain = values.tolist()
    token = {v: orjson.dumps(v) for v in set(plain)}
    return [token[v] for v in plain]


@functools.cache
def _clock_times() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day (built once)."""
    day = np.arange(86_400, dtype=np.int64).astype("datetime64[s]")
    return np.array([t[11:] for t in np.datetime_as_string(day, unit="s").astype("S19").tolist()], dtype=object)


def times(epochs: np.ndarray) -> list[bytes]:
    """``YYYY-MM-DDTHH:MM:SS`` of each epoch second (the template adds ``+00:00``).

    A day's date and a second's clock time come from small tables; each
    time is one concatenation of the two (numpy formats every time anew, 3x slower).
    """
    t = np.asarray(epochs, dtype=np.int64)
    if not len(t):
        return []
    day = t // 86_400
    first = int(day.min())
    dates = np.arange(first, int(day.max()) + 1, dtype=np.int64).astype("datetime64[D]")
    prefix = np.array([d + b"T" for d in np.datetime_as_string(dates).astype("S10").tolist()], dtype=object)
    clock = _clock_times()
    return (prefix[day - first] + clock[t - day * 86_400]).tolist()  # type: ignore[no-any-return]


def ids(values: np.ndarray) -> tuple[list[bytes], str]:
    """Customer ids as bytes and how to write them: ``text`` if all plain ASCII, else ``json`` tokens."""
    raw = values if values.dtype.kind == "S" else np.char.encode(values.astype(str), "utf-8")
    if _PLAIN[np.frombuffer(raw.tobytes(), dtype=np.uint8)].all():  # (no NUL padding either: all full width)
        return raw.tolist(), "text"
    return encoded(np.char.decode(raw, "utf-8")), "json"


def session_lines(s: SessionColumns) -> list[bytes]:
    """Each session's JSON, as :meth:`SessionColumns.json_lines` gives it."""
    cid, how = ids(s.customer_id)
    fmt = _SESSION if how == "text" else _template(
        session_payload, ("json", "time", "time", "int", "json", "json", "json", "int"))[0]
    args = [cid, times(s.entry), times(s.exit), s.trip_duration_minutes.tolist(), encoded(s.weekday),
            encoded(s.time_slot), encoded(s.store_id), s.queue_seconds.tolist()]
    return [fmt % row for row in zip(*[args[i] for i in _SESSION_ORDER])]


def door_lines(d: DoorColumns) -> list[bytes]:
    """Each door event's JSON, as :meth:`DoorColumns.json_lines` gives it."""
    cid, how = ids(d.customer_id)
    fmt = _DOOR if how == "text" else _template(door_payload, ("json", "time", "json", "json", "json", "json"))[0]
    args = [encoded(d.event_type), times(d.time), encoded(d.weekday), encoded(d.time_slot), cid,
            encoded(d.store_id)]
    return [fmt % row for row in zip(*[args[i] for i in _DOOR_ORDER])]
