"""Writing TOML documents: the inverse of ``tomllib.loads`` for the values profiles use.

The standard library reads TOML but does not write it. Profile files are
written by :meth:`sim.profile.Profile.to_toml` (and so by ``profile fit``);
formatting each line by hand would break on a name holding a quote or a
backslash, so every value goes through :func:`value`, which quotes strings
with TOML's escapes, and every key through :func:`key`.

:func:`dumps` writes a mapping: plain values first (TOML wants them before
the first table), then sub-tables as ``[a.b]`` and lists of tables as
``[[a.b]]``, in the mapping's order. Numbers keep the form the profile files
always had: a whole float is written as an integer (``17``, not ``17.0``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    """A key: bare when TOML allows it, else quoted."""
    return name if _BARE_KEY.match(name) else string(name)


def number(x: float) -> str:
    """An int, or a float in its shortest round-trip form (whole floats as ints)."""
    if isinstance(x, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError(f"{x!r} cannot be written to a profile file")
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def value(v: Any) -> str:
    """One TOML value: bool, number, string, date, or a (nested) list of them."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, Sequence):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as a TOML value")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and bool(v) and all(
        isinstance(x, Mapping) for x in v
    )


def _table(doc: Mapping[str, Any], path: tuple[str, ...], lines: list[str], header: str | None) -> None:
    if header is not None:
        if lines:
            lines.append("")
        lines.append(header)
    tables = []
    for k, v in doc.items():
        if isinstance(v, Mapping) or _is_table_list(v):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{key(k)} = {value(v)}")
    for k, v in tables:
        sub = (*path, key(k))
        if isinstance(v, Mapping):
            _table(v, sub, lines, "[" + ".".join(sub) + "]")
        else:
            for item in v:
                _table(item, sub, lines, "[[" + ".".join(sub) + "]]")


def dumps(doc: Mapping[str, Any]) -> str:
    """A TOML document for ``doc`` (``None`` values are left out)."""
    lines: list[str] = []
    _table(doc, (), lines, None)
    return "\n".join(lines) + "\n"
