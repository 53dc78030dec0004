"""The chain report's labelled windows: each store's scenarios (:mod:`sim.labels`) on its local clock.

The labels are a function of the run's seed, stores and span, so they come
from ``run.json`` (the same rows as the run's ``foot_traffic_labels`` file);
the page shades each window in the store's time figures. A folder without
``run.json``, or a run without scenarios, has none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from producer.manifest import RunInfo
from sim.labels import has_scenarios, run_labels
from sim.store import _utc_offsets


def store_labels(info: RunInfo | None) -> dict[str, list[dict[str, Any]]]:
    """Each store's labels as windows in local wall-clock seconds (cut to the run's span), in label order."""
    if info is None or not has_scenarios(info.stores):
        return {}
    labels = run_labels(info.seed, info.stores, info.start, info.end)
    zones = {s.store_id: s.zone for s in info.stores}
    out: dict[str, list[dict[str, Any]]] = {}
    for store_id, kind, a, b, effect, expected in zip(
            labels.store_id.tolist(), labels.kind.tolist(), labels.start.tolist(), labels.end.tolist(),
            labels.effect.tolist(), labels.expected.tolist(), strict=True):
        edges = np.array([max(a, info.start), min(b, info.end)], dtype=np.int64)
        local = edges + _utc_offsets(edges, zones[store_id])
        out.setdefault(store_id, []).append({"kind": kind, "x0": int(local[0]), "x1": int(local[1]),
                                             "effect": effect, "expected": expected})
    return out
