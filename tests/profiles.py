"""Profile files for tests: the default weekly table plus whatever a test adds."""

from __future__ import annotations

from pathlib import Path

from sim.profile import DEFAULT_WEIGHTS, WEEKDAYS, Profile, load_profile

SLOTS = '["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]'


def profile_text(top: str = "", tables: str = "", weights: dict[str, list[float]] | None = None) -> str:
    """A profile file: the slots, ``top`` keys, the weights table, then ``tables``."""
    rows = {d: list(DEFAULT_WEIGHTS[d]) for d in WEEKDAYS}
    rows.update(weights or {})
    lines = [f"slots = {SLOTS}", top, "", "[weights]"]
    lines += [f"{d} = {rows[d]}" for d in WEEKDAYS]
    return "\n".join(lines) + "\n" + tables + "\n"


def write_profile(folder: Path, text: str, name: str = "profile.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def make_profile(folder: Path, top: str = "", tables: str = "", **kw: dict[str, list[float]]) -> Profile:
    return load_profile(write_profile(folder, profile_text(top, tables, kw.get("weights"))))
