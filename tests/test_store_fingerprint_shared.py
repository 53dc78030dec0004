"""The run record's fingerprint of a chain: the same digest, the shared profile's mapping made once.

The fingerprint is SHA-256 of the stores' mappings as sorted-key JSON
(:func:`~producer.live.runstate.store_fingerprint`); a stored run compares it,
so it must not change. Its stores' dwell and profile mappings, most of the
cost, are made once per dwell and profile object (a chain's 10,000 stores
share one): the digest is the one of every store's own full mapping.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from producer.live.runstate import store_fingerprint
from producer.settings import Settings
from sim.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _every_mapping_made(stores: tuple[Store, ...]) -> str:
    doc = [s.to_mapping() for s in stores]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()[:32]


def test_shared_mappings_give_the_digest_of_every_store_mapped_on_its_own(tmp_path: Path) -> None:
    chain = tmp_path / "chain.toml"
    chain.write_text("".join(f'[[stores]]\nid = "s{i}"\ndaily_customers = {100 + i}\n\n' for i in range(50)))
    for path in (chain, EXAMPLES / "stores.toml", EXAMPLES / "sensor-stores.toml"):
        stores = Settings.load({"STORES": str(path)}).stores()
        assert store_fingerprint(stores) == _every_mapping_made(stores), path.name
    mixed = (Store(store_id="a"), Store(store_id="b", timezone="Europe/Rome"), Store(store_id="a"))
    assert store_fingerprint(mixed) == _every_mapping_made(mixed)


def test_a_settings_object_reads_its_stores_file_once(tmp_path: Path) -> None:
    path = tmp_path / "stores.toml"
    path.write_text('[[stores]]\nid = "a"\n')
    settings = Settings.load({"STORES": str(path)})
    first = settings.stores()
    path.write_text('[[stores]]\nid = "b"\n')
    assert settings.stores() is first
    assert [s.store_id for s in Settings.load({"STORES": str(path)}).stores()] == ["b"]
