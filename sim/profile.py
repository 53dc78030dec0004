"""Traffic profiles: daily time slots and each weekday's share per slot.

A :class:`Profile` says *how a day's customers are spread over the day*. The
day is cut into half-open slots ``[start, next start)`` that cover it with no
gap; each weekday gives every slot a non-negative weight, the slot's share of
that day's customers. The weekday weight sums also scale the daily mean (a
busier weekday gets more customers), exactly as the producer this project
replaces did (see ``DEFAULT_WEIGHTS``).

Profiles load from TOML files (the whole format: ``docs/profiles.md``)::

    slots = ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]
    baseline = 850                       # optional
    closures = ["2025-12-25"]            # optional, see sim.calendar
    seasonality = [0.9, ..., 1.3]        # optional, 12 multipliers

    [weights]
    Monday    = [16, 17, 20, 17, 13, 10]
    ...
    Sunday    = [0, 0, 0, 0, 0, 0]       # weight 0: closed

    [closed]                             # optional: slots closed, as weight 0
    Saturday = ["00:00", "20:00"]

    [[special]]                          # optional, see sim.calendar
    date = "2025-11-28"
    multiplier = 2.5

    [dwell]                              # optional, see sim.dwell_file
    kind = "lognormal"
    median = 25
    spread = 0.6

    [groups]                             # optional, see sim.groups
    sizes = {1 = 0.6, 2 = 0.3, 3 = 0.07, 4 = 0.03}

    [sensor]                             # optional, see sim.sensor
    miss_in = 0.02

    [[scenarios]]                        # optional, see sim.scenarios
    kind = "surge"
    factor = 2
    start = "2025-11-28T10:00"
    end = "2025-11-28T12:00"

A slot with weight 0 is closed: no arrivals. A weekday whose weights are all
0 is closed all day (at least one weekday must be open). Every problem (a
missing weekday, an unordered slot, a negative weight, a bad date) raises
:class:`ProfileError` with one line that names the key at fault.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from sim.calendar import Calendar, calendar_from_mapping
from sim.dwell import DEFAULT_DWELL, Dwell
from sim.dwell_file import dwell_from_mapping, dwell_to_mapping
from sim.errors import ProfileError, checked_keys, read_toml
from sim.groups import Groups, groups_from_mapping
from sim.limits import CUSTOMERS_PER_DAY, WEIGHT
from sim.numbers import plain as _num
from sim.scenarios import SENSOR_KINDS, Scenario, scenarios_from_list
from sim.sensor import Sensor, sensor_from_mapping

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)

MINUTES_PER_DAY = 24 * 60

#: The old producer's slot starts (UTC), in minutes after midnight.
DEFAULT_SLOTS: tuple[str, ...] = ("00:00", "07:00", "10:00", "14:00", "17:00", "20:00")

#: The old producer's weekday x slot weights (SPEC.md).
DEFAULT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "Monday": (16, 17, 20, 17, 13, 10),
    "Tuesday": (12, 15, 21, 17, 14, 9),
    "Wednesday": (15, 16, 25, 22, 17, 12),
    "Thursday": (14, 14, 19, 21, 18, 10),
    "Friday": (19, 17, 25, 24, 23, 15),
    "Saturday": (22, 24, 27, 22, 20, 18),
    "Sunday": (22, 21, 23, 19, 16, 13),
}

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _parse_hhmm(text: Any, key: str) -> int:
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ProfileError(f"{key}: {text!r} is not a time of day; expected 'HH:MM' from 00:00 to 23:59")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_slot_starts(names: Sequence[Any], key: str = "slots") -> tuple[int, ...]:
    """Slot starts (``"HH:MM"``, increasing, the first ``"00:00"``) as minutes after midnight."""
    starts = tuple(_parse_hhmm(s, f"{key}[{i}]") for i, s in enumerate(names))
    _check_starts(starts, key)
    return starts


def _fmt_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Profile:
    """Daily slots and per-weekday weights.

    ``starts`` are minutes after local midnight, strictly increasing, the first
    0; slot *i* covers ``[starts[i], starts[i+1])`` and the last one runs to
    midnight. ``weights[d][i]`` is weekday *d*'s (0 = Monday) weight for slot
    *i*; a weight of 0 closes the slot.

    ``baseline``, when set, is the mean customers on an average day of the
    week that the file suggests (``BASE_DAILY_CUSTOMERS`` still wins).
    ``calendar`` scales particular days; ``dwell``, when set, is the dwell
    model of stores using this profile.
    """

    starts: tuple[int, ...]
    weights: tuple[tuple[float, ...], ...]
    name: str = "default"
    baseline: float | None = None
    calendar: Calendar = Calendar()
    dwell: Dwell | None = None
    groups: Groups | None = None  #: people arriving together (None: everyone alone, as always)
    sensor: Sensor | None = None  #: the door sensor's imperfections (None: no sensor layer)
    scenarios: tuple[Scenario, ...] = ()  #: what happens to stores of this profile on purpose (sim.scenarios)

    def __post_init__(self) -> None:
        _check_starts(self.starts, "slots")
        if len(self.weights) != 7:
            raise ProfileError(f"weights: expected 7 weekdays, got {len(self.weights)}")
        for day, row in zip(WEEKDAYS, self.weights, strict=True):
            _check_row(row, len(self.starts), f"weights.{day}")
        if not any(math.fsum(row) > 0 for row in self.weights):
            raise ProfileError("weights: every weekday is closed (all weights 0); at least one must be open")
        if self.baseline is not None:
            CUSTOMERS_PER_DAY.check(self.baseline, "baseline", ProfileError)
        for s in self.calendar.special:
            if s.slots is not None and max(s.slots) >= len(self.starts):
                raise ProfileError(f"special {s.date.isoformat()}: slot index out of range")
        check_sensor_scenarios(self.scenarios, self.sensor, "scenarios")

    def dwell_model(self) -> Dwell:
        """The profile's dwell model, or the old producer's mixture when it has none."""
        return DEFAULT_DWELL if self.dwell is None else self.dwell

    @property
    def n_slots(self) -> int:
        return len(self.starts)

    @property
    def ends(self) -> tuple[int, ...]:
        """Each slot's end in minutes after midnight (exclusive)."""
        return (*self.starts[1:], MINUTES_PER_DAY)

    @property
    def labels(self) -> tuple[str, ...]:
        """Slot labels in the old producer's form: start, en dash, last minute."""
        return tuple(
            f"{_fmt_hhmm(s)}\u2013{_fmt_hhmm(e - 1)}" for s, e in zip(self.starts, self.ends, strict=True)
        )

    def day_weight(self, weekday: int) -> float:
        """Sum of a weekday's slot weights."""
        return math.fsum(self.weights[weekday])

    def weekday_factor(self, weekday: int) -> float:
        """A weekday's weight sum over the mean weight sum of the week.

        The daily mean is the baseline times this factor, so busier weekdays
        get more customers while the week's mean stays the baseline.
        """
        total = math.fsum(self.day_weight(d) for d in range(7))
        return 7 * (self.day_weight(weekday) / total)  # in this order: tiny weights do not underflow

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Slot starts as ``HH:MM``, the names the file uses for slots."""
        return tuple(_fmt_hhmm(s) for s in self.starts)

    def to_mapping(self) -> dict[str, Any]:
        """The profile as the mapping :func:`profile_from_mapping` reads (the TOML document)."""
        data: dict[str, Any] = {"name": self.name, "slots": list(self.slot_names)}
        if self.baseline is not None:
            data["baseline"] = _num(self.baseline)
        data.update(self.calendar.to_mapping(self.slot_names))
        data["weights"] = {day: [_num(w) for w in row] for day, row in zip(WEEKDAYS, self.weights, strict=True)}
        if self.dwell is not None:
            data["dwell"] = dwell_to_mapping(self.dwell, self.slot_names)
        if self.groups is not None:
            data["groups"] = self.groups.to_mapping()
        if self.sensor is not None:
            data["sensor"] = self.sensor.to_mapping()
        if self.scenarios:
            data["scenarios"] = [s.to_mapping() for s in self.scenarios]
        return data

    def to_toml(self) -> str:
        """The profile as a TOML document that :func:`load_profile` reads back.

        Written by a TOML writer (tomli-w), so any name, however awkward its
        quotes or characters, comes back as it went in.
        """
        return _inline_arrays(tomli_w.dumps(self.to_mapping()))


#: A multi-line array of plain values, as tomli-w writes every array: one value per line.
_ARRAY = re.compile(r"\[\n((?:    [^\n\[\]{}]+,\n)+)\]")


def _inline_arrays(text: str) -> str:
    """Each array of plain values on one line (``Monday = [13.3, 15.5, ...]``), as a person writes a profile.

    Only arrays whose lines hold no bracket or brace are joined (each line is one
    value, so a comma inside a string is kept as it is); anything else stays as written.
    """
    return _ARRAY.sub(lambda m: "[" + ", ".join(line.strip()[:-1] for line in m.group(1).splitlines()) + "]", text)


def check_sensor_scenarios(scenarios: Sequence[Scenario], sensor: Sensor | None, key: str) -> None:
    """A scenario acting on the door sensor needs one: the profile's ``[sensor]`` table."""
    if sensor is not None:
        return
    for i, scenario in enumerate(scenarios):
        if scenario.kind in SENSOR_KINDS:
            raise ProfileError(f"{key}[{i}]: a {scenario.kind} acts on the door sensor; "
                               "the profile needs a [sensor] table (docs/sensors.md)")


