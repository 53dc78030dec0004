"""Keyed random streams, their seeds worked out for many days at once.

A stream is ``Generator(PCG64(SeedSequence(seed, spawn_key=(key, ordinal, purpose))))``
(:func:`sim.sampling.stream`): one per store, local day and purpose. Built
one at a time, each costs a ``SeedSequence`` (its entropy coerced and mixed
in Python-level steps) and the PCG64 state it hashes out: about 12 us, four
to five times a day per store, a tenth of a store-year's draw.

Here the ``SeedSequence`` algorithm (NumPy's, documented as stable across
releases: the same seed gives the same numbers) is run in numpy over 64
consecutive days of one (seed, key, purpose) at a time, and each day's PCG64
is built from its precomputed state. The streams are the very same:
``tests/test_streams.py`` checks them against ``SeedSequence`` over awkward
seeds, keys, days and purposes. Anything outside what this module works out
(a seed that is not a non-negative ``int``, a day or purpose past 32 bits)
goes through ``SeedSequence`` itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

#: SeedSequence's constants (numpy/random/bit_generator.pyx).
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_MASK = 0xFFFFFFFF
_POOL = 4
#: Days worked out at once (one block: 64 x 32 bytes of state).
BLOCK = 64


def keyed(seed: int, key: int, ordinal: int, purpose: int) -> np.random.Generator:
    """``Generator(PCG64(SeedSequence(seed, spawn_key=(key, ordinal, purpose))))``, cheaply."""
    if type(seed) is not int or seed < 0 or not 0 <= ordinal <= _MASK or not 0 <= purpose <= _MASK or key < 0:
        seq = np.random.SeedSequence(seed, spawn_key=(key, ordinal, purpose))
        return np.random.Generator(np.random.PCG64(seq))
    block, row = divmod(ordinal, BLOCK)
    state = _State(_block(seed, key, purpose, block)[row])
    return np.random.Generator(np.random.PCG64(state))  # type: ignore[arg-type]  # an ISeedSequence: it takes one


class _State(ISeedSequence):
    """A seed sequence whose PCG64 state is already known (what ``SeedSequence.generate_state(4, uint64)`` gives)."""

    __slots__ = ("_words",)

    def __init__(self, words: np.ndarray) -> None:
        self._words = words

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("a precomputed stream state holds 4 uint64 words only")
        return self._words


def _words(n: int) -> list[int]:
    """An int's 32-bit words, least significant first (``0`` is one word), as SeedSequence reads it."""
    out = [n & _MASK]
    n >>= 32
    while n:
        out.append(n & _MASK)
        n >>= 32
    return out


def _hashmix(value: int, const: int) -> tuple[int, int]:
    value ^= const
    const = const * _MULT_A & _MASK
    value = value * const & _MASK
    return value ^ value >> 16, const


def _mix(x: int, y: int) -> int:
    r = (_MIX_L * x - _MIX_R * y) & _MASK
    return r ^ r >> 16


def _prefix_pool(entropy: list[int]) -> tuple[list[int], int]:
    """SeedSequence's pool after ``entropy`` (at least the pool's size in words), and the hash constant then."""
    const = _INIT_A
    pool = []
    for word in entropy[:_POOL]:
        value, const = _hashmix(word, const)
        pool.append(value)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                value, const = _hashmix(pool[src], const)
                pool[dst] = _mix(pool[dst], value)
    for word in entropy[_POOL:]:
        for dst in range(_POOL):
            value, const = _hashmix(word, const)
            pool[dst] = _mix(pool[dst], value)
    return pool, const


@lru_cache(maxsize=1024)
def _block(seed: int, key: int, purpose: int, block: int) -> np.ndarray:
    """The PCG64 states (BLOCK x 4 uint64) of days ``block * BLOCK`` onwards, one row a day."""
    run = _words(seed)
    run += [0] * (_POOL - len(run))  # a spawn key pads the run's entropy to the pool's size
    pool, const = _prefix_pool(run + _words(key))
    u32 = np.uint32
    mixer = [np.full(BLOCK, p, dtype=u32) for p in pool]
    days = np.arange(block * BLOCK, (block + 1) * BLOCK, dtype=np.uint64).astype(u32)
    for word in (days, np.full(BLOCK, purpose, dtype=u32)):  # the day's and the purpose's word, mixed in
        for dst in range(_POOL):
            value = word ^ u32(const)
            const = const * _MULT_A & _MASK
            value = value * u32(const)
            value ^= value >> u32(16)
            r = u32(_MIX_L) * mixer[dst] - u32(_MIX_R) * value
            mixer[dst] = r ^ (r >> u32(16))
    out = np.empty((BLOCK, 2 * _POOL), dtype=u32)
    const = _INIT_B
    for i in range(2 * _POOL):  # generate_state(4, uint64): 8 words from the pool, in turn
        const_before = const
        const = const * _MULT_B & _MASK
        value = (mixer[i % _POOL] ^ u32(const_before)) * u32(const)
        out[:, i] = value ^ (value >> u32(16))
    return out.astype("<u4").view("<u8").astype(np.uint64)
