"""Columnar batches of sessions and door events.

Sinks write batches, not single events: a file or a Redis pipeline wants many
rows at once. Both engines produce the same :class:`Batch` for the same
events: the vectorized engine straight from its arrays, the SimPy engine by
collecting the events its observers see (:class:`BatchCollector`). Strings
are numpy object arrays so Arrow, CSV and JSON writers take them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from sim import wire
from sim.events import ENTRY, EXIT, DoorEvent, Session
from sim.profile import WEEKDAYS
from sim.store import Store

if TYPE_CHECKING:  # sim.sampling's Arrivals are a column table too: it imports this module
    from sim.sampling import Arrivals

_WEEKDAY_NAMES = np.array(WEEKDAYS, dtype=object)
_DOOR_KINDS = np.array([EXIT, ENTRY], dtype=object)  # by is_entry


_T = TypeVar("_T", bound="ColumnTable")
#: Seconds in a day: rows are cut by UTC day (epoch days).
_DAY = 86_400


class ColumnTable:
    """Rows as parallel numpy columns: the base of the batch types (a dataclass whose fields are the columns).

    One place for what every such table does: pick rows, concatenate
    tables, cut them by UTC day. Coded strings (:class:`Coded`) stay coded
    through all three, so writers keep their fast path.
    """

    def take(self: _T, index: np.ndarray | slice) -> _T:
        """The rows ``index`` (a slice, a boolean mask or positions)."""
        parts: dict[str, Any] = {}
        for name in column_names(type(self)):
            values = getattr(self, name)
            if isinstance(values, Coded) and values.codes is not None and values.names is not None:
                parts[name] = Coded.of(values.names, values.codes[index])
            else:
                parts[name] = values[index]
        return type(self)(**parts)

    @classmethod
    def concat(cls: type[_T], parts: Sequence[_T]) -> _T:
        """The tables one after the other (coded columns stay coded, see :func:`concat_strings`)."""
        return cls(**{name: concat_strings([getattr(p, name) for p in parts]) for name in column_names(cls)})

    def by_day(self: _T, times: np.ndarray) -> Iterator[tuple[int, _T]]:
        """The rows cut by the UTC day (epoch days) of ``times``, one of the table's time columns.

        The rows must be in order of ``times``, so each day's are contiguous.
        """
        if not len(times):
            return
        days = times // _DAY
        cuts: list[int] = (np.flatnonzero(np.diff(days)) + 1).tolist()
        for lo, hi in zip([0, *cuts], [*cuts, len(days)]):
            yield int(days[lo]), self.take(slice(lo, hi))


_COLUMNS: dict[type, tuple[str, ...]] = {}


def column_names(table: type) -> tuple[str, ...]:
    """A table type's columns, its fields in order (looked up once per type: a day's batch takes and
    joins tables a dozen times)."""
    names = _COLUMNS.get(table)
    if names is None:
        names = _COLUMNS[table] = tuple(f.name for f in fields(table))
    return names


def _no_wait() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class SessionColumns(ColumnTable):
    """Visits in entry order.

    ``queue_seconds`` may be left out where nobody queues (no capacity
    limit): it is then all zeros.
    """

    customer_id: np.ndarray
    store_id: np.ndarray
    entry: np.ndarray  #: epoch seconds (int64)
    exit: np.ndarray  #: epoch seconds (int64)
    weekday: np.ndarray
    time_slot: np.ndarray
    queue_seconds: np.ndarray = field(default_factory=_no_wait)  #: wait at the door (int64)

    def __post_init__(self) -> None:
        if self.queue_seconds.shape[0] != self.entry.shape[0]:
            if self.queue_seconds.shape[0]:
                raise ValueError("queue_seconds: one value per session is needed")
            self.queue_seconds = np.zeros(self.entry.shape[0], dtype=np.int64)

    def __len__(self) -> int:
        return int(self.entry.shape[0])

    @property
    def trip_duration_minutes(self) -> np.ndarray:
        return (self.exit - self.entry) // 60

    def json_lines(self) -> list[bytes]:
        """Each session's JSON, exactly as written to Redis (:mod:`sim.wire`)."""
        return wire.session_lines(self)

    def __iter__(self) -> Iterator[Session]:
        for c, st, e, x, w, s, q in zip(
            texts(self.customer_id), self.store_id.tolist(), self.entry.tolist(),
            self.exit.tolist(), self.weekday.tolist(), self.time_slot.tolist(),
            self.queue_seconds.tolist(), strict=True,
        ):
            yield Session(c, st, e, x, w, s, q)


