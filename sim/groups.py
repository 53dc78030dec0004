"""Groups: people who arrive together (a family, friends).

A profile's optional ``[groups]`` table::

    [groups]
    sizes = {1 = 0.6, 2 = 0.3, 3 = 0.07, 4 = 0.03}   # size -> probability (sums to 1)
    spread = 5        # members enter within this many seconds of the first (0 to 600)
    together = 0.8    # probability a group leaves together (0 to 1)

With groups, each slot's *groups* are the Poisson process the profile's
slot rate describes, with the rate divided by the mean group size E[G], so a
slot's expected number of people is what the profile says. A slot's count of
people is then compound Poisson: its variance over its mean (the index of
dispersion) is E[G^2] / E[G]. Members after the first enter a whole number
of seconds, uniform in ``[0, spread]``, after the first member in real time
(kept inside the group's slot: on a fall-back day, inside the first member's
stretch of a slot that happens twice). A group that leaves together leaves
when its first member would have, counted from its last member's entry (so
everyone's dwell is at least the first member's, and the first member's is
up to ``spread`` longer than the dwell model's bound:
:attr:`sim.store.Store.longest_visit`); otherwise each member keeps their
own dwell.

Frozen and made of tuples: a profile holding it stays hashable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ProfileError, checked_table
from sim.limits import GROUP_SIZE, GROUP_SPREAD_SECONDS, PROBABILITY
from sim.numbers import plain as _num

_KEYS = ("sizes", "spread", "together")


@dataclass(frozen=True)
class Groups:
    """A group-size law (``sizes[k]``: probability of size ``k + 1``), entry spread and leaving together."""

    sizes: tuple[float, ...]
    spread: int = 5
    together: float = 1.0

    def __post_init__(self) -> None:
        if not self.sizes or any(not PROBABILITY.contains(p) for p in self.sizes):
            raise ProfileError("groups.sizes: every probability must be a number from 0 to 1")
        if len(self.sizes) > GROUP_SIZE.high:
            raise ProfileError(f"groups.sizes: sizes go up to {GROUP_SIZE.high:.0f}")
        if not math.isclose(math.fsum(self.sizes), 1.0, abs_tol=1e-9):
            raise ProfileError(f"groups.sizes: the probabilities sum to {math.fsum(self.sizes):g}; they must sum to 1")
        GROUP_SPREAD_SECONDS.check(self.spread, "groups.spread", ProfileError)
        PROBABILITY.check(self.together, "groups.together", ProfileError)

    @property
    def probabilities(self) -> np.ndarray:
        """P(size = k) for k = 1, 2, ... (normalised exactly)."""
        p = np.asarray(self.sizes, dtype=float)
        return p / p.sum()

    def mean(self) -> float:
        """E[G], the mean group size."""
        return float(np.arange(1, len(self.sizes) + 1) @ self.probabilities)

    def second_moment(self) -> float:
        """E[G^2]."""
        return float(np.arange(1, len(self.sizes) + 1) ** 2 @ self.probabilities)

    def draw_sizes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` group sizes (int64, each >= 1)."""
        return rng.choice(len(self.sizes), size=n, p=self.probabilities).astype(np.int64) + 1

    def to_mapping(self) -> dict[str, Any]:
        return {
            "sizes": {str(k + 1): _num(p) for k, p in enumerate(self.sizes) if p > 0},
            "spread": self.spread,
            "together": _num(self.together),
        }


def groups_from_mapping(table: Any) -> Groups:
    """The profile's ``[groups]`` table, validated (one-line :class:`ProfileError`)."""
    table = checked_table(table, "groups", _KEYS, "a table with sizes = {1 = 0.6, 2 = 0.4, ...}")
    sizes = table.get("sizes")
    if not isinstance(sizes, Mapping) or not sizes:
        raise ProfileError("groups.sizes: missing; expected a table of size = probability, e.g. {1 = 0.6, 2 = 0.4}")
    law: dict[int, float] = {}
    for key, p in sizes.items():
        size = int(key) if isinstance(key, str) and key.isdigit() else None
        if size is None or not GROUP_SIZE.contains(size):
            raise ProfileError(f"groups.sizes.{key}: not a group size; expected {GROUP_SIZE.accepts()}")
        law[size] = PROBABILITY.check(p, f"groups.sizes.{key}", ProfileError)
    top = max(law)
    spread = GROUP_SPREAD_SECONDS.check(table.get("spread", 5), "groups.spread", ProfileError)
    together = PROBABILITY.check(table.get("together", 1.0), "groups.together", ProfileError)
    return Groups(sizes=tuple(law.get(k, 0.0) for k in range(1, top + 1)), spread=spread, together=together)
