"""JSON lines and ISO times built a column at a time, not a line at a time.

``orjson.dumps`` per event costs a Python call per line, which made JSONL
half as fast as Parquet. Here a batch's lines are made the way Arrow makes a
table: each field becomes a column of its JSON text, and the columns are
joined row by row with the literal keys in between. The result is byte for
byte what :meth:`~sim.events.Session.to_json` gives for each event (a test
compares them on awkward inputs):

- keys, their order and the constant values come from the payload builders
  of :mod:`sim.events` (``session_payload``, ``door_payload``), the one
  place they are declared;
- times are ``YYYY-MM-DDTHH:MM:SS+00:00``, as ``datetime.isoformat`` writes
  whole UTC seconds; integers are decimal, as ``str(int)``;
- strings are escaped exactly as orjson escapes them (raw UTF-8, so the en
  dash stays one character): a column is checked for the few bytes JSON
  must escape (``"``, ``\\``, control characters), and the rare values that
  hold one go through ``orjson.dumps``, once per distinct value.

Joining is where the time goes (Arrow's ``binary_join_element_wise`` costs
tens of nanoseconds per part and row), so parts are merged first: a run of
fixed-width parts (UUIDs, times, literals) becomes one fixed-width column
built with numpy, and a run of coded parts (labels, store ids: a few names
and their codes, see :class:`~sim.batch.Coded`) becomes one coded part
whose texts are made once per distinct combination. A line then has about
five parts instead of twenty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sim.batch import Coded, DoorColumns, SessionColumns, texts
from sim.events import door_payload, session_payload

#: The payload builders, called here with columns where an event holds values.
_SESSION: Callable[..., dict[str, Any]] = session_payload
_DOOR: Callable[..., dict[str, Any]] = door_payload

#: The bytes a JSON string cannot hold as they are (RFC 8259): controls, quote, backslash.
_ESCAPED = bytes([*range(0x20), ord('"'), ord("\\")])
#: Every other byte: ``bytes.translate(None, _PLAIN)`` keeps only the bytes to escape.
_PLAIN = bytes(b for b in range(256) if b not in _ESCAPED)
#: Printable ASCII but quote and backslash: what a fixed-width column may hold as it is.
_ASCII_PLAIN = bytes(b for b in range(0x20, 0x80) if b not in _ESCAPED)
#: The same bytes as an RE2 character class (for Arrow's regex kernels).
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_SECONDS_A_DAY = 86400
#: Combinations of coded texts made all at once, whether they occur or not.
_FEW = 1024


@dataclass
class FixedPart:
    """A column of JSON text of one width: a fixed-width bytes array (numpy ``S<width>``).

    Its bytes are valid UTF-8 by construction (ASCII columns, literal text),
    so it becomes an Arrow string column without a check.
    """

    values: np.ndarray


@dataclass
class _Codes:
    """A column of JSON text given as a few texts and a code per row."""

    texts: list[str]
    codes: np.ndarray


#: What a line is joined from: literal text, or a column of JSON text.
Part: TypeAlias = str | FixedPart | _Codes | pa.Array


def _plain(data: bytes, plain: bytes = _PLAIN) -> bool:
    """Whether text holds only ``plain`` bytes (one ``bytes.translate``, about 1 ms a megabyte);
    by default, whether it holds nothing JSON escapes."""
    return not data.translate(None, plain)


def _escape(strings: pa.Array) -> pa.Array:
    """Each string's JSON text without its quotes, as orjson writes it.

    Only the rows that need it are escaped, through orjson, once per
    distinct value.
    """
    data = strings.buffers()[2]
    if data is None or _plain(data.to_pybytes()):
        return strings
    mask = pc.match_substring_regex(strings, _NEEDS_ESCAPE)
    awkward = pc.dictionary_encode(strings.filter(mask))
    escaped = [orjson.dumps(v)[1:-1].decode() for v in awkward.dictionary.to_pylist()]
    return pc.replace_with_mask(strings, mask, pa.array(escaped, pa.string()).take(awkward.indices))


def json_strings(values: np.ndarray) -> Part:
    """A string column as JSON string text without the quotes (escaped as orjson does).

    A :class:`~sim.batch.Coded` column (labels, store ids) escapes its few
    names only; a fixed-width bytes column of printable ASCII with nothing
    to escape (the engine's UUIDs) is used as it is.
    """
    if isinstance(values, Coded) and values.codes is not None and values.names is not None:
        return _Codes([orjson.dumps(v)[1:-1].decode() for v in values.names.tolist()], values.codes)
    if values.dtype.kind == "S":
        if len(values) and _plain(values.tobytes(), _ASCII_PLAIN):
            return FixedPart(values)
        values = np.array(texts(values), dtype=object)
    return _escape(pa.array(values, pa.string()))


@cache
def _clock() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day, as ``S8`` (numpy's own formatting)."""
    text = np.datetime_as_string(np.arange(_SECONDS_A_DAY).astype("datetime64[s]"), unit="s")
    return np.char.encode(text).view(np.uint8).reshape(_SECONDS_A_DAY, 19)[:, 11:].copy().view("S8").ravel()


def iso_parts(epochs: np.ndarray) -> list[Part]:
    """Epoch seconds as the parts of ``YYYY-MM-DDTHH:MM:SS+00:00``.

    The batch's few dates and the clock of the day are looked up, not
    formatted per row: fixed-width columns, merged with their neighbours.
    """
    day, second = np.divmod(np.asarray(epochs, dtype=np.int64), _SECONDS_A_DAY)
    first = int(day.min()) if len(day) else 0
    span = int(day.max()) + 1 - first if len(day) else 0
    if span <= len(day):  # a batch's days: every day from the first to the last
        days, which = np.arange(first, first + span), day - first
    else:  # times far apart: only the days that occur
        days, which = np.unique(day, return_inverse=True)
    dates = np.char.encode(np.datetime_as_string(days.astype("datetime64[D]"))).astype("S10")
    return [FixedPart(dates[which.reshape(-1)]), "T", FixedPart(_clock()[second]), "+00:00"]


def iso_times(epochs: np.ndarray) -> pa.Array:
    """Epoch seconds as ISO 8601 UTC strings, as :func:`sim.events.iso` writes each one."""
    return join_parts(iso_parts(epochs), len(epochs))


def number_texts(values: np.ndarray) -> pa.Array | int:
    """Integers as JSON numbers (decimal, as ``str(int)``); one ``int`` when
    they are all the same (``queue_seconds`` without a capacity limit), which
    is then literal text like the keys."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) and values.min() == values.max():
        return int(values[0])
    return pa.array(values).cast(pa.string())


class StringField:
    """A JSON string field: its text (parts), written in quotes."""

    def __init__(self, *parts: Part | list[Part]) -> None:
        self.parts = [q for p in parts for q in (p if isinstance(p, list) else [p])]


def line_parts(payload: dict[str, Any]) -> list[Part]:
    """One line's parts in key order.

    ``payload`` is a payload builder's dictionary holding, where an event
    holds a value, a column: a :class:`StringField` or an Arrow array of JSON
    numbers. Constants (the session's ``event_type``) and keys are written
    by orjson.
    """
    parts: list[Part] = []
    for i, (key, value) in enumerate(payload.items()):
        parts.append(("{" if i == 0 else ",") + orjson.dumps(key).decode() + ":")
        if isinstance(value, StringField):
            parts += ['"', *value.parts, '"']
        elif isinstance(value, pa.Array):
            parts.append(value)
        else:
            parts.append(orjson.dumps(value).decode())
    parts.append("}\n")
    return parts


def _fixed_run(run: list[Part], n: int) -> FixedPart:
    """Literals and fixed-width columns side by side: one fixed-width column.

    Built as a packed record array (a field per part), then seen as one
    ``S<width>`` column: each part is one strided copy.
    """
    blocks = [np.bytes_(p.encode()) if isinstance(p, str) else p.values for p in run if isinstance(p, str | FixedPart)]
    out = np.empty(n, dtype=np.dtype([(f"f{i}", b.dtype) for i, b in enumerate(blocks)]))
    for i, block in enumerate(blocks):
        out[f"f{i}"] = block
    return FixedPart(out.view(f"S{out.dtype.itemsize}"))


def _coded_run(run: list[Part]) -> _Codes:
    """Literals and coded columns as one coded column.

    Its texts are every combination of the columns' texts when they are
    few (a store's weekdays and slots), else the combinations that occur.
    """
    coded = [p for p in run if isinstance(p, _Codes)]
    shape = tuple(len(p.texts) for p in coded)
    combined = np.ravel_multi_index([p.codes for p in coded], shape)
    if math.prod(shape) <= _FEW:
        seen, codes = np.arange(math.prod(shape)), combined
    else:
        seen, codes = np.unique(combined, return_inverse=True)
    each = np.unravel_index(seen, shape)
    made = []
    for j in range(len(seen)):
        names = iter([p.texts[each[i][j]] for i, p in enumerate(coded)])
        made.append("".join(p if isinstance(p, str) else next(names) for p in run))
    return _Codes(made, codes.reshape(-1))


def _merge(parts: list[Part], n: int) -> list[Part]:
    """Merge each run of literals and fixed-width columns into one fixed-width
    column, each run of literals and coded columns into one coded column, and
    each run of literals into one literal; other columns stand alone."""
    runs: list[tuple[type | None, list[Part]]] = []  # (kind of the run's columns, parts)
    for part in parts:
        kind = None if isinstance(part, str) else type(part) if isinstance(part, FixedPart | _Codes) else pa.Array
        if runs and runs[-1][0] is not pa.Array and (kind is None or runs[-1][0] in (None, kind)):
            runs[-1] = (runs[-1][0] or kind, runs[-1][1] + [part])
        else:
            runs.append((kind, [part]))
    merged: list[Part] = []
    for kind, run in runs:
        if kind is None:
            merged.append("".join(run))  # type: ignore[arg-type]
        elif kind is FixedPart:
            merged.append(_fixed_run(run, n))
        elif kind is _Codes:
            merged.append(_coded_run(run))
        else:
            merged.extend(run)
    return merged


def _text_column(part: Part) -> pa.Array:
    """One part as an Arrow string column."""
    if isinstance(part, FixedPart):
        values = np.ascontiguousarray(part.values)
        offsets = np.arange(len(values) + 1, dtype=np.int64) * values.dtype.itemsize
        if offsets[-1] > np.iinfo(np.int32).max:
            raise OverflowError("more than 2 GiB of text in one batch; write smaller batches")
        return pa.Array.from_buffers(pa.string(), len(values),
                                     [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(values)])
    if isinstance(part, _Codes):
        return pa.array(part.texts, pa.string()).take(pa.array(part.codes))
    assert isinstance(part, pa.Array)
    return part


def join_parts(parts: list[Part], n: int) -> pa.Array:
    """The lines: parts merged, then joined row by row (one Arrow call)."""
    merged = _merge(parts, n)
    columns = [p if isinstance(p, str) else _text_column(p) for p in merged]
    if len(columns) == 1:
        only = columns[0]
        return pa.array([only] * n, pa.string()) if isinstance(only, str) else only
    return pc.binary_join_element_wise(*columns, "")


def session_lines(cols: SessionColumns) -> pa.Array:
    """Each session's JSON line (``\\n``-terminated), as a string column."""
    payload = _SESSION(
        StringField(json_strings(cols.customer_id)), StringField(iso_parts(cols.entry)), StringField(iso_parts(cols.exit)),
        number_texts(cols.trip_duration_minutes), StringField(json_strings(cols.weekday)),
        StringField(json_strings(cols.time_slot)), StringField(json_strings(cols.store_id)),
        number_texts(cols.queue_seconds),
    )
    return join_parts(line_parts(payload), len(cols))


def door_lines(cols: DoorColumns) -> pa.Array:
    """Each door event's JSON line (``\\n``-terminated), as a string column."""
    payload = _DOOR(
        StringField(json_strings(cols.event_type)), StringField(iso_parts(cols.time)), StringField(json_strings(cols.weekday)),
        StringField(json_strings(cols.time_slot)), StringField(json_strings(cols.customer_id)),
        StringField(json_strings(cols.store_id)),
    )
    return join_parts(line_parts(payload), len(cols))


def text_bytes(lines: pa.Array) -> memoryview:
    """The characters of a string column end to end, without a copy (what a file gets)."""
    if len(lines) == 0:
        return memoryview(b"")
    offsets = lines.buffers()[1]
    start, end = np.frombuffer(offsets, dtype=np.int32)[[lines.offset, lines.offset + len(lines)]]
    return memoryview(lines.buffers()[2])[int(start):int(end)]


def session_text(cols: SessionColumns) -> memoryview:
    """The sessions' lines end to end (what a file gets)."""
    return text_bytes(session_lines(cols))


def door_text(cols: DoorColumns) -> memoryview:
    """The door events' lines end to end (what a file gets)."""
    return text_bytes(door_lines(cols))
