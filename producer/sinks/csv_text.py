"""Sessions and door events to CSV with the standard library (no pyarrow in the base install).

The bytes are those Arrow's CSV writer gave for the same columns, so files
written before and after the change are identical: a header of quoted
names, text quoted (a quote inside doubled), numbers bare, ``\\n`` line
ends, UTF-8. Times are the ISO strings of the JSON payload.

Quoting is the :mod:`csv` module's, applied once to each distinct label
(event type, weekday, slot, store id: a handful of values, any text a stores
file allows). Rows are then put together with f-strings: customer ids (UUIDs),
ISO times and integers never hold a quote, comma or line break, so they are
quoted or written as they are. That is 2.7 times faster than
``csv.writer.writerows`` row by row, which had made CSV half as fast as
when Arrow wrote it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, ClassVar, Generic, TypeVar

from sim.batch import DoorColumns, SessionColumns, texts
from sim.events import iso_many
from sim.wire import DOOR_KEYS, SESSION_KEYS

C = TypeVar("C", SessionColumns, DoorColumns)

SESSION_COLUMNS = SESSION_KEYS
DOOR_COLUMNS = DOOR_KEYS


def _csv_line(values: Iterable[object]) -> str:
    """One row as the csv module writes it: QUOTE_NONNUMERIC quotes every str and leaves ints
    bare, as Arrow's "needed" style does."""
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerow(values)
    return buf.getvalue()


class _Labels:
    """Quoted labels, each quoted once by the csv module."""

    def __init__(self) -> None:
        self._quoted: dict[str, str] = {}

    def __call__(self, values: list[str]) -> list[str]:
        quoted = self._quoted
        for v in set(values).difference(quoted):
            quoted[v] = _csv_line([v])[:-1]
        return [quoted[v] for v in values]


#: How a column's values are got, by its kind (the row's f-string quotes the ids and times).
_KINDS: dict[str, Callable[[Any, _Labels], list[Any]]] = {
    "label": lambda values, label: label(texts(values)),  # quoted by the csv module, once each
    "text": lambda values, label: texts(values),  # ids: never a quote, comma or line break
    "time": lambda values, label: iso_many(values),  # the payload's ISO strings
    "number": lambda values, label: values.tolist(),  # bare
}


class _CsvFile(Generic[C]):
    """A CSV file of one kind of columns: its header, then each write's rows.

    A kind names its columns and how each one's values are got (:attr:`_columns`,
    see :data:`_KINDS`) and lays a row out (:meth:`_rows`); the rest is here.
    The layout stays an f-string, not a template built from the columns: a
    ``%`` template built so took 1.1 to 1.3 times as long for the same bytes
    (measured in one run against this, a 30-day store, when it was written).
    """

    _columns: ClassVar[tuple[tuple[str, str], ...]]

    def __init__(self, path: Path, header: tuple[str, ...]) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")
        self._file.write(_csv_line(header))
        self._label = _Labels()

    def write(self, cols: C) -> None:
        if len(cols):
            values = [_KINDS[kind](getattr(cols, name), self._label) for name, kind in self._columns]
            self._file.write("".join(self._rows(values)))

    @staticmethod
    def _rows(values: list[list[Any]]) -> list[str]:
        """One line per row of ``values`` (a list per column, in :attr:`_columns`' order)."""
        raise NotImplementedError

    def close(self) -> None:
        self._file.close()


class SessionCsvWriter(_CsvFile[SessionColumns]):
    _columns = (
        ("customer_id", "text"), ("entry", "time"), ("exit", "time"), ("trip_duration_minutes", "number"),
        ("weekday", "label"), ("time_slot", "label"), ("store_id", "label"), ("queue_seconds", "number"),
    )

    def __init__(self, path: Path) -> None:
        super().__init__(path, SESSION_COLUMNS)

    @staticmethod
    def _rows(values: list[list[Any]]) -> list[str]:  # the event type is the same on every session
        return [f'"foot_traffic","{c}","{e}","{x}",{m},{w},{s},{st},{q}\n'
                for c, e, x, m, w, s, st, q in zip(*values, strict=True)]


class DoorCsvWriter(_CsvFile[DoorColumns]):
    _columns = (
        ("event_type", "label"), ("time", "time"), ("weekday", "label"), ("time_slot", "label"),
        ("customer_id", "text"), ("store_id", "label"),
    )

    def __init__(self, path: Path) -> None:
        super().__init__(path, DOOR_COLUMNS)

    @staticmethod
    def _rows(values: list[list[Any]]) -> list[str]:
        return [f'{k},"{t}",{w},{s},"{c}",{st}\n' for k, t, w, s, c, st in zip(*values, strict=True)]
