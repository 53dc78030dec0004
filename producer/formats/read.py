"""Reading a file or a hive-partitioned data set back as Arrow, in any registered format (pyarrow).

A partitioned data set (``simulate --partition`` or on Dask) is
``<dataset>/store_id=<id>/date=<YYYY-MM-DD>/part-0000.<ext>``: a format that
``pyarrow.dataset`` reads (its :meth:`~producer.formats.Format.dataset_format`)
is read as one data set, the store id from the path where a file does not
hold it; any other format file by file, in path order, the store id taken
from the path where a file lacks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.dataset as pads

from producer.formats import Format

_HIVE = pa.schema([("store_id", pa.string()), ("date", pa.string())])


def empty_table(columns: Mapping[str, Any]) -> pa.Table:
    return pa.table({n: pa.array([], t) for n, t in columns.items()})


def read_path(fmt: Format, path: Path, columns: Mapping[str, Any]) -> pa.Table:
    """A file, or a partitioned data set (a folder), as a table of exactly ``columns``."""
    if path.is_dir():
        return _read_partitioned(fmt, path, columns)
    if path.stat().st_size == 0:
        return empty_table(columns)
    return fmt.read(path, columns)


def _read_partitioned(fmt: Format, path: Path, columns: Mapping[str, Any]) -> pa.Table:
    file_format = fmt.dataset_format(columns)
    if file_format is not None:
        partitioning = pads.partitioning(_HIVE, flavor="hive")
        data = pads.dataset(path, format=file_format, partitioning=partitioning, exclude_invalid_files=False)
        return data.to_table(columns=list(columns))
    tables = []
    for file in sorted(path.glob(f"*/*/*.{fmt.name}")):
        wanted = {n: t for n, t in columns.items() if n != "store_id"}
        table = fmt.read(file, wanted)
        if "store_id" in columns:
            store = unquote(file.parent.parent.name.removeprefix("store_id="))
            table = table.append_column("store_id", pa.array([store] * table.num_rows, pa.string()))
        tables.append(table.select(list(columns)))
    if not tables:
        return empty_table(columns)
    return pa.concat_tables(tables, promote_options="permissive")
