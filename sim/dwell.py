"""Dwell-time ("trip duration") distributions.

Each distribution is a small frozen object with ``sample(rng, n)``, which
returns ``n`` whole minutes (>= 1) as an int64 array drawn from the Generator
it is handed, ``mean_minutes()`` and ``survival(m)`` = P(dwell > m), the
function the analytic occupancy E[N(t)] = integral of lambda(t - u) G(u) du
needs, and ``upper_minutes()``, the longest dwell it can draw (``None`` for
a tail without end), which bounds how far back a run cut into pieces must
start (:attr:`sim.store.Store.longest_visit`). Whole minutes keep ``trip_duration_minutes`` exactly equal to exit
minus entry, as the wire format promises.

The models:

- :class:`MixtureDwell`: uniform bands of whole minutes picked with shares
  (the old producer's model, :data:`DEFAULT_DWELL`);
- :class:`HistogramDwell`: an empirical histogram, bins of whole minutes;
- :class:`LognormalDwell` and :class:`GammaDwell`: continuous families given
  by ``median`` and ``spread``. ``spread`` is the coefficient of variation of
  the continuous distribution, its standard deviation divided by its mean
  (0.5 means the standard deviation is half the mean). A draw ``x`` becomes
  ``ceil(x)`` whole minutes, so P(dwell <= m) equals the continuous CDF at
  every whole minute ``m``: half the visits last ``median`` minutes or less;
- :class:`DwellBySlot`: a model per (weekday, slot) of the entry.

Frozen dataclasses of tuples and floats: a profile holding one stays
hashable (it is an ``lru_cache`` key).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np

from sim.extras import need
from sim.limits import DWELL_MEDIAN, DWELL_MINUTES, DWELL_SPREAD, SHARE, WEIGHT


class DwellError(ValueError):
    """A dwell model's parameter is out of range; the message names it."""


class Dwell(Protocol):
    """Anything that draws dwell times in whole minutes."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` dwell times in whole minutes (int64, each >= 1)."""
        ...

    def mean_minutes(self) -> float:
        """The distribution's mean in minutes (for expectations and reports)."""
        ...

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        """P(dwell > m) for each m in minutes."""
        ...

    def upper_minutes(self) -> int | None:
        """The longest dwell the model can draw, in whole minutes; ``None`` when it has no bound."""
        ...


