"""Avro: object container files with the schemas a Kafka / Schema Registry user would register.

One schema per data set, shipped under ``producer/formats/avro_schemas``
(``foot-traffic schema avro`` prints them): the fields of the stream's JSON
payload, in its order, with times as ``timestamp-millis`` (a ``long`` of
milliseconds since the epoch, UTC) instead of ISO strings. Files are written
here, a column at a time (numpy and the standard library's zlib: the base
install writes them), deflate-compressed, a block per gathered batch; a
partition's file is a plain run's file (the store id stays in each record, so
every file carries the registered schema).

Read back (``report``, ``profile fit``) with ``fastavro`` (the ``avro``
extra), only the columns asked for, times as Arrow timestamps in UTC. The
tests read every file with ``fastavro`` and with the Apache ``avro`` package.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np

from producer.formats import Kind, Writer
from producer.sinks.gather import Gathering
from sim.batch import texts
from sim.extras import need
from sim.wire import SESSION_TYPE

#: The schema file of each data set.
SCHEMA_FILES: dict[str, str] = {
    "sessions": "session.avsc", "doors": "door_event.avsc",
    "sensor": "sensor_record.avsc", "counts": "interval_count.avsc", "labels": "label.avsc",
    "registers": "counter_register.avsc",
}
#: Deflate is one of the two codecs every Avro reader must know; level 1 costs little over none.
CODEC, LEVEL = "deflate", 1
MAGIC = b"Obj\x01"


@cache
def schema_text(kind: str) -> str:
    return (resources.files("producer.formats") / "avro_schemas" / SCHEMA_FILES[kind]).read_text(encoding="utf-8")


def schema(kind: str) -> dict[str, Any]:
    """``kind``'s Avro schema, as JSON data."""
    return json.loads(schema_text(kind))  # type: ignore[no-any-return]


def _columns(kind: Kind, cols: Any) -> list[np.ndarray]:
    """``kind``'s values in the schema's field order, an array per field (times in milliseconds)."""
    if kind == "sessions":
        n = len(cols)
        return [np.full(n, SESSION_TYPE, dtype=object), cols.customer_id, cols.entry * 1000, cols.exit * 1000,
                cols.trip_duration_minutes, cols.weekday, cols.time_slot, cols.store_id, cols.queue_seconds]
    if kind == "counts":
        return [cols.store_id, cols.interval_start * 1000, cols.interval_end * 1000, cols.entries, cols.exits]
    if kind == "labels":
        return [cols.store_id, cols.kind, cols.start * 1000, cols.end * 1000, cols.parameters, cols.effect,
                cols.expected]
    if kind == "registers":
        return [cols.store_id, cols.interval_start * 1000, cols.interval_end * 1000, cols.reset_at * 1000,
                cols.in_total, cols.out_total, cols.occupancy]
    door = [cols.event_type, cols.time * 1000, cols.weekday, cols.time_slot, cols.customer_id, cols.store_id]
    return door if kind == "doors" else [*door, cols.sent_at, cols.reading]


def varint(value: int) -> bytes:
    """One long as Avro writes it: zigzag, then 7 bits a byte, low first."""
    z = (value << 1) ^ (value >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _text(value: str) -> bytes:
    data = value.encode()
    return varint(len(data)) + data


def longs(values: np.ndarray) -> list[bytes]:
    """Each long's Avro encoding, a column at a time (numpy: 7 bits a step, at most ten steps)."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) and v.min() == v.max():  # a constant column (queue_seconds without a capacity limit)
        return [varint(int(v[0]))] * len(v)
    rest = ((v << 1) ^ (v >> 63)).view(np.uint64)
    out = np.zeros((len(v), 10), dtype=np.uint8)
    for j in range(10):
        low = (rest & np.uint64(0x7F)).astype(np.uint8)
        rest = rest >> np.uint64(7)
        more = rest != 0
        out[:, j] = low | (more.astype(np.uint8) << 7)
        if not more.any():
            break
    # Trailing zero bytes are cut by numpy: only a zero (one byte, 0x00) loses its byte.
    tokens: list[bytes] = out.view("S10").ravel().tolist()
    for i in np.flatnonzero(v == 0).tolist():
        tokens[i] = b"\x00"
    return tokens


def doubles(values: np.ndarray) -> list[bytes]:
    """Each double's Avro encoding: eight bytes, little-endian IEEE 754."""
    return [v.tobytes() for v in np.asarray(values, dtype="<f8")]


def strings(values: np.ndarray) -> list[bytes]:
    """Each string's Avro encoding (its UTF-8 length, then its bytes).

    A coded column (labels, store ids) is encoded once per name; fixed-width
    bytes of one length (the engine's customer ids) a column at a time.
    """
    codes, names = getattr(values, "codes", None), getattr(values, "names", None)
    if codes is not None and names is not None:
        tokens = np.array([_text(v) for v in names.tolist()] + [b""], dtype=object)[:-1]
        return tokens[codes].tolist()  # type: ignore[no-any-return]
    if values.dtype.kind == "S" and len(values) and (np.char.str_len(values) == values.dtype.itemsize).all() \
            and values.dtype.itemsize < 64:  # one byte of length
        width = values.dtype.itemsize
        out = np.empty((len(values), width + 1), dtype=np.uint8)
        out[:, 0] = width << 1
        out[:, 1:] = np.ascontiguousarray(values).view(np.uint8).reshape(-1, width)
        return out.view(f"S{width + 1}").ravel().tolist()  # type: ignore[no-any-return]
    plain = texts(values)
    token = {v: _text(v) for v in set(plain)}
    return [token[v] for v in plain]


class AvroWriter(Gathering):
    """An Avro object container file of one data set, written a block per gathered batch.

    Records are encoded a column at a time (each field's values, then
    interleaved: Avro's binary encoding is the fields one after the other),
    as the wire JSON is (:mod:`sim.wire`); a record at a time through a
    library was a fifth of Parquet's rate. The sync marker is the schema's
    digest, so a run's files are the same bytes for the same seed.
    """

    def __init__(self, path: Path, kind: Kind) -> None:
        super().__init__()
        self._kind = kind
        declared = json.dumps(schema(kind), separators=(",", ":"), ensure_ascii=False).encode()
        self._encode = [strings if f["type"] == "string" else doubles if f["type"] == "double" else longs
                        for f in schema(kind)["fields"]]
        self._sync = hashlib.blake2b(declared, digest_size=16).digest()
        meta = {b"avro.schema": declared, b"avro.codec": CODEC.encode()}
        header = b"".join(varint(len(k)) + k + varint(len(v)) + v for k, v in meta.items())
        self._file: IO[bytes] = open(path, "wb")
        self._file.write(MAGIC + varint(len(meta)) + header + b"\x00" + self._sync)

    def _write_now(self, cols: Any) -> None:
        fields = [encode(v) for v, encode in zip(_columns(self._kind, cols), self._encode, strict=True)]
        pack = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)  # deflate: raw, as the Avro spec says
        data = pack.compress(b"".join(chain.from_iterable(zip(*fields)))) + pack.flush()
        self._file.write(varint(len(cols)) + varint(len(data)) + data + self._sync)

    def _close_file(self) -> None:
        self._file.close()


