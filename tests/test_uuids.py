"""Customer ids are Python's own version-4 UUID text of the drawn bytes, whatever the bytes."""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.uuids import format_uuids


def python_uuids(raw: np.ndarray) -> list[bytes]:
    return [str(uuid.UUID(bytes=bytes(row), version=4)).encode() for row in raw]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=16, max_size=16), max_size=40))
def test_any_bytes_give_pythons_uuid4_text(rows: list[bytes]) -> None:
    raw = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), 16)  # read-only, as drawn
    ids = format_uuids(raw)
    assert ids.dtype == np.dtype("S36") and ids.shape == (len(rows),)
    assert ids.tolist() == python_uuids(raw)


def test_every_byte_value_in_every_place() -> None:
    raw = (np.arange(256, dtype=np.uint8)[:, None] + np.arange(16, dtype=np.uint8) * 17).astype(np.uint8)
    assert format_uuids(raw).tolist() == python_uuids(raw)
    assert format_uuids(raw[::2]).tolist() == python_uuids(raw[::2])  # rows not contiguous
