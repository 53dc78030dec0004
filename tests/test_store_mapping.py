"""A store serializes itself: one mapping for run records, ``run.json`` and Dask tasks (pickles)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from producer.manifest import read_manifest, store_to_dict, write_manifest
from sim import DEFAULT_PROFILE, Store
from sim.dwell import (
    DEFAULT_DWELL,
    DwellBySlot,
    GammaDwell,
    HistogramDwell,
    LognormalDwell,
    MixtureDwell,
    UniformBand,
)
from sim.groups import Groups

ROW = (DEFAULT_DWELL,) * DEFAULT_PROFILE.n_slots
BY_SLOT = DwellBySlot(DEFAULT_DWELL, ((LognormalDwell(40, 0.3),) + ROW[1:],) + (ROW,) * 6)
STORES = [
    Store(),
    Store(store_id="rome/1", timezone="Europe/Rome", baseline=321.5, variation=0.0, multiplier=1.5,
          capacity=7, patience=90, dwell=HistogramDwell(edges=(1, 10, 60), weights=(3, 1))),
    Store(store_id="loss", daily_customers=500, capacity=3, capacity_mode="loss", dwell=GammaDwell(20, 0.4)),
    Store(store_id="groups", profile=dataclasses.replace(DEFAULT_PROFILE, groups=Groups((0.5, 0.5), 9, 0.25)),
          dwell=BY_SLOT),
    Store(store_id="mixture", dwell=MixtureDwell((0.5, 0.5), (UniformBand(5, 9), UniformBand(10, 500)))),
]


@pytest.mark.parametrize("store", STORES, ids=[s.store_id for s in STORES])
def test_a_store_comes_back_from_its_mapping_and_its_pickle(store: Store) -> None:
    assert Store.from_mapping(store.to_mapping()) == store
    assert Store.from_mapping(json.loads(json.dumps(store_to_dict(store))) | {"profile": store.profile.to_mapping()}) \
        == store
    again = pickle.loads(pickle.dumps(store))
    assert again == store and again.zone == store.zone


def test_run_json_holds_each_store_in_its_own_form(tmp_path: Path) -> None:
    write_manifest(tmp_path, 5, 0, 86_400, tuple(STORES), {})
    info, known = read_manifest(tmp_path)
    assert info.stores == tuple(STORES) and known


def test_an_older_run_json_still_reads(tmp_path: Path) -> None:
    """Before stores wrote themselves: a mixture as {shares, bands}, other models as null, no queue keys."""
    mixture = {**store_to_dict(STORES[4]), "dwell": {"shares": [0.5, 0.5], "bands": [[5, 9], [10, 500]]}}
    del mixture["capacity_mode"], mixture["patience"]
    other = {**store_to_dict(STORES[2]), "dwell": None}
    doc = {"format_version": 1, "seed": 1, "start": 0, "end": 60, "settings": {}, "stores": [mixture, other]}
    (tmp_path / "run.json").write_text(json.dumps(doc))
    info, known = read_manifest(tmp_path)
    assert info.stores[0] == STORES[4]
    assert info.stores[1].dwell == DEFAULT_DWELL and not known  # the profile holds no dwell: unknown


class OwnDwell:
    """A dwell model of a user's own (no mapping for it): a store holding it still pickles."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, 7, dtype=np.int64)

    def mean_minutes(self) -> float:
        return 7.0

    def survival(self, minutes: np.ndarray) -> np.ndarray:
        return (np.asarray(minutes) < 7).astype(float)


def test_a_store_with_a_dwell_of_its_own_still_pickles() -> None:
    store = Store(dwell=OwnDwell())  # type: ignore[arg-type]
    again = pickle.loads(pickle.dumps(store))
    assert again.store_id == store.store_id and isinstance(again.dwell, OwnDwell) and again.zone == store.zone
    assert store.longest_visit is None  # it gives no bound: runs that need one start from the start