def _check_starts(starts: Sequence[int], key: str) -> None:
    if not starts:
        raise ProfileError(f"{key}: at least one slot is needed")
    if starts[0] != 0:
        raise ProfileError(f"{key}: the first slot must start at 00:00 so the slots cover the day")
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            raise ProfileError(
                f"{key}[{i}]: {_fmt_hhmm(starts[i])} does not come after "
                f"{_fmt_hhmm(starts[i - 1])}; slots must be in increasing order without overlap"
            )


def _check_row(row: Sequence[Any], n_slots: int, key: str) -> None:
    if len(row) != n_slots:
        raise ProfileError(f"{key}: expected {n_slots} weights (one per slot), got {len(row)}")
    for i, w in enumerate(row):
        WEIGHT.check(w, f"{key}[{i}]", ProfileError)


DEFAULT_PROFILE = Profile(
    starts=tuple(_parse_hhmm(s, "slots") for s in DEFAULT_SLOTS),
    weights=tuple(tuple(float(w) for w in DEFAULT_WEIGHTS[d]) for d in WEEKDAYS),
    name="default",
)


def _at(source: str) -> str:
    return f"{source}: " if source else ""


def profile_from_mapping(data: Mapping[str, Any], source: str = "profile") -> Profile:
    """Build and validate a profile from parsed TOML (or any mapping)."""
    known = {"name", "slots", "weights", "baseline", "closed", "closures", "special", "seasonality", "dwell", "groups", "sensor",
             "scenarios"}
    checked_keys(data, known, lambda name: f"{_at(source)}unknown key {name!r}; accepted keys are {sorted(known)}",
                 {"slots": f"{_at(source)}missing key 'slots' (a list of 'HH:MM' slot starts)",
                  "weights": f"{_at(source)}missing table [weights] (one list of weights per weekday)"})
    raw_slots = data["slots"]
    if not isinstance(raw_slots, list):
        raise ProfileError(f"{_at(source)}slots must be a list of 'HH:MM' strings")
    starts = tuple(_parse_hhmm(s, f"slots[{i}]") for i, s in enumerate(raw_slots))
    _check_starts(starts, "slots")
    weights_table = data["weights"]
    if not isinstance(weights_table, Mapping):
        raise ProfileError(f"{_at(source)}weights must be a table with one key per weekday")
    extra = sorted(set(weights_table) - set(WEEKDAYS))
    if extra:
        raise ProfileError(f"weights.{extra[0]}: not a weekday; expected English names Monday..Sunday")
    rows = []
    for day in WEEKDAYS:
        if day not in weights_table:
            raise ProfileError(f"weights.{day}: missing; every weekday needs a list of weights")
        row = weights_table[day]
        if not isinstance(row, list):
            raise ProfileError(f"weights.{day}: expected a list of {len(starts)} weights")
        _check_row(row, len(starts), f"weights.{day}")
        rows.append(tuple(float(w) for w in row))
    slot_index = {_fmt_hhmm(s): i for i, s in enumerate(starts)}
    if "closed" in data:
        rows = _close_slots(data["closed"], rows, slot_index)
    name = data.get("name", "custom")
    if not isinstance(name, str):
        raise ProfileError(f"{_at(source)}name must be a string")
    baseline = data.get("baseline")
    if baseline is not None:
        CUSTOMERS_PER_DAY.check(baseline, "baseline", ProfileError)
    return Profile(
        starts=starts, weights=tuple(rows), name=name,
        baseline=None if baseline is None else float(baseline),
        calendar=calendar_from_mapping(data, slot_index),
        dwell=dwell_from_mapping(data["dwell"], slot_index) if "dwell" in data else None,
        groups=groups_from_mapping(data["groups"]) if "groups" in data else None,
        sensor=sensor_from_mapping(data["sensor"]) if "sensor" in data else None,
        scenarios=scenarios_from_list(data.get("scenarios", [])),
    )