def _arrow_blocks(blocks: Any, types: dict[str, Any]) -> dict[str, list[Any]]:
    """Each column's Arrow arrays, one per Avro block; ``types``: each column's, ``None`` inferred (from the
    first block, then kept for every block: ``types`` is updated)."""
    import pyarrow as pa

    chunks: dict[str, list[Any]] = {n: [] for n in types}
    for block in blocks:
        records = list(block)
        for name, chunk_list in chunks.items():
            chunk = pa.array([r[name] for r in records], types[name])
            types[name] = chunk.type
            chunk_list.append(chunk)
    return chunks


def _is_time(field: Mapping[str, Any]) -> bool:
    kind = field["type"]
    return isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis"


class Avro:
    name = "avro"
    suffixes = (".avro",)

    def require(self, what: str) -> None:
        return None  # written with numpy and zlib; reading needs fastavro (the avro extra)

    def writer(self, path: Path, kind: Kind, partition: bool = False) -> Writer:
        return AvroWriter(path, kind)

    def read(self, path: Path, columns: Mapping[str, Any] | None = None, text: tuple[str, ...] = ()) -> Any:
        """The file's records as a table: ``columns`` (their types, times as UTC timestamps) or all of them.

        Decoded a block at a time, each block's values made Arrow arrays at once: a block's records (a
        Python dict each) are all that is held of them, not the whole file's.
        """
        fastavro = need("fastavro", "reading Avro files", "avro")
        import pyarrow as pa
        from fastavro.read import SchemaResolutionError

        with open(path, "rb") as f:
            try:
                written = fastavro.reader(f).writer_schema
                fields = {fld["name"]: fld for fld in written["fields"]}
                wanted = list(fields) if columns is None else list(columns)
                for name in wanted:
                    if name not in fields:
                        raise KeyError(name)
                types = {n: pa.timestamp("ms", tz="UTC") if _is_time(fields[n])  # fastavro gives datetimes
                         else None if columns is None else columns[n] for n in wanted}
                f.seek(0)
                reader_schema = {**written, "fields": [fields[n] for n in wanted]}  # only these are decoded
                chunks = _arrow_blocks(fastavro.block_reader(f, reader_schema=reader_schema), types)
            except pa.ArrowException:  # the values not of the asked types: Arrow's own error
                raise
            except (ValueError, EOFError, SchemaResolutionError) as exc:
                # A damaged or cut file: one error naming it, as Arrow's readers give for the other formats
                # (EOFError, a cut file, would otherwise end a command with click's bare "Aborted!").
                raise pa.ArrowInvalid(f"{path}: not a whole Avro file ({str(exc) or type(exc).__name__})") from exc
        table = {n: pa.chunked_array(chunks[n], types[n] or pa.null()) for n in wanted}
        return pa.table(table) if table else pa.table({n: pa.array([]) for n in wanted})

    def dataset_format(self, columns: Mapping[str, Any]) -> Any:
        return None  # pyarrow.dataset has no Avro reader: read file by file

    def duckdb_scan(self, where: str, columns: Mapping[str, str], hive: bool) -> str | None:
        return None  # DuckDB reads Avro only through an extension it downloads: read through fastavro

    def schemas(self) -> dict[str, str]:
        return {kind: schema_text(kind) for kind in SCHEMA_FILES}


FORMAT = Avro()