@dataclass
class DoorColumns(ColumnTable):
    """Door events in time order (at equal times, exits first, then by entry order)."""

    event_type: np.ndarray  #: "entry" or "exit" (or "turned_away" / "gave_up" when asked for)
    time: np.ndarray  #: epoch seconds (int64)
    weekday: np.ndarray
    time_slot: np.ndarray
    customer_id: np.ndarray
    store_id: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def json_lines(self) -> list[bytes]:
        """Each door event's JSON, exactly as written to Redis (:mod:`sim.wire`)."""
        return wire.door_lines(self)

    def __iter__(self) -> Iterator[DoorEvent]:
        for k, t, w, s, c, st in zip(
            self.event_type.tolist(), self.time.tolist(), self.weekday.tolist(),
            self.time_slot.tolist(), texts(self.customer_id), self.store_id.tolist(),
        ):
            yield DoorEvent(k, t, w, s, c, st)


@dataclass
class Batch:
    """A stretch of the run: its sessions and its door events.

    ``turned_away`` and ``gave_up`` count the customers of this stretch who
    never got in (stores at capacity), whether or not their door events are
    in ``doors``.
    """

    sessions: SessionColumns
    doors: DoorColumns
    turned_away: int = 0
    gave_up: int = 0

    def __len__(self) -> int:
        return len(self.sessions) + len(self.doors)


def concat_columns(parts: Sequence[_T]) -> _T:
    """Concatenate tables of one kind: :meth:`ColumnTable.concat` of the first one's type."""
    return type(parts[0]).concat(parts)


