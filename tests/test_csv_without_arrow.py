"""CSV is written with the standard library, byte for byte what Arrow's CSV writer gave.

The base install has no pyarrow, yet ``simulate --format csv`` must keep
writing the very files it wrote when CSV went through Arrow. The reference
here is that former path, kept in the test: typed Arrow tables with the
times replaced by the JSON's ISO strings, written by ``pyarrow.csv.CSVWriter``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from producer.sinks import arrow
from producer.sinks.files import FileSink
from sim import Simulation, Store
from sim.batch import Batch
from sim.events import iso_many
from sim.run import to_epoch


def _arrow_csv(path: Path, batches: list[Batch], sessions: bool) -> bytes:
    schema = arrow.SESSION_SCHEMA if sessions else arrow.DOOR_SCHEMA
    times = ("entry_time", "exit_time") if sessions else ("time",)
    text_schema = pa.schema([pa.field(f.name, pa.string() if f.name in times else f.type) for f in schema])
    writer = pacsv.CSVWriter(str(path), text_schema)
    for batch in batches:
        cols = batch.sessions if sessions else batch.doors
        table = arrow.session_table(cols) if sessions else arrow.door_table(cols)  # type: ignore[arg-type]
        epochs = [cols.entry, cols.exit] if sessions else [cols.time]  # type: ignore[union-attr]
        for name, values in zip(times, epochs, strict=True):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pa.array(iso_many(values), pa.string()))
        writer.write_table(table)
    writer.close()
    return path.read_bytes()


def _check(tmp_path: Path, run: Simulation, rejected: bool = False) -> None:
    batches = list(run.batches("auto", rejected=rejected))
    sink = FileSink(tmp_path / "out", "csv")
    for batch in batches:
        sink.write(batch)
    sessions_path, doors_path = sink.close()
    assert sink.rows[0] > 100
    assert sessions_path.read_bytes() == _arrow_csv(tmp_path / "ref_s.csv", batches, sessions=True)
    assert doors_path.read_bytes() == _arrow_csv(tmp_path / "ref_d.csv", batches, sessions=False)


def test_csv_equals_arrows_bytes_for_a_plain_run(tmp_path: Path) -> None:
    _check(tmp_path, Simulation.of(start="2025-11-03", days=2, seed=42))


def test_csv_equals_arrows_bytes_with_awkward_store_ids_queues_and_rejections(tmp_path: Path) -> None:
    # Quotes, commas, a non-ASCII letter in the store ids; waits at the door; turned-away rows.
    stores = (
        Store(store_id='the "corner", shop', baseline=800, capacity=15, capacity_mode="loss"),
        Store(store_id="café-2", baseline=600, capacity=10, patience=300),
    )
    start = to_epoch("2025-11-03")
    run = Simulation(seed=7, stores=stores, start=start, end=start + 86_400)
    _check(tmp_path, run, rejected=True)


def test_an_empty_run_has_the_header_only(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out", "csv")
    sessions_path, doors_path = sink.close()
    assert sessions_path.read_bytes() == _arrow_csv(tmp_path / "ref_s.csv", [], sessions=True)
    assert doors_path.read_bytes() == _arrow_csv(tmp_path / "ref_d.csv", [], sessions=False)
