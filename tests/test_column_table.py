"""One column-table base for the batch types: take, concat and cut by UTC day, coded strings kept coded."""

from __future__ import annotations

import numpy as np

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
