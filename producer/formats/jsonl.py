"""JSONL: one line per event, the stream's JSON payload byte for byte (the base install).

Where pyarrow is installed, lines are built a column at a time
(:mod:`producer.sinks.jsonl`, :mod:`producer.sinks.sensor_jsonl`); without
it, by the columns' own ``json_lines``: the same bytes either way. Partitions
are the same files as a plain run's (the store id stays in each line).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from producer.formats import Kind, Writer
from producer.sinks.files import LineWriter, has_pyarrow


class Jsonl:
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson", ".json")

    def require(self, what: str) -> None:
        return None

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        if kind == "counts" or not has_pyarrow():
            return LineWriter(path)
        from producer.sinks import jsonl

        if kind == "sensor":
            from producer.sinks import sensor_jsonl

            return jsonl.JsonlWriter(path, sensor_jsonl.sensor_lines)
        return jsonl.JsonlWriter(path, jsonl.session_lines if kind == "sessions" else jsonl.door_lines)

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        import pyarrow as pa
        import pyarrow.json as pajson

        if columns is not None:
            # Times as strings: Arrow's own inference would drop the UTC offset.
            options = pajson.ParseOptions(explicit_schema=pa.schema(list(columns.items())))
            return pajson.read_json(path, parse_options=options).select(list(columns))
        with path.open("rb") as f:
            head = orjson.loads(f.readline() or b"{}")
        names = head if isinstance(head, dict) else {}
        forced = [pa.field(c, pa.string()) for c in text if c in names]
        options = pajson.ParseOptions(explicit_schema=pa.schema(forced), unexpected_field_behavior="infer")
        return pajson.read_json(path, parse_options=options)

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        import pyarrow as pa
        import pyarrow.dataset as pads
        import pyarrow.json as pajson

        return pads.JsonFileFormat(parse_options=pajson.ParseOptions(explicit_schema=pa.schema(list(columns.items()))))

    def schemas(self) -> dict[str, str]:
        return {}


FORMAT = Jsonl()
