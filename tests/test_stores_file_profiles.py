"""A store's own profile brings its own baseline and dwell model."""

from __future__ import annotations

import os
from pathlib import Path

from producer.settings import Settings
from sim.dwell import DEFAULT_DWELL
from sim.profile import DEFAULT_PROFILE

SHOP = DEFAULT_PROFILE.to_toml().replace('name = "default"', 'name = "shop"\nbaseline = 300') + (
    '\n[dwell]\nkind = "lognormal"\nmedian = 25\nspread = 0.6\n'
)


def _stores(tmp_path: Path, env: dict[str, str]) -> dict[str, object]:
    (tmp_path / "shop.toml").write_text(SHOP)
    (tmp_path / "stores.toml").write_text(
        '[[stores]]\nid = "a"\nprofile = "shop.toml"\n\n'
        '[[stores]]\nid = "b"\nprofile = "shop.toml"\nbaseline = 50\n\n'
        '[[stores]]\nid = "c"\n'
    )
    settings = Settings.load({**env, "STORES": str(tmp_path / "stores.toml")})
    return {s.store_id: s for s in settings.stores()}


def test_own_profile_baseline_and_dwell_apply_unless_the_store_says_otherwise(tmp_path: Path) -> None:
    stores = _stores(tmp_path, {})
    a, b, c = stores["a"], stores["b"], stores["c"]
    assert a.baseline == 300 and type(a.dwell).__name__ != type(DEFAULT_DWELL).__name__  # type: ignore[attr-defined]
    assert b.baseline == 50 and b.dwell == a.dwell  # type: ignore[attr-defined]
    assert c.baseline == 1000 and c.dwell is DEFAULT_DWELL  # type: ignore[attr-defined]


def test_base_daily_customers_wins_over_a_profiles_baseline(tmp_path: Path) -> None:
    stores = _stores(tmp_path, {"BASE_DAILY_CUSTOMERS": "700"})
    assert stores["a"].baseline == 700 and stores["b"].baseline == 50  # type: ignore[attr-defined]
    assert "BASE_DAILY_CUSTOMERS" not in os.environ
