"""``simulate`` with a door sensor: the sensor layer fed batch by batch, to its files.

The true door events keep their own file (``foot_traffic_realistic_true``);
the sensor's records take the door file's name and the interval counts and
the counter's registers get files of their own (:mod:`producer.sinks.sensor_files`). See docs/sensors.md.
"""

from __future__ import annotations

from pathlib import Path

from producer.settings import SensorSettings
from producer.sinks.sensor_files import COUNTS_NAME, REGISTERS_NAME, TRUE_DOORS_NAME, SensorFileSink
from sim.batch import DoorColumns
from sim.counter_feed import Registers
from sim.run import Simulation
from sim.sensor_stream import CountColumns, SensorColumns, SensorLayer


class SensorOutput:
    """A run's sensor layer, its registers (:mod:`sim.counter_feed`) and its three files."""

    def __init__(self, run: Simulation, settings: SensorSettings, out: str | Path, fmt: str,
                 counter_reset: int = 0) -> None:
        interval = 60 * settings.count_interval
        self.layer = SensorLayer(run.seed, run.stores, run.start, run.end, interval=interval)
        self.registers = Registers(run.stores, run.start, interval, counter_reset)
        self.sink = SensorFileSink(out, fmt)

    def write(self, doors: DoorColumns) -> None:
        self._put(*self.layer.process(doors))

    def close(self) -> tuple[Path, ...]:
        self._put(*self.layer.close())
        return self.sink.close()

    def _put(self, records: SensorColumns, counts: CountColumns) -> None:
        self.sink.write(records, counts, self.registers.add(counts))

    def abort(self) -> None:
        self.sink.abort()


def remove_stale(out: str | Path, fmt: str) -> None:
    """A run without a sensor removes the sensor-only files an earlier run left in ``out``.

    Otherwise the folder would hold this run's door events next to another
    run's counts (the report draws the counts when it finds them).
    """
    for name in (TRUE_DOORS_NAME, COUNTS_NAME, REGISTERS_NAME):
        (Path(out) / f"{name}.{fmt}").unlink(missing_ok=True)
