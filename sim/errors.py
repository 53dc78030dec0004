"""The engine's configuration error, and reading the TOML files it is given.

:class:`ProfileError` lives in its own module so that the profile, calendar
and dwell parsers can all raise it without importing one another.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class ProfileError(ValueError):
    """A profile is malformed; the message is one line naming the key."""


def read_toml(path: str | Path, where: str, error: type[ValueError]) -> dict[str, Any]:
    """Parse a TOML file; an unreadable or malformed file raises ``error``
    with one line that starts with ``where``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{where}: cannot read it ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML ({exc})") from None
