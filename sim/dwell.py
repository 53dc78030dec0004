"""Dwell-time ("trip duration") distributions.

Each distribution is a small object with one ``sample(rng, n)`` method that
returns ``n`` whole minutes (>= 1) as an int64 array, drawn from the
Generator it is handed. Whole minutes keep ``trip_duration_minutes`` exactly
equal to exit minus entry, as the wire format promises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


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


@dataclass(frozen=True)
class UniformBand:
    """Whole minutes uniform on ``low..high`` (both included)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high:
            raise ValueError(f"dwell band {self.low}..{self.high}: expected 1 <= low <= high")


@dataclass(frozen=True)
class MixtureDwell:
    """A mixture of uniform bands of whole minutes, picked with given shares."""

    shares: tuple[float, ...]
    bands: tuple[UniformBand, ...]

    def __post_init__(self) -> None:
        if len(self.shares) != len(self.bands) or not self.bands:
            raise ValueError("dwell mixture: one share per band is needed")
        if any(s < 0 for s in self.shares) or abs(sum(self.shares) - 1.0) > 1e-9:
            raise ValueError("dwell mixture: shares must be >= 0 and sum to 1")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # One batched draw for the band, one for the position inside it.
        band = rng.choice(len(self.bands), size=n, p=self.shares)
        lows = np.array([b.low for b in self.bands], dtype=np.int64)
        widths = np.array([b.high - b.low + 1 for b in self.bands], dtype=np.int64)
        return lows[band] + rng.integers(0, widths[band], dtype=np.int64)

    def mean_minutes(self) -> float:
        return float(sum(s * (b.low + b.high) / 2 for s, b in zip(self.shares, self.bands)))

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        m = np.asarray(minutes, dtype=float)
        out = np.zeros_like(m)
        for share, b in zip(self.shares, self.bands):
            # P(X > m) for X uniform on the integers low..high.
            count = b.high - b.low + 1
            above = np.clip(b.high - np.floor(m), 0, count)
            out += share * above / count
        return out


#: The old producer's mixture: 35% 10-29 min, 39% 30-44 min, 26% 45-75 min.
DEFAULT_DWELL = MixtureDwell(
    shares=(0.35, 0.39, 0.26),
    bands=(UniformBand(10, 29), UniformBand(30, 44), UniformBand(45, 75)),
)