def _close_slots(
    table: Any, rows: list[tuple[float, ...]], slot_index: Mapping[str, int]
) -> list[tuple[float, ...]]:
    """Apply ``[closed]``: the listed slots of each weekday get weight 0."""
    if not isinstance(table, Mapping):
        raise ProfileError("closed: expected a table of weekday = [slot starts], e.g. Sunday = [\"00:00\"]")
    rows = list(rows)
    for day, slots in table.items():
        if day not in WEEKDAYS:
            raise ProfileError(f"closed.{day}: not a weekday; expected English names Monday..Sunday")
        if not isinstance(slots, list):
            raise ProfileError(f"closed.{day}: expected a list of slot starts like [\"00:00\"]")
        row = list(rows[WEEKDAYS.index(day)])
        for i, start in enumerate(slots):
            if not isinstance(start, str) or start not in slot_index:
                raise ProfileError(
                    f"closed.{day}[{i}]: {start!r} is not a slot start; expected one of {list(slot_index)}"
                )
            row[slot_index[start]] = 0.0
        rows[WEEKDAYS.index(day)] = tuple(row)
    return rows


def load_profile(path: str | Path) -> Profile:
    """Read a TOML profile file; any problem is a one-line :class:`ProfileError`."""
    p = Path(path)
    data = read_toml(p, f"profile file {str(p)!r}", ProfileError)
    try:
        return profile_from_mapping(data, source="")
    except ProfileError as exc:
        raise ProfileError(f"profile file {str(p)!r}: {exc}") from None
