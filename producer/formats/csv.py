"""CSV: a quoted header, quoted text, bare numbers, times as the payload's ISO strings (the base install).

Written through Arrow where pyarrow is installed (:mod:`producer.sinks.arrow_csv`),
else with the standard library (:mod:`producer.sinks.csv_text`): the same bytes.
The sensor's files are written with the standard library
(:mod:`producer.sinks.sensor_files`). Partitions are a plain run's files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from producer.formats import Kind, Writer, has_pyarrow, sql


class Csv:
    name = "csv"
    suffixes = (".csv",)

    def require(self, what: str) -> None:
        return None

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        if kind == "labels":
            from producer.sinks import label_files

            return label_files.LabelCsv(path)
        if kind in ("sensor", "counts", "registers"):
            from producer.sinks import sensor_files

            return sensor_files.sensor_csv(path, kind)
        if has_pyarrow():
            from producer.sinks import arrow, arrow_csv

            if kind == "sessions":
                return arrow_csv.CsvWriter(path, arrow_csv.session_csv_table, arrow.SESSION_SCHEMA,
                                           ("entry_time", "exit_time"))
            return arrow_csv.CsvWriter(path, arrow_csv.door_csv_table, arrow.DOOR_SCHEMA, ("time",))
        from producer.sinks import csv_text

        return csv_text.SessionCsvWriter(path) if kind == "sessions" else csv_text.DoorCsvWriter(path)

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if columns is not None:
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                include_columns=list(columns), column_types=dict(columns)))
        header = path.open(encoding="utf-8").readline().strip().split(",")
        types = {c: pa.string() for c in text if c in header}
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        import pyarrow.csv as pacsv
        import pyarrow.dataset as pads

        return pads.CsvFileFormat(convert_options=pacsv.ConvertOptions(column_types=dict(columns)))

    def duckdb_scan(self, where: str, columns: Mapping[str, str], hive: bool) -> str | None:
        return (f"SELECT {sql.casts(columns)} FROM read_csv({where}, header = true, all_varchar = true, "
                f"union_by_name = true{sql.hive_flag(hive)})")

    def schemas(self) -> dict[str, str]:
        return {}


FORMAT = Csv()
