"""Parquet: typed columns, UTC timestamps in milliseconds, zstd (the ``parquet`` extra's pyarrow).

A partition's file has no ``store_id`` column: the Hive convention keeps a
partition column in the path only (pandas and ``pyarrow.parquet`` refuse a
data set whose files also hold it; Spark, DuckDB and ``pyarrow.dataset``
read it from the path). Every other column is typed as in a plain run's file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from producer.formats import Kind, Writer, sql
from sim.extras import need


def _tables(kind: Kind) -> tuple[Callable[[Any], Any], Any]:
    """The function making a row group's Arrow table of ``kind``'s gathered columns, and the table's schema."""
    from producer.sinks import arrow, label_files, sensor_files

    if kind == "labels":
        return arrow.joined(label_files.label_table), label_files.label_table(label_files.LabelColumns.empty()).schema
    if kind == "sessions":
        return arrow.session_row_group, arrow.SESSION_ROW_GROUP
    if kind == "doors":
        return arrow.door_row_group, arrow.DOOR_ROW_GROUP
    if kind == "sensor":
        return arrow.joined(sensor_files.sensor_table), sensor_files.sensor_table(sensor_files.SensorColumns.empty()).schema
    if kind == "registers":
        return (arrow.joined(sensor_files.register_table),
                sensor_files.register_table(sensor_files.RegisterColumns.empty()).schema)
    return arrow.joined(sensor_files.count_table), sensor_files.count_table(sensor_files.empty_counts()).schema


class Parquet:
    name = "parquet"
    suffixes = (".parquet", ".pq")

    def require(self, what: str) -> None:
        need("pyarrow", what)

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        self.require("--format parquet")
        from producer.sinks import arrow

        to_table, schema = _tables(kind)
        if partition:
            whole = to_table

            def to_table(parts: Any) -> Any:
                return whole(parts).drop_columns(["store_id"])

            schema = schema.remove(schema.get_field_index("store_id"))
        return arrow.ParquetWriter(path, to_table, schema)

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=None if columns is None else list(columns))

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        import pyarrow.dataset as pads

        return pads.ParquetFileFormat()

    def duckdb_scan(self, where: str, columns: Mapping[str, str], hive: bool) -> str | None:
        return f"SELECT {sql.casts(columns)} FROM read_parquet({where}{sql.hive_flag(hive)})"

    def schemas(self) -> dict[str, str]:
        return {}


FORMAT = Parquet()
