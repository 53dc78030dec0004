"""A store: its traffic profile, daily totals, dwell model and local clock.

:class:`Store` is plain configuration, validated once. :class:`DayPlan` is one
local day of one store laid out on the UTC timeline: where each slot starts
and ends (in epoch seconds) and how many customers each slot expects. Local
days may have 23 or 25 hours on daylight-saving changes; a slot's expected
count is scaled by its real length over its nominal length, so the arrival
*rate* inside a slot is what the profile says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from sim.dwell import DEFAULT_DWELL, Dwell, upper_minutes
from sim.dwell_file import dwell_from_mapping, dwell_to_mapping
from sim.limits import (
    CAPACITY,
    CUSTOMERS_PER_DAY,
    FRACTION,
    MULTIPLIER,
    PATIENCE_MINUTES,
    WHOLE_CUSTOMERS_PER_DAY,
    Range,
    check_daily_mean,
)
from sim.profile import DEFAULT_PROFILE, Profile, check_sensor_scenarios, profile_from_mapping
from sim.scenarios import Scenario, scenarios_from_list, slow_factor, slowed_minutes

UTC = dt.UTC
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
#: What happens at a full store: wait at the door, or turn away.
CAPACITY_MODES: tuple[str, ...] = ("queue", "loss")
#: The range of each number a store is configured with (sim.limits), in the order :class:`Store` checks
#: them; a stores file reads its keys of the same names through the same ranges.
NUMBER_RANGES: dict[str, Range] = {
    "baseline": CUSTOMERS_PER_DAY, "daily_customers": WHOLE_CUSTOMERS_PER_DAY, "variation": FRACTION,
    "multiplier": MULTIPLIER, "capacity": CAPACITY,
}
#: The numbers of :data:`NUMBER_RANGES` that may be unset (``None``: no fixed total, no limit).
_UNSET_ALLOWED = frozenset({"daily_customers", "capacity"})


@dataclass(frozen=True)
class Store:
    """One store's configuration.

    ``baseline`` is the mean number of customers on an average day of the
    week; ``daily_customers``, when set, fixes every day's total instead.
    ``variation`` is the day-to-day noise: the day's mean is multiplied by a
    uniform factor in ``[1 - variation, 1 + variation]``. ``dwell`` left at
    its default takes the profile's dwell model when the profile has one.

    ``capacity`` caps the customers inside at once (``None``: no limit).
    When the store is full an arriving customer queues at the door, first
    come first served (``capacity_mode="queue"``), giving up after
    ``patience`` seconds if that is set; or turns away
    (``capacity_mode="loss"``).
    """

    store_id: str = "store-1"
    profile: Profile = DEFAULT_PROFILE
    baseline: float = 1000.0
    daily_customers: int | None = None
    variation: float = 0.10
    multiplier: float = 1.0
    dwell: Dwell = DEFAULT_DWELL
    timezone: str = "UTC"
    capacity: int | None = None
    capacity_mode: str = "queue"
    patience: int | None = None  #: seconds a queued customer waits at most
    scenarios: tuple[Scenario, ...] = ()  #: the store's own scenarios, beside its profile's (sim.scenarios)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.store_id:
            raise ValueError("store_id: must not be empty")
        for name, limits in NUMBER_RANGES.items():
            value = getattr(self, name)
            if value is not None or name not in _UNSET_ALLOWED:
                limits.check(value, name)
        if self.capacity_mode not in CAPACITY_MODES:
            raise ValueError(f"capacity_mode: {self.capacity_mode!r}; expected one of {', '.join(CAPACITY_MODES)}")
        if self.patience is not None:
            if not 1 <= self.patience <= PATIENCE_MINUTES.high * 60:
                raise ValueError(
                    f"patience: {self.patience} s; expected 1 to {PATIENCE_MINUTES.high * 60:,.0f} seconds"
                )
            if self.capacity is None or self.capacity_mode != "queue":
                raise ValueError("patience: only a queue (a capacity with capacity_mode 'queue') has one")
        check_sensor_scenarios(self.scenarios, self.profile.sensor, "scenarios")
        object.__setattr__(self, "_zone", zone_named(self.timezone))
        if self.dwell is DEFAULT_DWELL and self.profile.dwell is not None:
            object.__setattr__(self, "dwell", self.profile.dwell)
        check_daily_mean(self.peak_daily_mean(), "", (  # the caller names the store
            "daily_customers x the calendar's largest factor" if self.daily_customers is not None
            else "baseline x the busiest weekday x multiplier x (1 + variation) x the calendar's largest factor"
            + ("" if self.timezone == "UTC" else " x 2 (a daylight-saving day's longest slot)")
        ))

    def peak_daily_mean(self) -> float:
        """An upper bound of any day's expected customers, before anything is drawn.

        baseline x the busiest weekday's factor x multiplier x (1 + variation),
        or the fixed daily total, times the calendar's largest factor; outside
        UTC times 2, because a slot that falls in the repeated hour of a
        daylight-saving day lasts up to twice as long and its expected count
        grows with it. :func:`sim.sampling.expected_counts` checks each day's
        actual sum as well.
        """
        if self.daily_customers is not None:
            return self.daily_customers * self.profile.calendar.peak()
        weekday = max(self.profile.weekday_factor(d) for d in range(7))
        mean = self.baseline * weekday * self.multiplier * (1 + self.variation) * self.profile.calendar.peak()
        return mean if self.timezone == "UTC" else 2 * mean

    def to_mapping(self, shared: tuple[Any, Any] | None = None) -> dict[str, Any]:
        """The store as plain data, what :meth:`from_mapping` reads back to an equal store.

        One form for everything that records or ships a store (run records,
        ``run.json``, Dask tasks): the dwell as a profile's ``[dwell]`` table
        and the profile as the mapping of its TOML document. ``shared``: the
        ``dwell`` and ``profile`` values already made for a store with the same
        dwell and profile objects (a chain's stores share them: making them is
        most of the cost, 50 us a store).
        """
        dwell, profile = shared or (dwell_to_mapping(self.dwell, self.profile.slot_names), self.profile.to_mapping())
        data = {
            "store_id": self.store_id, "baseline": self.baseline, "daily_customers": self.daily_customers,
            "variation": self.variation, "multiplier": self.multiplier, "timezone": self.timezone,
            "capacity": self.capacity, "capacity_mode": self.capacity_mode, "patience": self.patience,
            "dwell": dwell, "profile": profile,
        }
        if self.scenarios:  # only then: a store without any is recorded as it always was
            data["scenarios"] = [s.to_mapping() for s in self.scenarios]
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "store") -> Store:
        """The store :meth:`to_mapping` gave (KeyError for a missing key, ValueError for a bad value)."""
        profile = profile_from_mapping(data["profile"], source=f"{source}.profile")
        slots = {name: i for i, name in enumerate(profile.slot_names)}
        return cls(
            store_id=str(data["store_id"]), profile=profile, baseline=float(data["baseline"]),
            daily_customers=None if data["daily_customers"] is None else int(data["daily_customers"]),
            variation=float(data["variation"]), multiplier=float(data["multiplier"]),
            dwell=dwell_from_mapping(data["dwell"], slots), timezone=str(data["timezone"]),
            capacity=None if data["capacity"] is None else int(data["capacity"]),
            capacity_mode=str(data["capacity_mode"]),
            patience=None if data["patience"] is None else int(data["patience"]),
            scenarios=scenarios_from_list(data["scenarios"], f"{source}.scenarios") if "scenarios" in data else (),
        )

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled as its mapping (a Dask task ships its store so): the same form as every other record.

        A dwell object of a user's own has no mapping: such a store is pickled as it is.
        """
        try:
            return (_store_from_mapping, (self.to_mapping(),))
        except TypeError:
            return super().__reduce_ex__(protocol)

    @property
    def interacts(self) -> bool:
        """Whether customers affect each other: with a capacity, who gets in, and when, depends on everyone before."""
        return self.capacity is not None

    @property
    def longest_visit(self) -> int | None:
        """The most seconds from a customer's arrival at the door to their exit; ``None`` when unbounded.

        The dwell model's bound, plus the groups' ``spread`` when groups
        may leave together (the first member leaves one dwell after the
        last member's entry), plus, in a queue, the patience (a queue
        without one has no bound; a store that turns customers away has
        no wait). A slow checkout lengthens the dwell's bound by its factor.
        """
        dwell = upper_minutes(self.dwell)
        if dwell is None:
            return None
        groups = self.profile.groups
        spread = groups.spread if groups is not None and groups.together > 0 else 0
        wait = 0
        if self.capacity is not None and self.capacity_mode == "queue":
            if self.patience is None:
                return None
            wait = self.patience
        slow = slow_factor((*self.profile.scenarios, *self.scenarios))
        if slow > 1:  # a visit of m whole minutes and r seconds becomes ceil(m x slow) minutes and r seconds
            return 60 * slowed_minutes(dwell + spread // 60, slow) + 59 + wait
        return 60 * dwell + spread + wait

    @property
    def lookback(self) -> int | None:
        """How long before an instant a run of this store must start to give its events from then on exactly.

        Draws are keyed by (store, local day, purpose), so a run started
        later draws the same customers; an event at ``T`` is an entry at
        ``T`` or the exit of a customer who arrived at most the longest
        visit earlier. That holds when customers do not interact; when
        they do, or visits have no bound, ``None``: only a run from the
        start is exact.
        """
        return None if self.interacts else self.longest_visit

    @property
    def key(self) -> int:
        """A stable number for this store's random streams, from its id.

        Derived from the id (not the store's position in a list), so adding
        or reordering stores never changes another store's draws.
        """
        return _store_key(self.store_id)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def local_date(self, epoch: int) -> dt.date:
        """The store's local calendar date at an epoch second."""
        return dt.datetime.fromtimestamp(epoch, self._zone).date()

    def day_plan(self, day: dt.date) -> DayPlan:
        return _day_plan(self.profile, self.timezone, day.toordinal())

    def locate(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local weekday (0 = Monday) and slot index of each epoch second."""
        local = times if self._zone.key == "UTC" else times + _utc_offsets(times, self._zone)
        days = local // 86400
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        minute = (local - days * 86400) // 60
        slot = np.searchsorted(_starts(self.profile.starts), minute, side="right") - 1
        return weekday.astype(np.int8), slot.astype(np.int16)

    def locate_one(self, epoch: int) -> tuple[int, int]:
        """:meth:`locate` for one time, without numpy (the SimPy model's late entries)."""
        return _locate_one(self, epoch)


@lru_cache(maxsize=256)
def _starts(starts: tuple[int, ...]) -> np.ndarray:
    """A profile's slot starts as an array (made once, not once per batch)."""
    out = np.asarray(starts)
    out.flags.writeable = False
    return out


def _store_from_mapping(data: Mapping[str, Any]) -> Store:
    return Store.from_mapping(data)


def lookback(stores: Sequence[Store]) -> int | None:
    """:attr:`Store.lookback` over several stores: the longest, ``None`` if any store has none."""
    bounds = [store.lookback for store in stores]
    return None if None in bounds else max((b for b in bounds if b is not None), default=0)


def _locate_one(store: Store, epoch: int) -> tuple[int, int]:
    zone = store.zone
    local = epoch if zone.key == "UTC" else epoch + _offset_at(epoch, zone)
    return (local // 86400 + 3) % 7, bisect_right(store.profile.starts, (local % 86400) // 60) - 1


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``; ValueError (one line) if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ValueError(
            f"timezone: {name!r} is not an IANA time zone name; expected e.g. UTC, Europe/Rome, America/New_York"
        ) from None


def _utc_offsets(times: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """UTC offset in seconds at each epoch second.

    Looked up once per distinct UTC hour (a batch spans few of them); only in
    an hour that holds an offset change is each time looked up on its own.
    """
    times = np.asarray(times, dtype=np.int64)
    if zone.key == "UTC" or times.size == 0:
        return np.zeros_like(times)
    hours, inverse = np.unique(times // 3600, return_inverse=True)
    first = np.array([_offset_at(int(h) * 3600, zone) for h in hours], dtype=np.int64)
    last = np.array([_offset_at(int(h) * 3600 + 3599, zone) for h in hours], dtype=np.int64)
    offsets = first[inverse]
    mixed = np.flatnonzero((first != last)[inverse])
    for i in mixed:
        offsets[i] = _offset_at(int(times[i]), zone)
    return offsets


def _offset_at(epoch: int, zone: ZoneInfo) -> int:
    delta = dt.datetime.fromtimestamp(epoch, zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@lru_cache(maxsize=4096)
def _store_key(store_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(store_id.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class DayPlan:
    """One local day of a store on the UTC timeline.

    A wall-clock slot is usually one stretch of UTC time, but not on a
    daylight-saving day: a slot in the skipped hour has no time at all, and
    one in the repeated hour happens twice, in two stretches with the other
    slots' time between them. So the day is kept as *pieces*: stretches of
    UTC time, each inside one slot, ordered by slot and then by time.
    """

    day: dt.date
    weekday: int
    starts: np.ndarray  #: each slot's first instant, epoch seconds (int64)
    ends: np.ndarray  #: each slot's last instant + 1 (int64); equals starts for an empty slot
    length_ratio: np.ndarray  #: each slot's real length over its nominal length
    piece_slot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: slot of each piece
    piece_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: epoch seconds
    piece_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: exclusive

    @property
    def begin(self) -> int:
        return int(self.piece_start.min())

    @property
    def end(self) -> int:
        return int(self.piece_end.max())

    @property
    def lengths(self) -> np.ndarray:
        """Each slot's real length in seconds (int64)."""
        return self.ends - self.starts if self._simple else np.bincount(
            self.piece_slot, weights=self.piece_end - self.piece_start, minlength=len(self.starts)
        ).astype(np.int64)

    @cached_property
    def _simple(self) -> bool:
        """Every slot is a single stretch of time (or none): true on all but a few days (known once per plan:
        plans are cached, and a store-year asked each twice a day)."""
        return bool(np.all(np.diff(self.piece_slot) > 0))

    def place(self, slot: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The instant ``offset`` seconds into a slot's real time (0 <= offset < its length)."""
        if self._simple:
            return self.starts[slot] + offset
        length = self.piece_end - self.piece_start
        first = np.concatenate([[0], np.cumsum(length)[:-1]])  # each piece's place in the day's time
        slot_first = np.zeros(len(self.starts), dtype=np.int64)
        head = np.flatnonzero(np.r_[True, self.piece_slot[1:] != self.piece_slot[:-1]])
        slot_first[self.piece_slot[head]] = first[head]
        at = slot_first[slot] + offset
        piece = np.searchsorted(first, at, side="right") - 1
        return self.piece_start[piece] + (at - first[piece])


    def after(self, times: np.ndarray, lag: np.ndarray) -> np.ndarray:
        """``lag`` seconds after each instant of the day, in real time, kept inside the instant's stretch.

        A stretch is one piece of a slot's time: a group's members follow
        its first one by their lag, never past its slot's end, and never
        into the slot's other stretch an hour later on a fall-back day
        (they stay at its last second instead).
        """
        order = np.argsort(self.piece_start)
        piece = np.searchsorted(self.piece_start[order], times, side="right") - 1
        return np.minimum(times + lag, self.piece_end[order][piece] - 1)


def _offset_stretches(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """``[lo, hi)`` cut where the zone's UTC offset changes: (start, end, offset).

    Offsets are probed every three hours and each change is pinned to the
    second by bisection (zones change offset at most once in such a span).
    """
    probes = [*range(lo, hi, 3 * 3600), hi - 1]
    offsets = [_offset_at(t, zone) for t in probes]
    out, begin = [], lo
    for i in range(len(probes) - 1):
        a, b, off_a = probes[i], probes[i + 1], offsets[i]
        if off_a == offsets[i + 1]:
            continue
        while b - a > 1:  # offset at a is off_a, at b is not: find the first change
            mid = (a + b) // 2
            if _offset_at(mid, zone) == off_a:
                a = mid
            else:
                b = mid
        out.append((begin, b, off_a))
        begin = b
    out.append((begin, hi, offsets[-1]))
    return out


@lru_cache(maxsize=8192)
def _day_plan(profile: Profile, timezone: str, ordinal: int) -> DayPlan:
    zone = ZoneInfo(timezone)
    day = dt.date.fromordinal(ordinal)
    midnight = (ordinal - _EPOCH_ORDINAL) * 86400  # the date's 00:00 as if it were UTC
    walls = [60 * m for m in (*profile.starts, 24 * 60)]
    if zone.key == "UTC":
        stretches = [(midnight, midnight + 86400, 0)]
    else:  # offsets are within -12 h .. +14 h
        stretches = _offset_stretches(zone, midnight - 15 * 3600, midnight + 39 * 3600)
    pieces: list[tuple[int, int, int]] = []  # (slot, start, end)
    for a, b, offset in stretches:
        for slot in range(profile.n_slots):
            lo = max(a, midnight + walls[slot] - offset)
            hi = min(b, midnight + walls[slot + 1] - offset)
            if hi > lo:
                pieces.append((slot, lo, hi))
    pieces.sort()
    merged: list[list[int]] = []
    for slot, lo, hi in pieces:  # one slot running across an offset change is one piece
        if merged and merged[-1][0] == slot and merged[-1][2] == lo:
            merged[-1][2] = hi
        else:
            merged.append([slot, lo, hi])
    table = np.array(merged, dtype=np.int64).reshape(-1, 3)
    piece_slot, piece_start, piece_end = table[:, 0], table[:, 1], table[:, 2]
    n = profile.n_slots
    starts = np.full(n, int(piece_end.max()), dtype=np.int64)
    ends = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(starts, piece_slot, piece_start)
    np.maximum.at(ends, piece_slot, piece_end)
    for i in range(n - 1, -1, -1):  # an empty slot sits, with no length, where the next one starts
        if ends[i] == np.iinfo(np.int64).min:
            starts[i] = ends[i] = starts[i + 1] if i + 1 < n else int(piece_end.max())
    lengths = np.bincount(piece_slot, weights=piece_end - piece_start, minlength=n)
    nominal = np.diff(np.array(walls, dtype=np.float64))
    return DayPlan(
        day=day,
        weekday=day.weekday(),
        starts=starts,
        ends=ends,
        length_ratio=lengths / nominal,
        piece_slot=piece_slot,
        piece_start=piece_start,
        piece_end=piece_end,
    )