def concat_strings(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """``np.concatenate``, except that :class:`Coded` arrays of the same names
    give a :class:`Coded` array (their codes concatenated), which writers
    turn into text far faster than the strings."""
    names = getattr(arrays[0], "names", None)
    coded = [a.codes for a in arrays if isinstance(a, Coded) and a.codes is not None and a.names is names]
    if names is not None and len(coded) == len(arrays):
        return Coded.of(names, np.concatenate(coded))
    return np.concatenate(arrays)


class Coded(np.ndarray):
    """An object array of strings that remembers the codes it was built from.

    ``names[codes]`` with ``codes`` and ``names`` kept: a writer that knows
    (the Arrow conversion in ``producer.sinks.arrow``) builds the column from
    the few names and the integer codes, ten times faster than from the
    strings. Anything derived from it (a slice, a concatenation) forgets them
    and is a plain object array in all but name.
    """

    codes: np.ndarray | None
    names: np.ndarray | None

    @staticmethod
    def of(names: np.ndarray, codes: np.ndarray) -> Coded:
        out = names[codes].view(Coded)
        out.codes, out.names = codes, names
        return out

    def __array_finalize__(self, obj: object) -> None:
        self.codes = self.names = None

    def __array_wrap__(self, array: np.ndarray, context: object = None, return_scalar: bool = False) -> Any:
        # Results of ufuncs (comparisons, ...) are plain arrays or scalars.
        plain = np.asarray(array)
        return plain[()] if return_scalar else plain


class _Repeats:
    """:class:`Coded` columns of ``names`` whose codes may all be one: those are views of a
    read-only column of that name, made once and grown as batches need.

    A day's batch has a few columns that hold one value throughout (the store
    of a one-store run, mostly the weekday): their strings cost more to build,
    batch after batch, than everything else in them (a Parquet writer never
    looks at them: it takes the codes). Views are read-only so that no
    batch can change another's.
    """

    def __init__(self, names: np.ndarray) -> None:
        self.names = names
        self._filled: dict[int, np.ndarray] = {}

    def coded(self, codes: np.ndarray, constant: bool = False) -> Coded:
        """``Coded.of(names, codes)``; ``constant``: the codes are known to be all one (not looked at)."""
        n = len(codes)
        if not n or not (constant or codes.min() == codes.max()):
            return Coded.of(self.names, codes)
        code = int(codes[0])
        filled = self._filled.get(code)
        if filled is None or len(filled) < n:
            filled = np.full(max(n, 2 * len(filled) if filled is not None else 4096), self.names[code], dtype=object)
            filled.flags.writeable = False
            self._filled[code] = filled
        out = filled[:n].view(Coded)
        out.codes, out.names = codes, self.names
        return out


_WEEKDAY_COLUMNS = _Repeats(_WEEKDAY_NAMES)


class Labels:
    """Turns store indices, weekday and slot codes into the strings events carry."""

    def __init__(self, stores: Sequence[Store]) -> None:
        self.store_ids = np.array([s.store_id for s in stores], dtype=object)
        self._store_columns = _Repeats(self.store_ids)
        flat: list[str] = []
        offsets = []
        for store in stores:
            offsets.append(len(flat))
            flat.extend(store.profile.labels)
        self.slot_labels = np.array(flat, dtype=object)
        self.slot_offsets = np.array(offsets, dtype=np.int64)

    def slots(self, store: np.ndarray, slot: np.ndarray) -> np.ndarray:
        return Coded.of(self.slot_labels, self.slot_offsets[store] + slot)

    def stores(self, store: np.ndarray) -> np.ndarray:
        return self._store_columns.coded(store, constant=len(self.store_ids) == 1)

    @staticmethod
    def weekdays(codes: np.ndarray) -> np.ndarray:
        return _WEEKDAY_COLUMNS.coded(codes)


def texts(values: np.ndarray) -> list[str]:
    """A string column as a list of ``str``, whether object or fixed-width bytes."""
    if values.dtype.kind == "S":
        return [v.decode() for v in values.tolist()]
    return values.tolist()  # type: ignore[no-any-return]


def sessions_from_arrivals(arr: Arrivals, labels: Labels) -> SessionColumns:
    return SessionColumns(
        customer_id=arr.customer_id,  # S36 bytes: cheap; see texts()
        store_id=labels.stores(arr.store),
        entry=arr.entry,
        exit=arr.exit,
        weekday=labels.weekdays(arr.weekday),
        time_slot=labels.slots(arr.store, arr.slot),
        queue_seconds=np.zeros(len(arr), dtype=np.int64),
    )


def doors_from_arrivals(entries: Arrivals, exits: Arrivals, labels: Labels) -> DoorColumns:
    """Merge entries and exits into door events in canonical order.

    Canonical order: time, then exits before entries, then customers in
    entry order (``exits`` and ``entries`` are each in entry order already).
    One stable sort by ``2 x time + is_entry`` gives that order: ties keep the
    exits then the entries each in entry order, as they are laid out (a
    third faster than sorting by the three keys; times are far from 2**62).
    """
    n_exit = len(exits)
    time = np.concatenate([exits.exit, entries.entry])
    is_entry = np.concatenate([np.zeros(n_exit, np.int8), np.ones(len(entries), np.int8)])
    order = np.argsort(2 * time + is_entry, kind="stable")
    store = np.concatenate([exits.store, entries.store])[order]
    weekday = np.concatenate([exits.exit_weekday, entries.weekday])[order]
    slot = np.concatenate([exits.exit_slot, entries.slot])[order]
    ids = np.concatenate([exits.customer_id, entries.customer_id])[order]
    return DoorColumns(
        event_type=Coded.of(_DOOR_KINDS, is_entry[order]),
        time=time[order],
        weekday=labels.weekdays(weekday),
        time_slot=labels.slots(store, slot),
        customer_id=ids,
        store_id=labels.stores(store),
    )


class BatchCollector:
    """An observer that gathers events into batches for a batch consumer.

    It hands a batch to ``emit`` every ``size`` events and on :meth:`flush`.
    Customers who never got in are counted; with ``rejected=True`` their
    door events (``turned_away``, ``gave_up``) go into the batch too.
    """

    def __init__(self, emit: Callable[[Batch], None], size: int = 50_000, rejected: bool = False) -> None:
        self.emit, self.size, self.rejected = emit, size, rejected
        self._sessions: list[Session] = []
        self._doors: list[DoorEvent] = []
        self._turned_away = self._gave_up = 0

    def on_session(self, session: Session) -> None:
        self._sessions.append(session)

    def on_entry(self, event: DoorEvent) -> None:
        self._doors.append(event)
        if len(self._doors) >= self.size:
            self.flush()

    def on_exit(self, event: DoorEvent) -> None:
        self._doors.append(event)
        if len(self._doors) >= self.size:
            self.flush()

    def on_turned_away(self, event: DoorEvent) -> None:
        self._turned_away += 1
        if self.rejected:
            self.on_exit(event)

    def on_gave_up(self, event: DoorEvent) -> None:
        self._gave_up += 1
        if self.rejected:
            self.on_exit(event)

    def flush(self) -> None:
        if not self._sessions and not self._doors and not (self._turned_away or self._gave_up):
            return
        batch = Batch(
            _session_columns(self._sessions), _door_columns(self._doors),
            self._turned_away, self._gave_up,
        )
        self._sessions, self._doors = [], []
        self._turned_away = self._gave_up = 0
        self.emit(batch)


def _obj(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _session_columns(items: list[Session]) -> SessionColumns:
    return SessionColumns(
        customer_id=_obj([s.customer_id for s in items]),
        store_id=_obj([s.store_id for s in items]),
        entry=np.array([s.entry for s in items], dtype=np.int64),
        exit=np.array([s.exit for s in items], dtype=np.int64),
        weekday=_obj([s.weekday for s in items]),
        time_slot=_obj([s.time_slot for s in items]),
        queue_seconds=np.array([s.queue_seconds for s in items], dtype=np.int64),
    )


def _door_columns(items: list[DoorEvent]) -> DoorColumns:
    return DoorColumns(
        event_type=_obj([e.kind for e in items]),
        time=np.array([e.time for e in items], dtype=np.int64),
        weekday=_obj([e.weekday for e in items]),
        time_slot=_obj([e.time_slot for e in items]),
        customer_id=_obj([e.customer_id for e in items]),
        store_id=_obj([e.store_id for e in items]),
    )