@dataclass(frozen=True)
class UniformBand:
    """Whole minutes uniform on ``low..high`` (both included)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not (DWELL_MINUTES.contains(self.low) and DWELL_MINUTES.contains(self.high) and self.low <= self.high):
            raise DwellError(
                f"band {self.low}..{self.high}: expected whole minutes 1 <= low <= high <= {DWELL_MINUTES.high:,.0f}"
            )


@dataclass(frozen=True)
class MixtureDwell:
    """A mixture of uniform bands of whole minutes, picked with given shares."""

    shares: tuple[float, ...]
    bands: tuple[UniformBand, ...]

    def __post_init__(self) -> None:
        if len(self.shares) != len(self.bands) or not self.bands:
            raise DwellError("shares: one share per band is needed")
        for i, share in enumerate(self.shares):
            SHARE.check(share, f"shares[{i}]", DwellError)
        if abs(math.fsum(self.shares) - 1.0) > 1e-9:
            raise DwellError("shares: must be >= 0 and sum to 1")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # One batched draw for the band, one for the position inside it.
        band = rng.choice(len(self.bands), size=n, p=self.shares)
        lows = np.array([b.low for b in self.bands], dtype=np.int64)
        widths = np.array([b.high - b.low + 1 for b in self.bands], dtype=np.int64)
        return lows[band] + rng.integers(0, widths[band], dtype=np.int64)

    def mean_minutes(self) -> float:
        return float(sum(s * (b.low + b.high) / 2 for s, b in zip(self.shares, self.bands, strict=True)))

    def upper_minutes(self) -> int:
        return max(b.high for share, b in zip(self.shares, self.bands, strict=True) if share > 0)  # unused bands: never

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        m = np.asarray(minutes, dtype=float)
        out = np.zeros_like(m)
        for share, b in zip(self.shares, self.bands, strict=True):
            # P(X > m) for X uniform on the integers low..high.
            count = b.high - b.low + 1
            above = np.clip(b.high - np.floor(m), 0, count)
            out += share * above / count
        return out


@dataclass(frozen=True)
class HistogramDwell:
    """An empirical histogram: bin *i* holds the whole minutes ``edges[i] .. edges[i+1] - 1``.

    ``weights`` are relative (counts will do); inside a bin every whole minute
    is equally likely.
    """

    edges: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.edges) < 2:
            raise DwellError("edges: at least two bin edges are needed")
        for i, e in enumerate(self.edges):
            DWELL_MINUTES.check(e, f"edges[{i}]", DwellError)
        for i in range(1, len(self.edges)):
            if self.edges[i] <= self.edges[i - 1]:
                raise DwellError(f"edges[{i}]: {self.edges[i]} does not come after {self.edges[i - 1]}")
        if len(self.weights) != len(self.edges) - 1:
            raise DwellError(
                f"weights: expected {len(self.edges) - 1} weights (one per bin), got {len(self.weights)}"
            )
        for i, w in enumerate(self.weights):
            WEIGHT.check(w, f"weights[{i}]", DwellError)
        if math.fsum(self.weights) <= 0:
            raise DwellError("weights: all zero; at least one bin needs a positive weight")

    @property
    def mixture(self) -> MixtureDwell:
        total = math.fsum(self.weights)
        shares = [w / total for w in self.weights]
        shares[-1] = 1.0 - math.fsum(shares[:-1])  # exact sum of 1 up to rounding
        bands = tuple(UniformBand(lo, hi - 1) for lo, hi in zip(self.edges[:-1], self.edges[1:], strict=True))
        return MixtureDwell(shares=tuple(max(s, 0.0) for s in shares), bands=bands)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mixture.sample(rng, n)

    def mean_minutes(self) -> float:
        return self.mixture.mean_minutes()

    def upper_minutes(self) -> int:
        return self.mixture.upper_minutes()

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        return self.mixture.survival(minutes)


def _check_median_spread(median: float, spread: float) -> None:
    DWELL_MEDIAN.check(median, "median", DwellError)
    DWELL_SPREAD.check(spread, "spread", DwellError)


def _ceil_minutes(x: np.ndarray) -> np.ndarray:
    # ceil keeps P(dwell <= m) = F(m) at whole minutes; clip guards x == 0.0 underflow.
    return np.maximum(np.ceil(x), 1).astype(np.int64)


#: Where the tail sums of the discrete means stop: P(X > top) < 1e-12.
_TAIL = 1e-12
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _lognormal_sf(x: np.ndarray, sigma: float, median: float) -> np.ndarray:
    """P(X > x) for ln X normal with mean ln(median) and ``sigma``: erfc(z / sqrt 2) / 2.

    The standard library's ``erfc`` is exact to a few ulps, also far in the
    tail, where 1 - Phi(z) would lose everything to cancellation.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        z = (np.log(np.maximum(x, 0.0)) - math.log(median)) / (sigma * math.sqrt(2.0))
    return np.where(x > 0, 0.5 * _erfc(z).astype(float), 1.0)


@lru_cache(maxsize=256)
def _discrete_mean(kind: str, a: float, scale: float) -> float:
    """E[ceil(X)] = sum over m >= 0 of P(X > m), to a tail below 1e-12."""
    if kind == "lognormal":
        top = int(math.ceil(scale * math.exp(a * -NormalDist().inv_cdf(_TAIL)))) + 1
        return float(np.sum(_lognormal_sf(np.arange(top, dtype=float), a, scale)))
    dist = _stats().gamma(a=a, scale=scale)
    top = int(math.ceil(float(dist.isf(_TAIL)))) + 1
    return float(np.sum(dist.sf(np.arange(top, dtype=float))))


def _stats() -> Any:
    """scipy.stats, imported on first use, for the gamma model only: it costs
    half a second at start-up, and scipy is an extra (``fit``), not part of
    the base install."""
    return need("scipy.stats", "a gamma dwell model", "fit")


@dataclass(frozen=True)
class _MedianSpread:
    """A dwell model given by its ``median`` and ``spread`` = standard deviation / mean (both checked)."""

    median: float
    spread: float

    def __post_init__(self) -> None:
        _check_median_spread(self.median, self.spread)


