"""The engine's configuration error, and reading the TOML files it is given.

:class:`ProfileError` lives in its own module so that the profile, calendar
and dwell parsers can all raise it without importing one another.

Files are read defensively: at most :data:`MAX_FILE_BYTES` bytes (so
``/dev/zero`` or a runaway file is an error, not a read that never ends),
opened without blocking on a pipe that has no writer, decoded as UTF-8 with
the offset of the first bad byte named, and parsed as TOML; every problem is
one line that starts with the file's description.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

#: The largest profile or stores file read: 4 MiB, a thousand stores with inline profiles.
MAX_FILE_BYTES = 4 * 1024 * 1024


class ProfileError(ValueError):
    """A profile is malformed; the message is one line naming the key."""


def checked_table(table: Any, name: str, keys: Sequence[str], expected: str) -> Mapping[str, Any]:
    """``table`` (a profile's ``[name]`` table) when it is a table holding only ``keys``, else a one-line
    :class:`ProfileError`: ``name: expected <expected>``, or the first unknown key and the accepted ones."""
    if not isinstance(table, Mapping):
        raise ProfileError(f"{name}: expected {expected}")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ProfileError(f"{name}: unknown key {unknown[0]!r}; accepted keys are {list(keys)}")
    return table


def checked_keys(table: Mapping[str, Any], known: Collection[str], unknown: Callable[[str], str],
                 required: Mapping[str, str]) -> None:
    """A one-line :class:`ProfileError` for the first key of ``table`` (sorted) not in ``known``
    (``unknown(key)`` says it), else for the first key of ``required`` missing (its message)."""
    extra = sorted(set(table) - set(known))
    if extra:
        raise ProfileError(unknown(extra[0]))
    for key, message in required.items():
        if key not in table:
            raise ProfileError(message)


def read_bounded(path: str | Path, where: str, error: type[ValueError], limit: int = MAX_FILE_BYTES) -> bytes:
    """At most ``limit`` bytes of a file; a larger or unreadable one raises ``error``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer must not block the open
    except OSError as exc:
        raise error(f"{where}: cannot read it ({exc.strerror})") from None
    except ValueError:  # a NUL byte in the path
        raise error(f"{where}: cannot read it (not a valid path)") from None
    try:
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{where}: cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > limit:
        raise error(f"{where}: larger than {limit:,} bytes, the most a profile or stores file may hold")
    return b"".join(chunks)


def read_toml(path: str | Path, where: str, error: type[ValueError]) -> dict[str, Any]:
    """Parse a TOML file; an unreadable, oversized, non-UTF-8 or malformed file
    raises ``error`` with one line that starts with ``where``."""
    data = read_bounded(path, where, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line})"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{where}: not valid TOML (arrays or tables nested too deeply)") from None
