"""Customer ids: version-4 UUID strings made from random bytes, a whole array at a time."""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: Each byte's two hex digits, high then low, as one 2-byte item.
_HEX_PAIRS = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 0x0F]], axis=1).copy().view("V2").ravel()
#: A UUID's five groups of hex digits (8-4-4-4-12), and where each starts in its 36-character form.
_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
_UUID_AT = (0, 9, 14, 19, 24)


def format_uuids(raw: np.ndarray) -> np.ndarray:
    """Turn an (n, 16) uint8 array into n version-4 UUID strings (dtype S36).

    Each byte's two hex digits are looked up at once (a table of 256 digit
    pairs), and the five groups copied as slices: a fifth of the time of a
    digit at a time and a scatter, which was a tenth of a year's run.
    """
    pairs = _HEX_PAIRS[raw]  # (n, 16) digit pairs
    pairs[:, 6] = _HEX_PAIRS[(raw[:, 6] & 0x0F) | 0x40]  # version 4
    pairs[:, 8] = _HEX_PAIRS[(raw[:, 8] & 0x3F) | 0x80]  # variant 1
    digits = pairs.view(np.uint8)  # (n, 32)
    out = np.full((raw.shape[0], 36), ord("-"), dtype=np.uint8)
    for (lo, hi), at in zip(_UUID_GROUPS, _UUID_AT):
        out[:, at:at + hi - lo] = digits[:, lo:hi]
    return out.view("S36").reshape(-1)
