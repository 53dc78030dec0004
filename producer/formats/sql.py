"""The pieces every format's DuckDB scan shares (:meth:`producer.formats.Format.duckdb_scan`).

A scan selects each asked-for column cast to its DuckDB type, under its own
name, and says whether the store id and date come from a hive-partitioned path.
No DuckDB import: these are strings, and the base install has no DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping


def casts(columns: Mapping[str, str]) -> str:
    """``CAST("c" AS T) AS "c"`` for each column ``c`` of DuckDB type ``T``, in order."""
    return ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())


def hive_flag(hive: bool) -> str:
    """The reader's ``hive_partitioning`` argument (with its leading comma)."""
    return f", hive_partitioning = {'true' if hive else 'false'}"
