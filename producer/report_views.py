"""What the chain report shows of each store, computed from the binned counts (:mod:`producer.report_agg`).

Everything here is per store and on the store's own clock: arrivals by local
weekday and hour, daily totals by local day (edge days cut by the run's span
are marked partial), customers inside at every bin's end beside E[N(t)] and
the store's capacity, dwell per whole minute beside the store's own dwell
model (the axis ends where the data and the model's last half visit do),
and, for a store with a capacity, who was admitted, turned away or gave up
per local day and Erlang's loss figure. The views are plain numbers and
strings, ready to be written as JSON into the page.

The overview row of a store: its visits, and its arrivals (visits, and for a
store with a capacity those turned away or giving up, when written) against
the profile's expectation with
the z-score of the difference (the variance of a day's total is Poisson's
plus that of the day-to-day factor, uniform on ``1 ± variation``: ``μ +
variation² μ² / 3``; a fixed daily total varies only on partial days), its
busiest local hour, peak occupancy, median dwell, turned away and gave up
where it has a capacity, and the sensor's undercount where it has a sensor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from producer.report_agg import Counts
from producer.report_capacity import erlang_rows
from sim.dwell import Dwell
from sim.expect import (
    LocalHours,
    RateCurve,
    dwell_groups,
    dwell_survival_steps,
    expected_occupancy,
)
from sim.expect import local_day_bounds as _local_day_bounds
from sim.expect import local_hours as _local_hours
from sim.expect import rate_curve as _rate_curve
from sim.profile import WEEKDAYS
from sim.store import Store, _utc_offsets, zone_named


# A chain's stores share a few zones, and each store's curve serves several views: computed once each.
@lru_cache(maxsize=64)
def local_hours(zone: str, start: int, end: int) -> LocalHours:
    return _local_hours(zone, start, end)


@lru_cache(maxsize=64)
def local_day_bounds(zone: str, start: int, end: int) -> tuple[list[dt.date], np.ndarray]:
    return _local_day_bounds(zone, start, end)


@lru_cache(maxsize=8)
def rate_curve(store: Store, start: int, end: int) -> RateCurve:
    return _rate_curve(store, start, end)


@dataclass
class StoreView:
    """One store's overview row and figures' series."""

    row: dict[str, Any]
    figures: dict[str, Any]


def _bin_sums(counts_row: np.ndarray, bin_starts: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of a store's bins over each ``[bounds[i], bounds[i + 1])`` (bins never straddle a bound)."""
    where = np.searchsorted(bounds, bin_starts, side="right") - 1
    keep = (where >= 0) & (where < bounds.size - 1)
    return np.bincount(where[keep], weights=counts_row[keep], minlength=bounds.size - 1)


def weekly(counts: Counts, r: int, store: Store | None, zone: str, start: int, end: int) -> dict[str, Any]:
    """Mean arrivals per local (weekday, hour) over the days of the run that have that hour, and the expected."""
    hours = local_hours(zone, start, end)
    bounds = np.append(hours.start, hours.end[-1:])
    # Hours are contiguous pieces of time in order; a bin goes to the hour it starts in.
    per_hour = _bin_sums(counts.entries[r].astype(float), counts.bin_starts(), bounds)
    n, sim = np.zeros((7, 24)), np.zeros((7, 24))
    np.add.at(n, (hours.weekday, hours.hour), 1)
    np.add.at(sim, (hours.weekday, hours.hour), per_hour)
    out: dict[str, Any] = {"days": n}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["simulated"] = sim / n
        if store is not None:
            exp = np.zeros((7, 24))
            np.add.at(exp, (hours.weekday, hours.hour), rate_curve(store, start, end).between(hours.start, hours.end))
            out["expected"] = exp / n
    return out


def _is_midnight(epochs: np.ndarray, zone: str) -> np.ndarray:
    local = epochs + _utc_offsets(epochs, zone_named(zone))
    return local % 86_400 == 0


