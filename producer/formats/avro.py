"""Avro: object container files with the schemas a Kafka / Schema Registry user would register (the ``avro`` extra).

One schema per data set, shipped under ``producer/formats/avro_schemas``
(``foot-traffic schema avro`` prints them): the fields of the stream's JSON
payload, in its order, with times as ``timestamp-millis`` (a ``long`` of
milliseconds since the epoch, UTC) instead of ISO strings. Files are written
with ``fastavro``, deflate-compressed, a block per batch at most; a
partition's file is a plain run's file (the store id stays in each record, so
every file carries the registered schema).

Read back (``report``, ``profile fit``) with ``fastavro`` too, only the
columns asked for, times as Arrow timestamps in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

from producer.formats import Kind, Writer
from sim.batch import texts
from sim.extras import need

#: The schema file of each data set.
SCHEMA_FILES: dict[str, str] = {
    "sessions": "session.avsc", "doors": "door_event.avsc",
    "sensor": "sensor_record.avsc", "counts": "interval_count.avsc",
}
#: Deflate is one of the two codecs every Avro reader must know; level 1 costs little over none.
CODEC, LEVEL = "deflate", 1


@cache
def schema_text(kind: str) -> str:
    return (resources.files("producer.formats") / "avro_schemas" / SCHEMA_FILES[kind]).read_text(encoding="utf-8")


def schema(kind: str) -> dict[str, Any]:
    """``kind``'s Avro schema, as JSON data."""
    return json.loads(schema_text(kind))  # type: ignore[no-any-return]


def _columns(kind: Kind, cols: Any) -> list[list[Any]]:
    """``kind``'s values in the schema's field order, a list per field (times in milliseconds)."""
    if kind == "sessions":
        n = len(cols)
        return [["foot_traffic"] * n, texts(cols.customer_id), (cols.entry * 1000).tolist(),
                (cols.exit * 1000).tolist(), cols.trip_duration_minutes.tolist(), cols.weekday.tolist(),
                cols.time_slot.tolist(), cols.store_id.tolist(), cols.queue_seconds.tolist()]
    if kind == "counts":
        return [cols.store_id.tolist(), (cols.interval_start * 1000).tolist(), (cols.interval_end * 1000).tolist(),
                cols.entries.tolist(), cols.exits.tolist()]
    door = [cols.event_type.tolist(), (cols.time * 1000).tolist(), cols.weekday.tolist(), cols.time_slot.tolist(),
            texts(cols.customer_id), cols.store_id.tolist()]
    return door if kind == "doors" else [*door, cols.sent_at.tolist(), cols.reading.tolist()]


class AvroWriter:
    """Appends batches of one data set to an Avro container file."""

    def __init__(self, path: Path, kind: Kind) -> None:
        fastavro = need("fastavro", "--format avro", "avro")
        self._kind = kind
        self._names = [f["name"] for f in schema(kind)["fields"]]
        self._file: IO[bytes] = open(path, "wb")
        self._writer = fastavro.write.Writer(self._file, fastavro.parse_schema(schema(kind)), codec=CODEC,
                                             compression_level=LEVEL)

    def write(self, cols: Any) -> None:
        if not len(cols):
            return
        names, write = self._names, self._writer.write
        for row in zip(*_columns(self._kind, cols), strict=True):
            write(dict(zip(names, row)))
        self._writer.flush()

    def close(self) -> None:
        try:
            self._writer.flush()
        finally:
            self._file.close()


class Avro:
    name = "avro"
    suffixes = (".avro",)

    def require(self, what: str) -> None:
        need("fastavro", what, "avro")

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        return AvroWriter(path, kind)

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        """The file's records as a table: ``columns`` (their types, times as UTC timestamps) or all of them."""
        fastavro = need("fastavro", "reading Avro files", "avro")
        import pyarrow as pa

        with open(path, "rb") as f:
            written = fastavro.reader(f).writer_schema
            fields = {fld["name"]: fld for fld in written["fields"]}
            wanted = list(fields) if columns is None else list(columns)
            for name in wanted:
                if name not in fields:
                    raise KeyError(name)
            f.seek(0)
            reader_schema = {**written, "fields": [fields[n] for n in wanted]}  # only these are decoded
            records = list(fastavro.reader(f, reader_schema=reader_schema))
        table = {}
        for name in wanted:
            values = [r[name] for r in records]
            kind = fields[name]["type"]
            if isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis":
                table[name] = pa.array(values, pa.timestamp("ms", tz="UTC"))  # fastavro gives datetimes
            else:
                table[name] = pa.array(values, None if columns is None else columns[name])
        return pa.table(table) if table else pa.table({n: pa.array([]) for n in wanted})

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        return None  # pyarrow.dataset has no Avro reader: read file by file

    def schemas(self) -> dict[str, str]:
        return {kind: schema_text(kind) for kind in SCHEMA_FILES}


FORMAT = Avro()
