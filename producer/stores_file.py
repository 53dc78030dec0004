"""Many stores in one run: the stores file (``STORES`` / ``--stores``).

A TOML file with one ``[[stores]]`` table per store::

    [[stores]]
    id = "milano-centro"
    timezone = "Europe/Rome"
    baseline = 1800               # or: daily_customers = 1500
    capacity = 120
    capacity_mode = "queue"       # or "loss"
    patience_minutes = 15
    profile = "profiles/city.toml"  # a path, relative to this file ...

    [[stores]]
    id = "nyc-5th-ave"
    timezone = "America/New_York"
    [stores.profile]              # ... or the profile inline
    slots = ["00:00", "08:00", "20:00"]
    [stores.profile.weights]
    Monday = [0, 10, 2]
    # ...

Only ``id`` is required: every other key defaults to the run's settings
(``PROFILE_FILE``, ``BASE_DAILY_CUSTOMERS``, ``TIMEZONE``, ``STORE_CAPACITY``
...). A store that gives ``baseline`` does not inherit ``DAILY_CUSTOMERS``.
Every problem is one :class:`StoresError` line naming the file, the store
and the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from producer.errors import SettingsError
from sim.dwell import DEFAULT_DWELL
from sim.errors import read_toml
from sim.limits import PATIENCE_MINUTES, Range
from sim.profile import Profile, ProfileError, load_profile, profile_from_mapping
from sim.scenarios import scenarios_from_list
from sim.store import CAPACITY_MODES, NUMBER_RANGES, Store, zone_named

#: Every key a store table accepts.
STORE_KEYS: tuple[str, ...] = (
    "id", "profile", "baseline", "daily_customers", "variation", "multiplier",
    "timezone", "capacity", "capacity_mode", "patience_minutes", "scenarios",
)


class StoresError(SettingsError):
    """The stores file is malformed; the message is one line naming store and key."""


def _patience(value: Any) -> int:
    return max(1, round(PATIENCE_MINUTES.check(value, "patience_minutes") * 60))


def _number(key: str, limits: Range) -> Callable[[Any], Any]:
    return lambda value: limits.check(value, key)


#: What a number key accepts, where the message words it otherwise than its range does.
_NUMBER_ACCEPTS = {"variation": "a fraction from 0 to 1"}

#: How each plain key is read: (parser, Store field, what it accepts). The numbers are the
#: Store's own (:data:`sim.store.NUMBER_RANGES`), read through the ranges the Store checks.
_FIELDS: dict[str, tuple[Callable[[Any], Any], str, str]] = {
    **{
        key: (_number(key, limits), key, _NUMBER_ACCEPTS.get(key, limits.accepts()))
        for key, limits in NUMBER_RANGES.items()
    },
    "capacity_mode": (
        lambda v: _pick(v, CAPACITY_MODES), "capacity_mode", " or ".join(repr(m) for m in CAPACITY_MODES),
    ),
    "patience_minutes": (_patience, "patience", PATIENCE_MINUTES.accepts()),
    "timezone": (lambda v: _zone(v), "timezone", "an IANA time zone name such as Europe/Rome"),
}


def _pick(value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError
    return str(value)


def _zone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    zone_named(value)
    return value


def load_stores(
    path: str | Path, defaults: Store, patience: int | None = None,
    baseline_for: Callable[[Profile], float] | None = None,
) -> tuple[Store, ...]:
    """Read a stores file; each store starts from ``defaults``.

    A store with a profile of its own takes that profile's dwell model, and
    its baseline from ``baseline_for(profile)`` (the settings' rule:
    ``BASE_DAILY_CUSTOMERS``, else the profile's ``baseline``, else the
    default) unless the store gives ``baseline`` or ``daily_customers``.

    ``patience`` (seconds, from ``PATIENCE_MINUTES``) is the default patience
    of every store that queues; it is an error if no store queues.
    """
    p = Path(path)
    where = f"STORES file {str(p)!r}"
    data = read_toml(p, where, StoresError)
    extra = sorted(set(data) - {"stores"})
    if extra:
        raise StoresError(f"{where}: unknown key {extra[0]!r}; expected only [[stores]] tables")
    tables = data.get("stores")
    if not isinstance(tables, list) or not tables:
        raise StoresError(f"{where}: no stores; expected at least one [[stores]] table with an id")
    profiles: dict[Path, Profile] = {}
    stores: list[Store] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(tables):
        store = _store(table, i, where, p.parent, defaults, patience, profiles, baseline_for)
        if store.store_id in seen:
            raise StoresError(
                f"{where}: stores[{i}]: id {store.store_id!r} is already used by stores[{seen[store.store_id]}]; "
                "ids must be unique"
            )
        seen[store.store_id] = i
        stores.append(store)
    if patience is not None and not any(s.patience is not None for s in stores):
        raise StoresError(
            f"PATIENCE_MINUTES is set but no store in {where} queues (a capacity with capacity_mode 'queue')"
        )
    return tuple(stores)


def _store(
    table: Any, i: int, where: str, folder: Path, defaults: Store,
    patience: int | None, profiles: dict[Path, Profile],
    baseline_for: Callable[[Profile], float] | None = None,
) -> Store:
    store_id = _store_id(table, i, where)
    at = f"{where}: store {store_id!r}"
    changes: dict[str, Any] = {"store_id": store_id, **_plain_keys(table, at)}
    if "profile" in table:
        profile = changes["profile"] = _profile(table["profile"], at, folder, profiles)
        changes["dwell"] = profile.dwell or DEFAULT_DWELL
        if baseline_for is not None and "baseline" not in table and "daily_customers" not in table:
            changes["baseline"] = baseline_for(profile)
    changes.update(_scenarios(table, at))
    capacity = changes.get("capacity", defaults.capacity)
    mode = changes.get("capacity_mode", defaults.capacity_mode)
    if "patience" not in changes and patience is not None and capacity is not None and mode == "queue":
        changes["patience"] = patience
    try:
        return dataclasses.replace(defaults, **changes)
    except ValueError as exc:
        raise StoresError(f"{at}: {exc}") from None


def _store_id(table: Any, i: int, where: str) -> str:
    """The id of the ``i``-th ``[[stores]]`` table, checked: a table with a non-empty string id."""
    if not isinstance(table, Mapping):
        raise StoresError(f"{where}: stores[{i}]: expected a table ([[stores]]) with an id")
    if "id" not in table:
        raise StoresError(f"{where}: stores[{i}]: id: missing; every store needs a unique id (a string)")
    store_id = table["id"]
    if not isinstance(store_id, str) or not store_id.strip():
        raise StoresError(f"{where}: stores[{i}]: id: expected a non-empty string, got {store_id!r}")
    return store_id


def _plain_keys(table: Mapping[str, Any], at: str) -> dict[str, Any]:
    """The Store fields a table's plain keys (:data:`_FIELDS`) give, each checked; unknown keys refused."""
    unknown = sorted(set(table) - set(STORE_KEYS))
    if unknown:
        raise StoresError(f"{at}: unknown key {unknown[0]!r}; accepted keys are {', '.join(STORE_KEYS)}")
    if "baseline" in table and "daily_customers" in table:
        raise StoresError(f"{at}: give baseline or daily_customers, not both")
    changes: dict[str, Any] = {}
    if "baseline" in table:
        changes["daily_customers"] = None
    for key, (parse, name, accepts) in _FIELDS.items():
        if key not in table:
            continue
        try:
            changes[name] = parse(table[key])
        except ValueError:
            raise StoresError(f"{at}: {key} = {_short(table[key])} is not valid; expected {accepts}") from None
    return changes


def _scenarios(table: Mapping[str, Any], at: str) -> dict[str, Any]:
    """The store's own ``[[stores.scenarios]]`` (sim.scenarios), beside its profile's."""
    if "scenarios" not in table:
        return {}
    try:
        return {"scenarios": scenarios_from_list(table["scenarios"])}
    except ProfileError as exc:
        raise StoresError(f"{at}: {exc}") from None


def _profile(value: Any, at: str, folder: Path, cache: dict[Path, Profile]) -> Profile:
    try:
        if isinstance(value, str):
            try:
                path = (folder / value).resolve()
            except (OSError, ValueError, RuntimeError) as exc:
                raise StoresError(f"{at}: profile: {value!r} is not a usable path ({exc})") from None
            if path not in cache:
                cache[path] = load_profile(path)
            return cache[path]
        if isinstance(value, Mapping):
            return profile_from_mapping(value, source="inline profile")
    except ProfileError as exc:
        raise StoresError(f"{at}: profile: {exc}") from None
    raise StoresError(f"{at}: profile: expected a path to a profile file or an inline [stores.profile] table")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
