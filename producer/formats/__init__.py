"""Output formats: one module each, found through one registry.

A format knows how to write the columns of one data set (sessions, door
events, the sensor's records, its interval counts and registers, the scenarios' labels) to a file, plain or as a
partition of a hive-partitioned data set, and how to read a file or a
partitioned data set back as an Arrow table, and, where DuckDB reads the
format, the DuckDB query that scans its files. Everything that writes or reads
the run's files (``simulate`` plain, ``--partition`` and on Dask, the sensor's
files, ``report``, ``profile fit``) asks the registry for the format by name
(``--format``) or by a file's suffix, and never tests which format it is.

A format's module is imported when the format is used: the base install has
no pyarrow, and a JSONL run must not pay for Parquet's or Avro's imports.
Adding a format is its module and one line in :data:`MODULES` (and, if it
needs a library, an extra in ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

#: The data sets a format writes: the columns types of :mod:`sim.batch`, :mod:`sim.sensor_stream` and
#: :mod:`sim.counter_feed` and :mod:`sim.labels`.
Kind = Literal["sessions", "doors", "sensor", "counts", "registers", "labels"]

#: ``--format`` name -> the module whose ``FORMAT`` implements it. The order is the ``--format`` choices'.
MODULES: dict[str, str] = {
    "jsonl": "producer.formats.jsonl",
    "csv": "producer.formats.csv",
    "parquet": "producer.formats.parquet",
    "avro": "producer.formats.avro",
}
NAMES: tuple[str, ...] = tuple(MODULES)


class Writer(Protocol):
    """Appends batches of one data set's columns to one file."""

    def write(self, cols: Any) -> None: ...

    def close(self) -> None: ...


class Format(Protocol):
    """What every format module's ``FORMAT`` provides."""

    #: The ``--format`` value; also the files' extension.
    name: str
    #: Suffixes of files ``profile fit`` reads as this format (lower case, with the dot).
    suffixes: tuple[str, ...]

    def require(self, what: str) -> None:
        """Raise :class:`~sim.extras.MissingExtra` (one line naming the extra) if writing needs a missing
        library; ``what`` names the feature (``--format parquet``). Reading says so itself."""

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        """A writer of ``kind``'s columns to ``path``; ``partition``: a file of a hive-partitioned data set."""

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        """One file as an Arrow table.

        ``columns`` (name -> Arrow type): exactly those columns, times as the
        format holds them (ISO strings, or timestamps); ``None``: every column,
        types inferred, the ``text`` columns kept as strings.
        """

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        """A ``pyarrow.dataset.FileFormat`` reading ``columns``, or ``None`` (files read one by one)."""

    def duckdb_scan(self, where: str, columns: Mapping[str, str], hive: bool) -> str | None:
        """A DuckDB ``SELECT`` of ``columns`` (name -> DuckDB type, each cast to it) from the files the
        quoted glob ``where`` names, the store id and date from their hive-partitioned path if ``hive``;
        ``None`` where DuckDB has no reader for the format (the report then reads the files through
        :func:`producer.formats.read.read_path` and hands DuckDB the Arrow table)."""

    def schemas(self) -> dict[str, str]:
        """Schema files shipped with the format (file name -> text); empty for formats without one."""


def has_pyarrow() -> bool:
    """Whether pyarrow can be imported (the ``parquet`` extra), without importing it: where it is,
    JSONL and CSV are built through Arrow, faster, the same bytes."""
    return importlib.util.find_spec("pyarrow") is not None


def get(name: str) -> Format:
    """The format named ``name``; a clear error naming the accepted ones otherwise."""
    module = MODULES.get(name)
    if module is None:
        raise ValueError(f"format {name!r}: expected one of {', '.join(NAMES)}")
    return importlib.import_module(module).FORMAT  # type: ignore[no-any-return]


def for_suffix(path: Path) -> Format | None:
    """The format that reads files with ``path``'s suffix, or ``None``."""
    suffix = path.suffix.lower()
    for name in NAMES:
        fmt = get(name)
        if suffix in fmt.suffixes:
            return fmt
    return None


def suffixes() -> list[str]:
    """Every suffix some format reads, for error messages."""
    return [s for name in NAMES for s in get(name).suffixes]
