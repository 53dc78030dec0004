"""The keyed streams worked out many days at once are SeedSequence's very streams.

Every run's draws come from ``SeedSequence(seed, spawn_key=(key, day, purpose))``;
``sim.streams`` computes those seeds itself, 64 days at a time. Both engines
share it, so only a comparison with NumPy's own ``SeedSequence`` can tell a
wrong stream: the numbers drawn must be equal, not just alike.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import Store
from sim.sampling import COUNTS, DWELL, GROUPS, IDS, PLACEMENT, stream
from sim.streams import BLOCK, keyed


def reference(seed: int, key: int, ordinal: int, purpose: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key, ordinal, purpose))))


def same_stream(a: np.random.Generator, b: np.random.Generator) -> bool:
    """The first draws of both, of several kinds (raw words, bytes, floats), are equal."""
    return (a.integers(0, 2**63, 8).tolist() == b.integers(0, 2**63, 8).tolist()
            and a.bytes(40) == b.bytes(40) and a.random(4).tolist() == b.random(4).tolist())


AWKWARD = [
    (0, 0, 0, 0),  # zeros everywhere: one word each
    (1, 2**32 - 1, 1, 1),  # a key of one full word
    (1, 2**32, 739_000, 2),  # a key of two words, the second barely used
    (2**63 - 1, 2**64 - 1, 2**32 - 1, 2**32 - 1),  # the largest seed the CLI takes; the last 32-bit day and purpose
    (2**128 + 5, 7, 3, 4),  # a seed of five words: longer than the pool
    (2**96, 1, BLOCK - 1, 0),  # a seed of four words: the pool's size, no padding
    (12345, Store().key, BLOCK, 3),  # the first day of a block
    (42, Store("flagship").key, dt.date(2025, 11, 28).toordinal(), 24),  # a scenario purpose
]


@pytest.mark.parametrize("seed,key,ordinal,purpose", AWKWARD)
def test_awkward_seeds_keys_days_and_purposes_give_seedsequences_stream(seed: int, key: int, ordinal: int,
                                                                        purpose: int) -> None:
    assert same_stream(keyed(seed, key, ordinal, purpose), reference(seed, key, ordinal, purpose))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**160), key=st.integers(0, 2**64 - 1), ordinal=st.integers(0, 2**32 - 1),
       purpose=st.integers(0, 2**32 - 1))
def test_any_seed_key_day_and_purpose_give_seedsequences_stream(seed: int, key: int, ordinal: int,
                                                               purpose: int) -> None:
    assert same_stream(keyed(seed, key, ordinal, purpose), reference(seed, key, ordinal, purpose))


def test_a_store_year_of_every_purpose_is_seedsequences() -> None:
    store, first = Store(), dt.date(2024, 12, 20)
    for n in range(380):
        day = first + dt.timedelta(days=n)
        for purpose in (COUNTS, PLACEMENT, DWELL, IDS, GROUPS):
            assert same_stream(stream(9, store, day, purpose), reference(9, store.key, day.toordinal(), purpose))


def test_outside_what_is_worked_out_seedsequence_itself_decides() -> None:
    """A day past 32 bits still draws SeedSequence's stream; a negative seed is SeedSequence's error."""
    assert same_stream(keyed(3, 4, 2**40, 1), reference(3, 4, 2**40, 1))
    assert same_stream(keyed(np.int64(3), 4, 5, 1), reference(3, 4, 5, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        keyed(-1, 4, 5, 1)
