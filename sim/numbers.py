"""How numbers are written back to a profile file: whole values as integers.

A weight of ``16.0`` is written ``16``, as a person would type it; any other
value as the float it is (a TOML writer keeps every digit, so it reads back
equal).
"""

from __future__ import annotations


def plain(value: float) -> int | float:
    """``value`` as an int when it is whole, else as a float."""
    number = float(value)
    return int(number) if number.is_integer() else number
