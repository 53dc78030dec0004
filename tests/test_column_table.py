"""One column-table base for the batch types: take, concat and cut by UTC day, coded strings kept coded."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Simulation, Store
from sim.batch import Coded, ColumnTable, DoorColumns, SessionColumns, concat_columns
from sim.sampling import Arrivals
from sim.sensor_stream import CountColumns, SensorColumns
from tests.helpers import columns


def _doors() -> DoorColumns:
    return columns(Simulation.of("2025-11-03T20:00:00", days=2, seed=5, stores=Store(baseline=400)))[1]


def test_the_batch_types_share_the_base() -> None:
    for kind in (SessionColumns, DoorColumns, SensorColumns, CountColumns, Arrivals):
        assert issubclass(kind, ColumnTable)


def test_take_and_concat_keep_coded_strings_coded_and_the_rows() -> None:
    doors = _doors()
    assert isinstance(doors.store_id, Coded) and doors.store_id.codes is not None
    odd = doors.take(np.arange(len(doors)) % 2 == 1)
    assert isinstance(odd.store_id, Coded) and odd.store_id.codes is not None
    assert odd.json_lines() == doors.json_lines()[1::2]
    half = len(doors) // 2
    again = concat_columns([doors.take(slice(0, half)), doors.take(slice(half, None))])
    assert isinstance(again.time_slot, Coded) and again.time_slot.codes is not None
    assert again.json_lines() == doors.json_lines()


def test_by_day_cuts_at_utc_midnights_in_order() -> None:
    doors = _doors()
    days = list(doors.by_day(doors.time))
    assert [d for d, _ in days] == sorted({int(t) // 86_400 for t in doors.time})
    for day, part in days:
        assert (part.time // 86_400 == day).all()
    assert sum((p.json_lines() for _, p in days), []) == doors.json_lines()
    assert list(doors.take(slice(0, 0)).by_day(np.zeros(0, np.int64))) == []


def test_a_column_of_one_value_is_a_shared_read_only_view_with_its_codes() -> None:
    """A one-store day's store and weekday columns are views of one column of that name: the same
    strings and codes as any coded column, and no batch can write into another's."""
    run = Simulation.of("2025-11-03", days=3, seed=5, stores=Store(baseline=400))
    batches = list(run.batches(window=86_400))
    for batch in batches:
        for cols in (batch.sessions, batch.doors):
            column = cols.store_id
            assert isinstance(column, Coded) and column.codes is not None and column.names is not None
            assert column.tolist() == column.names[column.codes].tolist() == ["store-1"] * len(cols)
            assert not column.flags.writeable
            with pytest.raises(ValueError):
                column[0] = "elsewhere"
        weekday = batch.sessions.weekday
        assert weekday.tolist() == weekday.names[weekday.codes].tolist()  # type: ignore[attr-defined]
    assert np.shares_memory(batches[0].sessions.store_id, batches[1].sessions.store_id)
    joined = concat_columns([b.sessions for b in batches])
    assert joined.store_id.tolist() == ["store-1"] * len(joined) and joined.store_id.flags.writeable
