"""Ground truth: every scenario that happens in a run, as a label with its expected effect.

:func:`run_labels` lists, store by store (in the run's order) and then in
:attr:`~sim.scenario_draw.Occurrence.order`, each occurrence whose window meets
the run's span: the store, the kind, the window (``start``, ``end``: the
occurrence's own, even where the run cuts it), the parameters (a JSON object
as text) and the expected effect, from the profile's rates over the part of
the window inside the run (:mod:`sim.expect`, as if no other scenario acted):

=================  ======================  ===============================================
kind               ``effect``              ``expected``
=================  ======================  ===============================================
surge              ``extra_visitors``      (factor - 1) x the expected arrivals in the window
early_closure      ``visitors_kept_out``   the expected arrivals from its start to the day's end
door_blocked       ``uncounted_entries``   the expected entries (``in``) or exits (``out``)
                   / ``uncounted_exits``   in the window
counter_offline    ``crossings_offline``   the expected entries and exits in the window
slow_checkout      ``visitors_slowed``     the expected arrivals in the window
=================  ======================  ===============================================

A pure function of the seed, the stores and the span: a plain run, a
partitioned one and a Dask run write the same labels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import orjson

from sim.batch import ColumnTable
from sim.expect import MAX_DWELL_MINUTES, RateCurve, expected_occupancy, rate_curve
from sim.scenario_draw import Occurrence, occurrences
from sim.scenarios import SENSOR_KINDS
from sim.store import Store
from sim.wire import iso

#: The labels' columns, in the order every format writes them.
LABEL_COLUMNS = ("store_id", "kind", "start", "end", "parameters", "effect", "expected")
#: Expected effects are rounded to this many decimals (a count of people: the rest is noise in every format).
DECIMALS = 4
DAY = 86_400


@dataclass
class LabelColumns(ColumnTable):
    """Labels in the order :func:`run_labels` gives them."""

    store_id: np.ndarray  #: object
    kind: np.ndarray  #: object
    start: np.ndarray  #: epoch seconds (int64)
    end: np.ndarray  #: epoch seconds (int64), exclusive
    parameters: np.ndarray  #: object: JSON text, keys sorted
    effect: np.ndarray  #: object: what ``expected`` counts
    expected: np.ndarray  #: float64

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def json_lines(self) -> list[bytes]:
        """Each label's JSON: the columns, times as ISO strings (UTC)."""
        return [orjson.dumps(dict(zip(LABEL_COLUMNS, row, strict=True))) for row in self.rows()]

    def rows(self) -> Iterator[tuple[str, str, str, str, str, str, float]]:
        """Each label's values as written in text formats (times as ISO strings)."""
        for s, k, a, b, p, e, x in zip(self.store_id.tolist(), self.kind.tolist(), self.start.tolist(),
                                       self.end.tolist(), self.parameters.tolist(), self.effect.tolist(),
                                       self.expected.tolist(), strict=True):
            yield s, k, iso(a), iso(b), p, e, x

    @staticmethod
    def empty() -> LabelColumns:
        return _columns([])


def _objects(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _columns(rows: list[tuple[str, str, int, int, str, str, float]]) -> LabelColumns:
    cols = list(zip(*rows)) if rows else [()] * len(LABEL_COLUMNS)
    return LabelColumns(
        store_id=_objects(list(cols[0])), kind=_objects(list(cols[1])),
        start=np.array(cols[2], dtype=np.int64), end=np.array(cols[3], dtype=np.int64),
        parameters=_objects(list(cols[4])), effect=_objects(list(cols[5])),
        expected=np.array(cols[6], dtype=np.float64),
    )


def has_scenarios(stores: Sequence[Store]) -> bool:
    """Whether any store has a scenario (a run without any writes no labels)."""
    return any(s.profile.scenarios or s.scenarios for s in stores)


def sensor_scenario(stores: Sequence[Store]) -> tuple[str, str] | None:
    """The first store with a scenario acting on the door sensor, and its kind (None: no such store)."""
    for store in stores:
        for scenario in (*store.profile.scenarios, *store.scenarios):
            if scenario.kind in SENSOR_KINDS:
                return store.store_id, scenario.kind
    return None


def expected_effect(store: Store, occ: Occurrence, start: int, end: int,
                    curve: RateCurve | None = None) -> tuple[str, float]:
    """What ``occ`` is expected to change in a run of ``store`` over ``[start, end)``: a name and a number.

    ``curve``: the store's :func:`~sim.expect.rate_curve` over the run, if made already.
    """
    a, b = max(occ.start, start), min(occ.end, end)
    if b <= a:
        return _NAMES[occ.kind], 0.0
    entries = float((curve or rate_curve(store, start, end)).between(a, b))
    if occ.kind in ("door_blocked", "counter_offline"):
        # Customers inside at a or b arrived at most the longest dwell the expectation counts before.
        since = max(start, a - 60 * MAX_DWELL_MINUTES - DAY)
        inside = expected_occupancy(store, np.array([a, b], dtype=float), since, end)
        exits = entries - float(inside[1] - inside[0])
        if occ.kind == "counter_offline":
            return "crossings_offline", round(entries + exits, DECIMALS)
        if occ.scenario.direction == "out":
            return "uncounted_exits", round(exits, DECIMALS)
        return "uncounted_entries", round(entries, DECIMALS)
    if occ.kind == "surge":
        return "extra_visitors", round(((occ.scenario.factor or 1.0) - 1) * entries, DECIMALS)
    return _NAMES[occ.kind], round(entries, DECIMALS)


_NAMES = {"surge": "extra_visitors", "early_closure": "visitors_kept_out", "door_blocked": "uncounted_entries",
          "counter_offline": "crossings_offline", "slow_checkout": "visitors_slowed"}


def run_labels(seed: int, stores: Sequence[Store], start: int, end: int) -> LabelColumns:
    """Every occurrence of every store's scenarios that meets ``[start, end)``, as labels."""
    rows = []
    for store in stores:
        if not (store.profile.scenarios or store.scenarios):
            continue
        curve = rate_curve(store, start, end)
        for occ in occurrences(seed, store, start, end):
            effect, expected = expected_effect(store, occ, start, end, curve)
            params = orjson.dumps(occ.scenario.parameters, option=orjson.OPT_SORT_KEYS).decode()
            rows.append((store.store_id, occ.kind, occ.start, occ.end, params, effect, expected))
    return _columns(rows)
