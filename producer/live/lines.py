"""The backfill's JSON lines: the one wire encoder's (:mod:`sim.wire`, numpy and orjson, no pyarrow).

The backfill (:mod:`producer.live.backfill`) writes hundreds of thousands of
events a second; the encoder builds a batch's lines a column at a time,
byte for byte :meth:`~sim.batch.SessionColumns.json_lines`
(``tests/test_live_lines.py``). The live package must not import pyarrow
(``tests/test_live_import_boundary.py``), nor does :mod:`sim.wire`.
"""

from __future__ import annotations

from sim.wire import door_lines, encoded, ids, session_lines, times

__all__ = ["door_lines", "encoded", "ids", "session_lines", "times"]
