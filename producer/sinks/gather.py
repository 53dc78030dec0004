"""Writers that gather a few day-sized batches before turning them into text (no pyarrow here).

Turning columns into text costs a few dozen numpy (or Arrow) calls whatever
the number of rows, which day-sized batches (a few thousand rows) would pay
over and over. The buffer bounds memory at ``ROWS`` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from sim.batch import column_names, concat_columns


def _dtypes(cols: Any) -> tuple[np.dtype, ...]:
    return tuple(getattr(cols, name).dtype for name in column_names(type(cols)))


class Gathering:
    """Gathers batches' columns up to about ``ROWS`` rows, then writes them at once.

    Only columns of the same dtypes are gathered (concatenating fixed-width
    bytes of two widths, or bytes with str, would change the values).
    """

    ROWS = 64 * 1024

    def __init__(self, rows: int = ROWS) -> None:
        """``rows``: how many rows to gather at most (0: none, each batch is written as it comes)."""
        self._pending: list[Any] = []
        self._dtypes: tuple[np.dtype, ...] = ()  # the pending columns' (looked up once per buffer, not per batch)
        self._rows = 0
        self._limit = rows

    def write(self, cols: Any) -> None:
        if not len(cols):
            return
        if not self._limit:
            self._write_now(cols)
            return
        kinds = _dtypes(cols)
        if self._pending and kinds != self._dtypes:
            self._flush()
        self._pending.append(cols)
        self._dtypes = kinds
        self._rows += len(cols)
        if self._rows >= self._limit:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._write_parts(self._pending)
        self._pending, self._rows = [], 0

    def _write_parts(self, parts: list[Any]) -> None:
        """Write what was gathered, joined into one."""
        self._write_now(concat_columns(parts))

    def _write_now(self, cols: Any) -> None:
        raise NotImplementedError

    def _close_file(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._close_file()


class TextWriter(Gathering):
    """Writes the text ``to_text`` makes of each gathered batch (JSON lines, ``\\n``-terminated)."""

    def __init__(self, path: Path, to_text: Callable[[Any], bytes | memoryview], rows: int = Gathering.ROWS) -> None:
        super().__init__(rows)
        self._file: IO[bytes] = open(path, "wb")
        self._to_text = to_text

    def _write_now(self, cols: Any) -> None:
        self._file.write(self._to_text(cols))

    def _close_file(self) -> None:
        self._file.close()
