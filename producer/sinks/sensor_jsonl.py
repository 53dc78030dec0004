"""The sensor records' JSON lines built a column at a time (with the ``parquet`` extra's pyarrow).

The same machinery as :mod:`producer.sinks.jsonl` (parts merged, then joined
row by row by Arrow), for :class:`~sim.sensor_stream.SensorColumns`: the door
event's parts, then ``sent_at`` in milliseconds and ``reading``. Byte for byte
what :meth:`SensorColumns.json_lines` gives (a test compares them).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa

from producer.sinks.jsonl import (
    FixedPart,
    StringField,
    iso_parts,
    join_parts,
    json_strings,
    line_parts,
    number_texts,
    text_bytes,
)
from sim.sensor_stream import SensorColumns
from sim.wire import sensor_payload


@cache
def _millis() -> np.ndarray:
    """``.000`` to ``.999`` as ``S4``."""
    return np.array([f".{i:03d}".encode() for i in range(1000)], dtype="S4")


def _iso_ms(ms: np.ndarray) -> list[object]:
    """Epoch milliseconds as the parts of ``YYYY-MM-DDTHH:MM:SS.mmm+00:00``."""
    seconds, rest = np.divmod(np.asarray(ms, dtype=np.int64), 1000)
    parts = iso_parts(seconds)  # [date, "T", clock, "+00:00"]
    return [*parts[:3], FixedPart(_millis()[rest]), parts[3]]


def sensor_lines(cols: SensorColumns) -> pa.Array:
    """Each sensor record's JSON line (``\\n``-terminated), as a string column."""
    payload = sensor_payload(
        StringField(json_strings(cols.event_type)), StringField(iso_parts(cols.time)),  # type: ignore[arg-type]
        StringField(json_strings(cols.weekday)), StringField(json_strings(cols.time_slot)),  # type: ignore[arg-type]
        StringField(json_strings(cols.customer_id)), StringField(json_strings(cols.store_id)),  # type: ignore[arg-type]
        StringField(*_iso_ms(cols.sent_at)), number_texts(cols.reading),  # type: ignore[arg-type]
    )
    return join_parts(line_parts(payload), len(cols))


def sensor_text(cols: SensorColumns) -> memoryview:
    """The sensor records' lines end to end (what a file gets)."""
    return text_bytes(sensor_lines(cols))
