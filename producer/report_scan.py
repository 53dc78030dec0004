"""Where the chain report's DuckDB queries read a data set: the format's own DuckDB scan, or Arrow from the registry.

:mod:`producer.report_agg` counts with DuckDB. Each query reads a table
expression made here for one file or partitioned folder, in the run's
format, asked of the format registry (:mod:`producer.formats`), never of an
``if fmt ==`` ladder:

- a format DuckDB reads (:meth:`~producer.formats.Format.duckdb_scan` gives
  its query: JSONL, CSV, Parquet) is scanned where it lies, streamed;
- any other (Avro) is read once through the registry
  (:func:`producer.formats.read.read_path`) into an Arrow table, which DuckDB
  is handed (``register``) and queries as it would the files. Such a data set
  is held in memory while the report counts it.

A partitioned data set is counted a batch of stores at a time, each store's
rows tagged with its row number ``r``: a scanned format reads only the batch's
folders; a registered table, read once, is joined with the batch's store ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa

from producer.formats import Format, sql
from producer.formats.read import read_path

#: The Arrow type a column of each DuckDB type is read as from the registry (times as the format holds them:
#: Avro's are timestamps whatever is asked, text formats' ISO strings that DuckDB's cast parses).
ARROW_TYPES: dict[str, pa.DataType] = {"TIMESTAMPTZ": pa.string(), "BIGINT": pa.int64(), "VARCHAR": pa.string()}


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class Scans:
    """Table expressions over one data set's files for queries on ``con`` (its registered tables live as long)."""

    def __init__(self, con, fmt: Format) -> None:  # type: ignore[no-untyped-def]
        self._con, self._fmt = con, fmt
        self._tables: dict[tuple[Path, tuple[tuple[str, str], ...]], str] = {}
        self._registered_count = 0

    def source(self, path: Path, columns: dict[str, str], rows: dict[str, int] | None = None) -> str | None:
        """A DuckDB table expression reading ``columns`` of one file or a partitioned folder (None: nothing to read).

        With ``rows`` (store id -> row), a partitioned folder is read for those stores only, each store's
        partitions tagged with its row as a column ``r`` in place of ``store_id``: grouping by a number
        costs less than by the text of the store's folder name.
        """
        if rows is not None:
            return self._stores(path, columns, rows)
        if path.is_dir():
            scan = self._fmt.duckdb_scan(_quote(path / "*" / "*" / f"*.{self._fmt.name}"), columns, True)
        elif path.stat().st_size == 0:
            return None
        else:
            scan = self._fmt.duckdb_scan(_quote(path), columns, False)
        return f"({scan if scan is not None else self._registered(path, columns)})"

    def _stores(self, path: Path, columns: dict[str, str], rows: dict[str, int]) -> str | None:
        """The batch ``rows``'s stores of a partitioned folder, ``r`` for ``store_id``."""
        columns = {c: t for c, t in columns.items() if c != "store_id"}
        present = {s: r for s, r in rows.items() if (path / f"store_id={quote(s, safe='')}").is_dir()}
        if not present:
            return None
        parts = []
        for store, r in present.items():
            folder = path / f"store_id={quote(store, safe='')}"
            scan = self._fmt.duckdb_scan(_quote(folder / "*" / f"*.{self._fmt.name}"), columns, False)
            if scan is None:
                return self._registered_stores(path, columns, present)
            parts.append(f"SELECT {r} AS r, * FROM ({scan})")
        return f"({' UNION ALL '.join(parts)})"

    def _registered(self, path: Path, columns: Mapping[str, str]) -> str:
        """``SELECT`` of ``columns`` from the file or folder read once through the registry."""
        return f"SELECT {sql.casts(columns)} FROM {self._table(path, columns)}"

    def _registered_stores(self, path: Path, columns: dict[str, str], rows: dict[str, int]) -> str:
        """The partitioned folder read once through the registry (with its store ids), joined with ``rows``."""
        table = self._table(path, {**columns, "store_id": "VARCHAR"})
        batch = self._register(pa.table({"store_id": pa.array(list(rows), pa.string()),
                                         "r": pa.array(list(rows.values()), pa.int64())}))
        return (f"(SELECT {batch}.r AS r, {sql.casts(columns)} FROM {table} "
                f"JOIN {batch} USING (store_id))")

    def _table(self, path: Path, columns: Mapping[str, str]) -> str:
        """The name of the registered table of ``path``'s ``columns``, read through the registry on first use."""
        key = (path, tuple(columns.items()))
        if key not in self._tables:
            arrow = {c: ARROW_TYPES[t] for c, t in columns.items()}
            self._tables[key] = self._register(read_path(self._fmt, path, arrow))
        return self._tables[key]

    def _register(self, table: pa.Table) -> str:
        self._registered_count += 1
        name = f"registered_{self._registered_count}"
        self._con.register(name, table)
        return name
