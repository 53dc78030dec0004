"""Run metadata kept in Redis beside the streams, so a restarted producer continues its run.

A run is its seed, its simulated start, the wall time at which that start
was due, its speed and the traffic settings. They live in the hash
``<REDIS_STREAM>:run``. A producer started again with the same settings
finds the hash and continues: the seed and start it did not set are taken
from the hash, and simulated time keeps mapping to wall time from the stored
wall start, so whatever fell due while it was down is written at once and
then it is back on schedule. A setting that contradicts the stored run is
an error (one line) unless ``--fresh`` starts a new run. A different speed
is allowed: the timeline is re-anchored so simulated time continues from
where the old speed had brought it.

A run paced by a followed clock (``CLOCK=redis``) stores ``clock = redis``;
its wall start and speed are not used (the followed clock says what is due).
A restart that leaves ``CLOCK`` unset continues with the stored clock; one
that sets another clock is an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from producer.live.sink import RedisError
from producer.settings import SPECS, TRAFFIC_SETTINGS, SettingsError
from sim.events import iso
from sim.limits import FIRST_INSTANT, LAST_INSTANT
from sim.run import fresh_seed
from sim.store import Store

#: The settings that define a run's events, beyond its seed and start: the one list used to
#: store a run and to check a resumed one (the traffic settings ``simulate`` takes too).
RUN_SETTINGS = tuple(name for name in TRAFFIC_SETTINGS if name != "seed")
#: What version 1 records compared (by ``repr``), for checking a run stored before version 2.
_V1_KEYS = (
    "profile_file", "default_daily_customers", "base_daily_customers", "daily_customers",
    "daily_variation_pct", "disable_daily_variation", "traffic_multiplier",
)
VERSION = "2"
#: The sensor's part of a run's identity, and what a record without it means (no sensor).
SENSOR_DEFAULTS = {"sensor": "false", "count_interval": "null"}
#: With a sensor, the registers' daily reset (minutes past local midnight) is part of the run too; a
#: record from before the live registers lacks it, and takes the reset of the producer continuing it.
COUNTER_RESET = "counter_reset"


class RunSettings(Protocol):
    """The sections a run is read from: the traffic (its fields by name, the stores), the sensor and the
    clock. A :class:`~producer.settings.Settings` is all three."""

    @property
    def seed(self) -> int | None: ...
    @property
    def speed(self) -> float: ...
    @property
    def clock(self) -> str: ...
    @property
    def count_interval(self) -> int: ...
    @property
    def counter_reset(self) -> int: ...
    @property
    def write_rejected(self) -> bool: ...

    def stores(self) -> tuple[Store, ...]: ...

    def has_sensor(self, stores: Sequence[Store]) -> bool: ...


class RunRecordError(RedisError):
    """The run record in Redis is corrupt (hand-edited, another program's): one line, exit 1."""


def run_key(stream: str) -> str:
    """The metadata hash of a stream family: ``<REDIS_STREAM>:run``."""
    return f"{stream}:run"


def store_fingerprint(stores: Sequence[Store]) -> str:
    """A canonical digest of the stores' definitions: SHA-256 of their sorted-key JSON.

    Built from :meth:`Store.to_mapping` (the mappings profile files are written from), so it
    depends on what a store is, not on how Python prints it.
    """
    shared: dict[tuple[int, int], tuple[Any, Any]] = {}  # (dwell, profile) objects -> their mappings
    doc = []
    for s in stores:
        known = shared.get((id(s.dwell), id(s.profile)))
        doc.append(s.to_mapping(known))
        if known is None:
            shared[id(s.dwell), id(s.profile)] = (doc[-1]["dwell"], doc[-1]["profile"])
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def traffic_of(settings: RunSettings) -> dict[str, str]:
    """The run-defining settings as JSON text, plus the fingerprint of the stores they describe.

    The sensor counts by what it does, not by how it was asked: ``sensor`` is
    whether the run has one (a ``[sensor]`` table and ``SENSOR`` not off), and
    ``count_interval`` and ``counter_reset`` (the registers' daily reset) are
    kept only then; a record from before the live sensor has neither, which
    reads as no sensor (:data:`SENSOR_DEFAULTS`).
    """
    stores = settings.stores()
    values = {name: json.dumps(getattr(settings, name)) for name in RUN_SETTINGS}
    on = settings.has_sensor(stores)
    values["sensor"] = json.dumps(on)
    values["count_interval"] = json.dumps(settings.count_interval if on else None)
    values[COUNTER_RESET] = json.dumps(settings.counter_reset if on else None)
    values["fingerprint"] = store_fingerprint(stores)
    return values


def _v1_traffic_of(settings: RunSettings) -> dict[str, str]:
    values = {name: repr(getattr(settings, name)) for name in _V1_KEYS}
    values["fingerprint"] = hashlib.sha256(repr(settings.stores()).encode()).hexdigest()[:16]
    return values


@dataclass(frozen=True)
class RunState:
    """What makes a run repeatable and where it sits on the wall clock."""

    seed: int
    sim_start: int  #: epoch seconds
    wall_start: float  #: epoch seconds at which sim_start is due
    speed: float
    traffic: dict[str, str]
    clock: str = "wall"  #: ``wall`` (wall clock x speed) or ``redis`` (a followed clock)
    version: str = VERSION  #: the record's format (1: before the run-defining settings were one list)
    #: With a sensor: the end the run reached, after which the sensor's last records were written
    #: (delivered after it). Records of a longer run would fall below them: it cannot continue.
    closed: int | None = None

    def to_hash(self) -> dict[str, str]:
        values = {
            "version": self.version, "seed": str(self.seed), "sim_start": str(self.sim_start),
            "sim_start_iso": iso(self.sim_start), "wall_start": repr(self.wall_start),
            "speed": repr(self.speed), "traffic": json.dumps(self.traffic, sort_keys=True),
            "clock": self.clock,
        }
        if self.closed is not None:
            values["closed"] = str(self.closed)
        return values

    def check_end(self, end: int | None, key: str) -> None:
        """A run whose sensor or labels were closed at its end continues to that end at most (one line otherwise)."""
        if self.closed is not None and (end is None or end > self.closed):
            raise SettingsError(
                f"the run stored in {key} ended at {iso(self.closed)} and its sensor's last records, delivered "
                f"after that end, or its labels, closed at it, are written; a run to "
                f"{'no end' if end is None else iso(end)} would put records below them, which a stream cannot "
                f"take: pass --fresh to start a new run, or end at {iso(self.closed)} at most")

    @classmethod
    def from_hash(cls, values: dict[str, str], key: str) -> RunState:
        """The run stored in ``key``; a record that is incomplete or out of range is one line (exit 1)."""
        try:
            state = cls(
                seed=int(values["seed"]), sim_start=int(values["sim_start"]),
                wall_start=float(values["wall_start"]), speed=float(values["speed"]),
                traffic=dict(json.loads(values["traffic"])), clock=values.get("clock", "wall"),
                version=values.get("version", "1"),
                closed=int(values["closed"]) if "closed" in values else None,
            )
        except (KeyError, ValueError, TypeError):
            raise RunRecordError(
                f"the run record in Redis hash {key} is incomplete or malformed; "
                "pass --fresh to start a new run") from None
        problems = [
            ("seed", not 0 <= state.seed <= 2**63 - 1),
            ("sim_start", not FIRST_INSTANT <= state.sim_start < LAST_INSTANT),
            ("wall_start", not math.isfinite(state.wall_start) or not 0 <= state.wall_start < LAST_INSTANT),
            ("speed", not math.isfinite(state.speed) or not 0.001 <= state.speed <= 1e9),
            ("clock", state.clock not in ("wall", "redis")),
            ("version", state.version not in ("1", VERSION)),
        ]
        bad = [name for name, wrong in problems if wrong]
        if bad:
            raise RunRecordError(
                f"the run record in Redis hash {key} holds {bad[0]}={values.get(bad[0])!r}, which no run has; "
                "pass --fresh to start a new run")
        return state

    def sim_time_at(self, wall: float) -> float:
        """The simulated time due at wall time ``wall`` on this run's timeline."""
        return self.sim_start + (wall - self.wall_start) * self.speed


def resolve(
    stored: RunState | None, settings: RunSettings, start: int | None, given: Collection[str],
    fresh: bool, now: float, key: str,
) -> tuple[RunState, str]:
    """The run to produce, and a word on how it was chosen (``new``, ``continued``, ``re-anchored``).

    ``start`` is the simulated start the settings ask for (``None`` = not
    set); ``given`` names the settings set explicitly (option or
    environment), which a stored run must agree with.
    """
    traffic = traffic_of(settings)
    if stored is None or fresh:
        seed = settings.seed if settings.seed is not None else fresh_seed()
        sim_start = start if start is not None else int(now)
        return RunState(seed, sim_start, now, settings.speed, traffic, settings.clock), "new"
    hint = f"pass --fresh to start a new run, or leave it unset to continue the run stored in {key}"
    stored = _agreed(stored, settings, traffic, start, given, hint)
    if "speed" in given and settings.speed != stored.speed and stored.clock == "wall":
        # Keep simulated time continuous: the sim time due now stays due now.
        t_now = stored.sim_time_at(now)
        wall_start = now - (t_now - stored.sim_start) / settings.speed
        return dataclasses.replace(stored, wall_start=wall_start, speed=settings.speed), "re-anchored"
    return stored, "continued"


def _agreed(stored: RunState, settings: RunSettings, traffic: dict[str, str], start: int | None,
            given: Collection[str], hint: str) -> RunState:
    """The stored run, if the settings agree with it (a version 1 record upgraded); else a one-line error."""
    if "clock" in given and settings.clock != stored.clock:
        raise SettingsError(f"CLOCK={settings.clock} differs from the stored run's clock {stored.clock}; {hint}")
    if settings.seed is not None and settings.seed != stored.seed:
        raise SettingsError(f"SEED={settings.seed} differs from the stored run's seed {stored.seed}; {hint}")
    if start is not None and start != stored.sim_start:
        raise SettingsError(
            f"SIM_START={iso(start)} differs from the stored run's start {iso(stored.sim_start)}; {hint}")
    if stored.version == "1":
        _check_v1(stored, settings, hint)
        stored = dataclasses.replace(stored, traffic=traffic, version=VERSION)  # upgraded when stored again
    _check_traffic(traffic, stored.traffic, hint)
    if COUNTER_RESET not in stored.traffic:  # stored before the live registers: it keeps this reset from now on
        stored = dataclasses.replace(stored, traffic={**stored.traffic, COUNTER_RESET: traffic[COUNTER_RESET]})
    return stored


def _check_traffic(traffic: dict[str, str], stored: dict[str, str], hint: str) -> None:
    """The run-defining settings, the sensor and the stores must be the stored run's."""
    for name in RUN_SETTINGS:
        if traffic[name] != stored.get(name):
            raise SettingsError(
                f"{SPECS[name].env}={_show(traffic[name])} differs from the stored run's "
                f"{SPECS[name].env}={_show(stored.get(name))}; {hint}")
    for name, default in SENSOR_DEFAULTS.items():
        if traffic[name] != stored.get(name, default):
            raise SettingsError(
                f"{_sensor_words(traffic)} differs from the stored run's {_sensor_words(stored)}; {hint}")
    if COUNTER_RESET in stored and traffic[COUNTER_RESET] != stored[COUNTER_RESET]:
        raise SettingsError(f"COUNTER_RESET={_hhmm(traffic[COUNTER_RESET])} differs from the stored run's "
                            f"COUNTER_RESET={_hhmm(stored[COUNTER_RESET])}; {hint}")
    if traffic["fingerprint"] != stored.get("fingerprint"):
        raise SettingsError(f"the stores (profile or stores file contents) differ from the stored run's; {hint}")


def _check_v1(stored: RunState, settings: RunSettings, hint: str) -> None:
    """A run stored by version 1 is checked the way version 1 checked it."""
    old = _v1_traffic_of(settings)
    for name in _V1_KEYS:
        if old[name] != stored.traffic.get(name):
            raise SettingsError(f"{SPECS[name].env} differs from the stored run's; {hint}")
    if old["fingerprint"] != stored.traffic.get("fingerprint"):
        raise SettingsError(f"the traffic settings differ from the stored run's; {hint}")


def _sensor_words(traffic: dict[str, str]) -> str:
    """``a sensor with COUNT_INTERVAL=15`` or ``no sensor`` (SENSOR=off, or no [sensor] table)."""
    if traffic.get("sensor", SENSOR_DEFAULTS["sensor"]) != "true":
        return "no sensor (SENSOR=off, or no [sensor] table)"
    return f"a sensor with COUNT_INTERVAL={_show(traffic.get('count_interval'))}"


def _hhmm(value: str) -> str:
    """A stored reset (JSON minutes past midnight) as ``HH:MM``, the way COUNTER_RESET is written."""
    try:
        minutes = json.loads(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{minutes // 60:02d}:{minutes % 60:02d}" if isinstance(minutes, int) else _show(value)


def _show(value: str | None) -> str:
    """A stored JSON value as a person writes it: ``unset``, ``true``, ``10``, ``Europe/Rome``."""
    if value in (None, "null", "None"):
        return "unset"
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return str(value)
    return str(loaded).lower() if isinstance(loaded, bool) else str(loaded)
