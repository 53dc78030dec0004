"""What an offline run did, and the lines ``simulate`` prints for it: one place for plain and partitioned runs.

A run returns a :class:`Summary`; the command prints :meth:`Summary.lines`
(nothing with ``--quiet``). The lines are those the command has always
printed, byte for byte: a plain run names its two files, a partitioned run
its tasks, where they ran and its data set folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from producer.options import plural
from sim.events import iso


@dataclass(frozen=True)
class Summary:
    """An offline run's counts, time taken and outputs."""

    seed: int
    start: int
    end: int
    visits: int
    events: int
    elapsed: float  #: seconds
    paths: tuple[Path, ...]  #: the files (plain) or data set folders (partitioned): sessions, door events
    #: with a sensor: what it delivered, the interval counts, the registers
    sensor_paths: tuple[Path, ...] | None = None
    capacity: tuple[int, int] | None = None  #: with a store at capacity: customers turned away, gave up waiting
    tasks: int | None = None  #: a partitioned run's tasks (None: a plain run)
    where: str = ""  #: where the tasks ran ("in one process", "on 2 local workers (...)")
    sensor_records: int = 0  #: a partitioned run's sensor records

    def lines(self) -> list[str]:
        rate = f"in {self.elapsed:.2f} s ({self.events / max(self.elapsed, 1e-9):,.0f} events/s)"
        head = f"simulated {iso(self.start)} to {iso(self.end)}, seed {self.seed}: "
        if self.tasks is None:
            out = [f"{head}{plural(self.visits, 'visit')}, {plural(self.events, 'event')} {rate} "
                   f"-> {self.paths[0]}, {self.paths[1]}"]
            if self.sensor_paths is not None:
                out.append(f"sensor: -> {self.sensor_paths[0]} (what the sensor delivered), "
                           + ", ".join(str(p) for p in self.sensor_paths[1:]))
        else:
            out = [f"{head}{self.visits:,} visits, {self.events:,} events {rate}, {self.tasks:,} tasks {self.where} "
                   f"-> {self.paths[0]}/, {self.paths[1]}/"]
            if self.sensor_paths is not None:
                out.append(f"sensor: {self.sensor_records:,} records -> {self.sensor_paths[0]}/ "
                           "(what the sensor delivered), " + ", ".join(f"{p}/" for p in self.sensor_paths[1:]))
        if self.capacity is not None:
            turned_away, gave_up = self.capacity
            away = plural(turned_away, "customer") if self.tasks is None else f"{turned_away:,} customers"
            out.append(f"at capacity: {away} turned away, {gave_up:,} gave up waiting")
        return out
