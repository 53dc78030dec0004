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

from producer.sinks.jsonl import _Fixed, _iso, _join, _line_parts, _numbers, _String, json_strings
from sim.sensor_stream import SensorColumns, sensor_payload


@cache
def _millis() -> np.ndarray:
    """``.000`` to ``.999`` as ``S4``."""
    return np.array([f".{i:03d}".encode() for i in range(1000)], dtype="S4")


def _iso_ms(ms: np.ndarray) -> list[object]:
    """Epoch milliseconds as the parts of ``YYYY-MM-DDTHH:MM:SS.mmm+00:00``."""
    seconds, rest = np.divmod(np.asarray(ms, dtype=np.int64), 1000)
    parts = _iso(seconds)  # [date, "T", clock, "+00:00"]
    return [*parts[:3], _Fixed(_millis()[rest]), parts[3]]


def sensor_lines(cols: SensorColumns) -> pa.Array:
    """Each sensor record's JSON line (``\\n``-terminated), as a string column."""
    payload = sensor_payload(
        _String(json_strings(cols.event_type)), _String(_iso(cols.time)),  # type: ignore[arg-type]
        _String(json_strings(cols.weekday)), _String(json_strings(cols.time_slot)),  # type: ignore[arg-type]
        _String(json_strings(cols.customer_id)), _String(json_strings(cols.store_id)),  # type: ignore[arg-type]
        _String(*_iso_ms(cols.sent_at)), _numbers(cols.reading),  # type: ignore[arg-type]
    )
    return _join(_line_parts(payload), len(cols))