def daily(counts: Counts, r: int, store: Store | None, zone: str, start: int, end: int) -> dict[str, Any]:
    """Visits per local day, the expected total, and which days the span cuts (partial)."""
    days, bounds = local_day_bounds(zone, start, end)
    starts = np.asarray(bounds[:-1], np.int64)
    ends = np.asarray(bounds[1:], np.int64)
    partial = ~(_is_midnight(starts, zone) & _is_midnight(ends, zone))
    out: dict[str, Any] = {
        "day": [d.isoformat() for d in days],
        "weekday": [WEEKDAYS[d.weekday()][:3] for d in days],
        "day_start": starts,
        "simulated": _bin_sums(counts.entries[r].astype(float), counts.bin_starts(), bounds),
        "partial": partial,
        "hours": (ends - starts) / 3600,
    }
    if store is not None:
        out["expected"] = rate_curve(store, start, end).between(starts, ends)
    return out


def occupancy(counts: Counts, r: int, store: Store | None, zone: str, start: int, end: int) -> dict[str, Any]:
    """Customers inside just before each bin's end (entries minus exits so far) and E[N(t)] there."""
    times = counts.bin_starts() + counts.bin_seconds
    inside = np.cumsum(counts.door_in[r] - counts.door_out[r])
    keep = (times > start) & (times <= end)
    times, inside = times[keep], inside[keep]
    out: dict[str, Any] = {"time": times, "local": times + _utc_offsets(times, zone_named(zone)),
                           "simulated": inside.astype(float)}
    if store is not None:
        out["expected"] = expected_occupancy(store, times, start, end)
        if store.capacity is not None:
            out["capacity"] = store.capacity
    return out


def _visits_per_model(counts: Counts, r: int, store: Store) -> list[tuple[Dwell, float]]:
    """The store's dwell models and how many of its visits drew from each (by the bins' weekday and slot)."""
    weekday, slot = store.locate(counts.bin_starts())
    entries = counts.entries[r].astype(float)
    out = []
    for model, pick in dwell_groups(store):
        if pick is None:
            out.append((model, float(entries.sum())))
            continue
        table = np.array([[pick(d, j) for j in range(store.profile.n_slots)] for d in range(7)])
        out.append((model, float(entries[table[weekday, slot]].sum())))
    return out


def dwell(counts: Counts, r: int, store: Store | None) -> dict[str, Any]:
    """Visits per whole minute of dwell, the model's expectation, and where the axis ends."""
    hist = counts.dwell[r]
    seen = np.flatnonzero(hist)
    longest = int(seen[-1]) if seen.size else 1
    model = np.zeros(0)
    if store is not None:
        for m, n in _visits_per_model(counts, r, store):
            g = np.append(dwell_survival_steps(m), 0.0)
            pmf = n * (g[:-1] - g[1:])  # visits of k + 1 minutes
            size = max(model.size, pmf.size)
            model = np.pad(model, (0, size - model.size)) + np.pad(pmf, (0, size - pmf.size))
    axis_end = longest
    if model.size:
        beyond = model.sum() - np.cumsum(model)
        axis_end = max(longest, int(np.argmax(beyond < 0.5)) + 1)
    top = max(axis_end, 1)
    out: dict[str, Any] = {"minutes": np.arange(1, top + 1),
                           "simulated": np.pad(hist[1:top + 1], (0, max(0, top - hist[1:].size))).astype(float),
                           "axis_end": axis_end + 1, "longest": longest}
    if model.size:
        out["expected"] = np.pad(model, (0, max(0, top - model.size)))[:top]
    return out


def admission(counts: Counts, r: int, store: Store, start: int, end: int) -> dict[str, Any]:
    """Per local day: admitted (sessions), turned away, gave up, and the expected arrivals."""
    days, bounds = local_day_bounds(store.timezone, start, end)
    b = counts.bin_starts()
    return {
        "day": [d.isoformat() for d in days],
        "admitted": _bin_sums(counts.entries[r].astype(float), b, bounds),
        "turned_away": _bin_sums(counts.turned_away[r].astype(float), b, bounds),
        "gave_up": _bin_sums(counts.gave_up[r].astype(float), b, bounds),
        "expected": rate_curve(store, start, end).between(bounds[:-1], bounds[1:]),
    }


