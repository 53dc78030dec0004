"""Process-wide allocator settings for long offline runs.

A run allocates and frees day-sized arrays and lists thousands of times. With
glibc's defaults the heap top is trimmed on every free and grown again on the
next batch (tens of thousands of ``brk`` calls and their page faults): that
was 60% of a simulated year's wall time to JSONL. Padding the heap top and
raising the trim threshold keeps those pages mapped; memory still comes back
at exit, and the peak stays bounded by a batch.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2


def tune_allocator(pad_bytes: int = 64 << 20) -> bool:
    """Apply the settings where the C library is glibc; True if applied."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): nothing to tune
    return bool(mallopt(_M_TOP_PAD, pad_bytes)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * pad_bytes))


def tune_for_batches(arrow: bool = False) -> None:
    """What a long offline run wants: the allocator above, and (``arrow``: a
    run that writes through pyarrow) Arrow on the system allocator, which gives
    memory back as batches are freed (Arrow's default jemalloc pool keeps it:
    nearly double the peak of a year's run). Without ``arrow`` pyarrow is not
    imported: JSONL and CSV do without it."""
    if arrow:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    tune_allocator()