@dataclass(frozen=True)
class LognormalDwell(_MedianSpread):
    """Lognormal minutes: ``median`` and ``spread`` = standard deviation / mean.

    ln X is normal with mean ln(median) and sigma = sqrt(ln(1 + spread**2)).
    """

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.spread**2))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _ceil_minutes(rng.lognormal(math.log(self.median), self.sigma, size=n))

    def mean_minutes(self) -> float:
        return _discrete_mean("lognormal", self.sigma, float(self.median))

    def upper_minutes(self) -> None:
        return None  # a tail without end

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        m = np.floor(np.asarray(minutes, dtype=float))
        return _lognormal_sf(m, self.sigma, float(self.median))


@dataclass(frozen=True)
class GammaDwell(_MedianSpread):
    """Gamma minutes: ``median`` and ``spread`` = standard deviation / mean.

    The shape is 1 / spread**2; the scale puts the median where asked.
    """

    @property
    def shape(self) -> float:
        return 1.0 / self.spread**2

    @property
    def scale(self) -> float:
        return float(self.median / _stats().gamma.median(self.shape))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _ceil_minutes(rng.gamma(self.shape, self.scale, size=n))

    def mean_minutes(self) -> float:
        return _discrete_mean("gamma", self.shape, self.scale)

    def upper_minutes(self) -> None:
        return None  # a tail without end

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        m = np.floor(np.asarray(minutes, dtype=float))
        return np.asarray(_stats().gamma.sf(m, self.shape, scale=self.scale), dtype=float)


@dataclass(frozen=True)
class DwellBySlot:
    """A dwell model per (weekday, slot) of the entry.

    ``grid[weekday][slot]`` is the model for customers entering in that slot
    on that weekday (0 = Monday). ``default`` is the model of the pairs no
    rule overrides; ``sample``, ``mean_minutes`` and ``survival`` describe it,
    and :meth:`for_slot` gives the model of any one pair.
    """

    default: Dwell
    grid: tuple[tuple[Dwell, ...], ...]

    def __post_init__(self) -> None:
        if len(self.grid) != 7 or len({len(row) for row in self.grid}) != 1:
            raise DwellError("by_slot: the grid needs 7 weekdays with one model per slot each")

    def for_slot(self, weekday: int, slot: int) -> Dwell:
        return self.grid[weekday][slot]

    def models(self) -> tuple[Dwell, ...]:
        """Every distinct model in use (for bounds that must hold for all)."""
        return tuple(dict.fromkeys([self.default, *(m for row in self.grid for m in row)]))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.default.sample(rng, n)

    def mean_minutes(self) -> float:
        return self.default.mean_minutes()

    def upper_minutes(self) -> int | None:
        """The longest of every model in use (``None`` if any has no bound): customers of any slot may be there."""
        bounds = [upper_minutes(m) for m in self.models()]
        return None if None in bounds else max(b for b in bounds if b is not None)

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        return self.default.survival(minutes)


def upper_minutes(dwell: Dwell) -> int | None:
    """``dwell.upper_minutes()``; ``None`` for a dwell object of a user's own that does not give one.

    A model without a known bound is treated as unbounded: the runs that
    need a bound then simulate from the start, which is always exact.
    """
    bound = getattr(dwell, "upper_minutes", None)
    return bound() if callable(bound) else None


def sample_day(
    dwell: Dwell, rng: np.random.Generator, weekday: int, counts: np.ndarray | Sequence[int]
) -> np.ndarray:
    """Dwell minutes for one day's arrivals in entry order, ``counts[i]`` in slot *i*.

    A single model draws all of them at once (one call, as it always has);
    a :class:`DwellBySlot` draws slot after slot from the same Generator.
    Entries are sorted by time and slots follow each other in time, so the
    slot-by-slot draws line up with entry order.
    """
    if not isinstance(dwell, DwellBySlot):
        return dwell.sample(rng, int(np.sum(counts)))
    parts = [
        dwell.for_slot(weekday, slot).sample(rng, int(c)) for slot, c in enumerate(counts) if c > 0
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


#: The old producer's mixture: 35% 10-29 min, 39% 30-44 min, 26% 45-75 min.
DEFAULT_DWELL = MixtureDwell(
    shares=(0.35, 0.39, 0.26),
    bands=(UniformBand(10, 29), UniformBand(30, 44), UniformBand(45, 75)),
)
