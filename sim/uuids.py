"""Customer ids: version-4 UUID strings made from random bytes, a whole array at a time."""

from __future__ import annotations

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: Where each of a UUID's 32 hex digits goes in its 36-character form.
_UUID_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)], dtype=np.intp)


def format_uuids(raw: np.ndarray) -> np.ndarray:
    """Turn an (n, 16) uint8 array into n version-4 UUID strings (dtype S36)."""
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    out = np.full((raw.shape[0], 36), ord("-"), dtype=np.uint8)
    digits = np.empty((raw.shape[0], 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    out[:, _UUID_POS] = digits
    return out.view("S36").reshape(-1)