def sensor(counts: Counts, r: int, store_id: str, zone: str) -> dict[str, Any] | None:
    """True occupancy against the running sum of the counter's ins and outs, at each interval's end."""
    if counts.sensor is None or store_id not in counts.sensor:
        return None
    ends, ins, outs = counts.sensor[store_id]
    bin_ends = counts.bin_starts() + counts.bin_seconds
    inside = np.cumsum(counts.door_in[r] - counts.door_out[r])
    at = np.searchsorted(bin_ends, ends, side="left")
    keep = (at < bin_ends.size) & (bin_ends[np.clip(at, 0, bin_ends.size - 1)] == ends)
    return {"time": ends[keep], "local": ends[keep] + _utc_offsets(ends[keep], zone_named(zone)),
            "true": inside[at[keep]].astype(float), "counted": np.cumsum(ins - outs)[keep].astype(float),
            "ins": int(ins.sum())}


def _z_score(visits: float, store: Store | None, zone: str, start: int, end: int) -> tuple[float, float]:
    """Expected visits and the z-score of the difference (NaN without run.json)."""
    if store is None:
        return float("nan"), float("nan")
    _, bounds = local_day_bounds(zone, start, end)
    mu = rate_curve(store, start, end).between(bounds[:-1], bounds[1:])
    expected = float(mu.sum())
    if store.daily_customers is not None:
        p = np.clip(mu / max(store.daily_customers, 1), 0, 1)
        var = float((store.daily_customers * p * (1 - p)).sum())
    else:
        var = float((mu + store.variation ** 2 * mu ** 2 / 3).sum())
    if var <= 0:
        return expected, 0.0 if abs(visits - expected) < 0.5 else float("inf")
    return expected, (visits - expected) / var ** 0.5


def _median_minute(hist: np.ndarray) -> float:
    total = hist.sum()
    if total == 0:
        return float("nan")
    return float(np.searchsorted(np.cumsum(hist), total / 2))


def store_view(counts: Counts, r: int, store: Store | None, start: int, end: int,
               rejected_written: bool) -> StoreView:
    """Every figure's series and the overview row of the store in row ``r``."""
    store_id = counts.stores[r]
    zone = store.timezone if store is not None else "UTC"
    figures: dict[str, Any] = {
        "zone": zone,
        "weekly": weekly(counts, r, store, zone, start, end),
        "daily": daily(counts, r, store, zone, start, end),
        "occupancy": occupancy(counts, r, store, zone, start, end),
        "dwell": dwell(counts, r, store),
    }
    visits = float(counts.entries[r].sum())
    # A capped store's expectation counts every arrival: those turned away or giving up too, when written.
    arrivals = visits
    if store is not None and store.capacity is not None and rejected_written:
        arrivals += float(counts.turned_away[r].sum() + counts.gave_up[r].sum())
    expected, z = _z_score(arrivals, store, zone, start, end)
    week = figures["weekly"]["simulated"]
    busiest = np.unravel_index(np.nanargmax(np.nan_to_num(week, nan=-1.0)), week.shape)
    occ = figures["occupancy"]
    peak = int(np.argmax(occ["simulated"])) if occ["simulated"].size else 0
    row: dict[str, Any] = {
        "store": store_id, "zone": zone, "visits": visits, "arrivals": arrivals, "expected": expected, "z": z,
        "busiest": f"{WEEKDAYS[int(busiest[0])][:3]} {int(busiest[1]):02d}:00",
        "peak": float(occ["simulated"][peak]) if occ["simulated"].size else 0.0,
        "peak_at": _local_text(int(occ["local"][peak])) if occ["simulated"].size else "",
        "median_dwell": _median_minute(counts.dwell[r]),
        "capacity": None if store is None else store.capacity,
    }
    if store is not None and store.capacity is not None:
        figures["admission"] = admission(counts, r, store, start, end)
        figures["erlang"] = erlang_rows(store, counts, r, rejected_written)
        row["turned_away"] = float(counts.turned_away[r].sum())
        row["gave_up"] = float(counts.gave_up[r].sum())
    sensed = sensor(counts, r, store_id, zone)
    if sensed is not None:
        figures["sensor"] = sensed
        true_in = float(counts.door_in[r].sum())
        row["undercount"] = (true_in - sensed["ins"]) / true_in if true_in else float("nan")
    figures["weekly_shape"] = np.nan_to_num(week).ravel()
    return StoreView(row, figures)


def _local_text(local_seconds: int) -> str:
    return dt.datetime.fromtimestamp(local_seconds, dt.UTC).strftime("%a %Y-%m-%d %H:%M")
