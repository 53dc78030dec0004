"""Parquet row groups made from the engines' codes read back as the plain table of every event.

The writer hands Arrow the kinds, labels and store ids as dictionaries of
their codes (``producer.sinks.arrow.session_row_group``), and the SimPy
model's plain strings dictionary-encoded. Either way the file, read back,
must be exactly the table of the run's columns with plain text columns
(``session_table`` / ``door_table``, what CSV is made of): the same values,
the same types, in the same order, across row groups.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from producer.sinks.arrow import ParquetWriter, door_table, session_table
from producer.sinks.files import DOORS_NAME, SESSIONS_NAME, FileSink
from sim import Simulation, Store
from sim.batch import concat_columns

STORES = {
    "fast": (Store(store_id="north", daily_customers=300), Store(store_id="south", daily_customers=200)),
    "simpy": (Store(store_id="north", daily_customers=300, capacity=5, patience=300),),
}


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_parquet_reads_back_as_the_plain_table(tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ParquetWriter, "ROW_GROUP", 1_000)  # several row groups, each of several batches
    run = Simulation.of("2025-03-28", days=4, seed=7, stores=STORES[engine])
    batches = list(run.batches(engine))  # type: ignore[arg-type]
    sink = FileSink(tmp_path, "parquet")
    for batch in batches:
        sink.write(batch)
    sink.close()
    want_sessions = session_table(concat_columns([b.sessions for b in batches]))
    want_doors = door_table(concat_columns([b.doors for b in batches]))
    got_sessions = pq.read_table(tmp_path / f"{SESSIONS_NAME}.parquet")
    got_doors = pq.read_table(tmp_path / f"{DOORS_NAME}.parquet")
    assert pq.ParquetFile(tmp_path / f"{DOORS_NAME}.parquet").metadata.num_row_groups > 1
    assert got_sessions.schema == want_sessions.schema
    assert got_doors.schema == want_doors.schema
    assert got_sessions.equals(want_sessions)
    assert got_doors.equals(want_doors)
    assert set(got_sessions.column("store_id").to_pylist()) == {s.store_id for s in STORES[engine]}
