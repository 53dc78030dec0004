"""A door sensor's imperfections, as configuration: the ``[sensor]`` table of a profile.

::

    [sensor]
    miss_in = 0.02          # P(an entry is not counted)
    miss_out = 0.04         # P(an exit is not counted)
    double_in = 0.01        # P(an entry is counted twice)
    double_out = 0.01       # P(an exit is counted twice)
    delay_median = 2        # seconds from the crossing to its delivery (lognormal median; 0: at once)
    delay_sigma = 1.0       # the lognormal's sigma (standard deviation of log delay)
    duplicate = 0.005       # P(a reading is delivered a second time: at-least-once delivery)
    outages_per_day = 0.5   # sensor outages a day on average (Poisson)
    outage_minutes = 20     # mean outage duration (exponential, cut at a day)
    outage_mode = "hold"    # "hold": delivered in a burst after the outage; "lose": never counted

Every key is optional (0, or the value shown for the delay and the outage's
length and mode). What the sensor does with these numbers is
:mod:`sim.sensor_stream`; the whole model is ``docs/sensors.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from sim.errors import ProfileError, checked_table
from sim.limits import DELAY_SECONDS, DELAY_SIGMA, OUTAGE_MINUTES, OUTAGES_PER_DAY, PROBABILITY, Range
from sim.numbers import plain as _num

#: What an outage does to the crossings inside it.
OUTAGE_MODES: tuple[str, ...] = ("hold", "lose")


@dataclass(frozen=True)
class Sensor:
    """A people counter: counting errors per direction, delivery delays, duplicates and outages."""

    miss_in: float = 0.0
    miss_out: float = 0.0
    double_in: float = 0.0
    double_out: float = 0.0
    delay_median: float = 2.0
    delay_sigma: float = 1.0
    duplicate: float = 0.0
    outages_per_day: float = 0.0
    outage_minutes: float = 20.0
    outage_mode: str = "hold"

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "outage_mode":
                _RANGES[f.name].check(getattr(self, f.name), f"sensor.{f.name}", ProfileError)
        for direction in ("in", "out"):
            miss, double = getattr(self, f"miss_{direction}"), getattr(self, f"double_{direction}")
            if miss + double > 1:
                raise ProfileError(
                    f"sensor.miss_{direction} + sensor.double_{direction}: {miss:g} + {double:g} is more than 1; "
                    "they are probabilities of one crossing"
                )
        if self.outage_mode not in OUTAGE_MODES:
            raise ProfileError(f"sensor.outage_mode: {self.outage_mode!r}; expected one of {', '.join(OUTAGE_MODES)}")

    @property
    def delay_mu(self) -> float:
        """log of the median delay in seconds (the lognormal's mu); -inf for no delay."""
        return math.log(self.delay_median) if self.delay_median > 0 else -math.inf

    def to_mapping(self) -> dict[str, Any]:
        return {f.name: (getattr(self, f.name) if f.name == "outage_mode" else _num(getattr(self, f.name)))
                for f in fields(self)}


_RANGES: dict[str, Range] = {
    "miss_in": PROBABILITY, "miss_out": PROBABILITY, "double_in": PROBABILITY, "double_out": PROBABILITY,
    "delay_median": DELAY_SECONDS, "delay_sigma": DELAY_SIGMA, "duplicate": PROBABILITY,
    "outages_per_day": OUTAGES_PER_DAY, "outage_minutes": OUTAGE_MINUTES,
}
KEYS: tuple[str, ...] = tuple(f.name for f in fields(Sensor))


def sensor_from_mapping(table: Any) -> Sensor:
    """The profile's ``[sensor]`` table, validated (one-line :class:`ProfileError`)."""
    table = checked_table(table, "sensor", KEYS, "a table such as [sensor] miss_in = 0.02")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "outage_mode":
            if not isinstance(value, str):
                raise ProfileError(f"sensor.outage_mode: {value!r}; expected one of {', '.join(OUTAGE_MODES)}")
            values[key] = value
        else:
            values[key] = _RANGES[key].check(value, f"sensor.{key}", ProfileError)
    return Sensor(**values)
