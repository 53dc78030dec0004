"""JSONL: one line per event, the stream's JSON payload byte for byte (the base install).

A batch's lines come from one of two encoders behind one interface
(:func:`encoder`: columns in, the lines' text out), the same bytes either way:
the wire encoder of :mod:`sim.wire` (numpy, what the live producer sends), or,
where pyarrow is installed, the Arrow one (:mod:`producer.sinks.jsonl`,
:mod:`producer.sinks.sensor_jsonl`), kept because ``python bench/bench_engine.py``
shows it faster in the same run ("jsonl numpy wire / jsonl Arrow" below 1).
Partitions are the same files as a plain run's (the store id stays in each line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from producer.formats import Kind, Writer, has_pyarrow, sql
from producer.sinks.gather import Gathering, TextWriter
from sim import wire
from sim.labels import LabelColumns

#: The wire encoder's lines of each data set.
_WIRE: dict[str, Callable[[Any], list[bytes]]] = {
    "sessions": wire.session_lines, "doors": wire.door_lines, "sensor": wire.sensor_lines, "counts": wire.count_lines,
    "labels": LabelColumns.json_lines,
    "registers": wire.register_lines,
}

#: Data sets of a few rows (one per store and interval): always through the wire encoder, never gathered.
_FEW = ("counts", "registers", "labels")


def _wire_text(lines: Callable[[Any], list[bytes]]) -> Callable[[Any], bytes]:
    def text(cols: Any) -> bytes:
        made = lines(cols)
        return b"\n".join(made) + b"\n" if made else b""

    return text


def encoder(kind: Kind, arrow: bool | None = None) -> Callable[[Any], bytes | memoryview]:
    """The text (``\\n``-terminated lines) of a batch of ``kind``'s columns.

    ``arrow``: through Arrow (default: where pyarrow is installed; the
    interval counts, registers and labels, a few rows, always through the wire encoder).
    """
    if arrow is None:
        arrow = has_pyarrow()
    if not arrow or kind in _FEW:
        return _wire_text(_WIRE[kind])
    from producer.sinks import jsonl, sensor_jsonl

    arrow_text: dict[str, Callable[[Any], memoryview]] = {
        "sessions": jsonl.session_text, "doors": jsonl.door_text, "sensor": sensor_jsonl.sensor_text}
    return arrow_text[kind]


def text_writer(path: Path, kind: Kind, arrow: bool | None = None) -> TextWriter:
    """A JSONL file of ``kind`` through :func:`encoder`: Arrow's text made of gathered batches (its cost
    per call is high), the wire encoder's batch by batch (twice as fast on day-sized batches as gathered)."""
    arrow = has_pyarrow() if arrow is None else arrow
    return TextWriter(path, encoder(kind, arrow), rows=Gathering.ROWS if arrow and kind not in _FEW else 0)


class Jsonl:
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson", ".json")

    def require(self, what: str) -> None:
        return None

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        return text_writer(path, kind)

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

    def duckdb_scan(self, where: str, columns: Mapping[str, str], hive: bool) -> str | None:
        # Times are read as text and parsed by the cast (with their UTC offset).
        types = "{" + ", ".join(f"'{c}': '{'VARCHAR' if t == 'TIMESTAMPTZ' else t}'" for c, t in columns.items()) + "}"
        return (f"SELECT {sql.casts(columns)} FROM read_json({where}, format = 'newline_delimited', "
                f"columns = {types}{sql.hive_flag(hive)})")

    def schemas(self) -> dict[str, str]:
        return {}


FORMAT = Jsonl()
