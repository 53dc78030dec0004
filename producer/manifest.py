"""``run.json``: what a simulated data set was made from.

``foot-traffic simulate`` writes it beside the data files so that a data set
can be explained later without the command line that made it: the seed, the
simulated span, the settings and every store's configuration (its profile as
TOML text, its dwell model). ``foot-traffic report`` reads it back to draw
the profile's expectation beside the data. A store is written in its own
form (:meth:`~sim.store.Store.to_mapping`), the profile as TOML text.

A broken or foreign ``run.json`` is a :class:`ManifestError` with one line.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.events import iso
from sim.profile import ProfileError
from sim.store import Store

MANIFEST_NAME = "run.json"
#: The version written. 2: each store in its own form (:meth:`Store.to_mapping`: the dwell a table with its
#: ``kind``, the queue's keys). 1: before that (a mixture dwell as ``{"shares", "bands"}``, any other as
#: ``null``, no ``capacity_mode`` or ``patience``); files written just before the bump carry 1 with stores
#: in their own form, which version 1 reads too.
FORMAT_VERSION = 2
#: The versions read.
READABLE_VERSIONS = (1, 2)


class ManifestError(ValueError):
    """``run.json`` is missing, unreadable or malformed; the message is one line."""


@dataclass(frozen=True)
class RunInfo:
    """A data set's origin: seed, span ``[start, end)`` in epoch seconds, stores."""

    seed: int
    start: int
    end: int
    stores: tuple[Store, ...]
    settings: dict[str, Any]

    @property
    def rejected_written(self) -> bool:
        """Whether the run wrote the customers turned away or giving up (``WRITE_REJECTED``)."""
        return bool(self.settings.get("write_rejected"))


def store_to_dict(store: Store) -> dict[str, Any]:
    """A store's entry: :meth:`Store.to_mapping` with the profile as TOML text (JSON has no dates)."""
    return {**store.to_mapping(), "profile": store.profile.to_toml()}


def write_manifest(
    folder: str | Path, seed: int, start: int, end: int, stores: tuple[Store, ...],
    settings: dict[str, Any],
) -> Path:
    """Write ``folder/run.json`` (atomically: a temporary name, then a rename)."""
    doc = {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "start": start,
        "end": end,
        "start_time": iso(start),
        "end_time": iso(end),
        "settings": settings,
        "stores": [store_to_dict(s) for s in stores],
    }
    path = Path(folder) / MANIFEST_NAME
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def _store_from_dict(raw: Any, where: str, version: int) -> tuple[Store, bool]:
    """A store and whether its dwell model is known.

    Version 2 holds each store in its own form. Version 1 files wrote a
    mixture dwell as ``{"shares", "bands"}`` and any other as ``null`` (a
    store only ever had one from its profile, which the profile text holds),
    and had no ``capacity_mode`` and ``patience`` (their stores queued
    without patience).
    """
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected an object")
    try:
        profile = tomllib.loads(raw["profile"])
        dwell, known = raw["dwell"], True
        if version == 1:
            dwell, known = _v1_dwell(dwell, profile)
            raw = {"capacity_mode": "queue", "patience": None, **raw}
        store = Store.from_mapping({**raw, "profile": profile, "dwell": dwell}, where)
    except KeyError as exc:
        raise ManifestError(f"{where}: missing key {exc.args[0]!r}") from None
    except (ProfileError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise ManifestError(f"{where}: {' '.join(str(exc).split())}") from None
    return store, known


def _v1_dwell(dwell: Any, profile: dict[str, Any]) -> tuple[Any, bool]:
    """A version 1 store's dwell as a table, and whether it is known (``null``: the profile's, if it has one)."""
    if dwell is None:
        return profile.get("dwell", {"kind": "default"}), "dwell" in profile
    if isinstance(dwell, dict) and "kind" not in dwell:
        return {"kind": "mixture", **dwell}, True
    return dwell, True


def run_info_of(folder: Path) -> tuple[RunInfo | None, list[str]]:
    """A data set folder's run.json, if it has one, and the notes a report gives about it."""
    if not (folder / MANIFEST_NAME).exists():
        return None, [f"No {MANIFEST_NAME} in {folder} (a data set written by an older 'simulate'?): "
                      "the figures show the data without the profile's expectation."]
    info, dwell_known = read_manifest(folder)
    if not dwell_known:
        return info, ["run.json does not describe a store's dwell model: the default one is drawn."]
    return info, []


def read_manifest(folder: str | Path) -> tuple[RunInfo, bool]:
    """Read ``folder/run.json``: the run and whether every store's dwell model is known."""
    path = Path(folder) / MANIFEST_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found (data sets written by 'foot-traffic simulate' have it)") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a run manifest (a JSON object with format_version)")
    version = doc.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ManifestError(f"{path}: format_version {version!r} is not one this version reads: expected "
                            + " or ".join(str(v) for v in READABLE_VERSIONS))
    try:
        seed, start, end = int(doc["seed"]), int(doc["start"]), int(doc["end"])
        raw_stores, settings = doc["stores"], doc["settings"]
    except KeyError as exc:
        raise ManifestError(f"{path}: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise ManifestError(f"{path}: seed, start and end must be whole numbers") from None
    if not isinstance(raw_stores, list) or not raw_stores:
        raise ManifestError(f"{path}: 'stores' must be a non-empty list")
    if end <= start:
        raise ManifestError(f"{path}: 'end' must come after 'start'")
    parsed = [_store_from_dict(s, f"{path}: stores[{i}]", version) for i, s in enumerate(raw_stores)]
    info = RunInfo(
        seed=seed, start=start, end=end, stores=tuple(s for s, _ in parsed),
        settings=settings if isinstance(settings, dict) else {},
    )
    return info, all(known for _, known in parsed)
