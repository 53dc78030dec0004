"""Profiles: the default table, labels, TOML round trip, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.profile import DEFAULT_PROFILE, WEEKDAYS, ProfileError, load_profile, profile_from_mapping


def test_default_profile_is_the_old_producers_table() -> None:
    assert DEFAULT_PROFILE.labels == (
        "00:00\u201306:59", "07:00\u201309:59", "10:00\u201313:59",
        "14:00\u201316:59", "17:00\u201319:59", "20:00\u201323:59",
    )
    assert DEFAULT_PROFILE.weights[4] == (19, 17, 25, 24, 23, 15)  # Friday
    sums = [DEFAULT_PROFILE.day_weight(d) for d in range(7)]
    assert sum(DEFAULT_PROFILE.weekday_factor(d) for d in range(7)) == pytest.approx(7)
    assert DEFAULT_PROFILE.weekday_factor(5) == pytest.approx(sums[5] / (sum(sums) / 7))


def test_slots_cover_the_day_without_gaps() -> None:
    starts, ends = DEFAULT_PROFILE.starts, DEFAULT_PROFILE.ends
    assert starts[0] == 0 and ends[-1] == 24 * 60
    assert all(e == s for e, s in zip(ends[:-1], starts[1:]))


def test_toml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(DEFAULT_PROFILE.to_toml())
    loaded = load_profile(path)
    assert loaded.starts == DEFAULT_PROFILE.starts and loaded.weights == DEFAULT_PROFILE.weights


def test_fractional_weights_and_custom_slots() -> None:
    p = profile_from_mapping({"slots": ["00:00", "09:15"], "weights": {d: [0.5, 2.25] for d in WEEKDAYS}})
    assert p.labels == ("00:00\u201309:14", "09:15\u201323:59")


@pytest.mark.parametrize("data,key", [
    ({"slots": ["00:00"], "weights": {d: [1] for d in WEEKDAYS[:-1]}}, "weights.Sunday"),
    ({"slots": ["00:00"], "weights": {**{d: [1] for d in WEEKDAYS}, "Funday": [1]}}, "weights.Funday"),
    ({"slots": ["00:00"], "weights": {**{d: [1] for d in WEEKDAYS}, "Monday": [1, 2]}}, "weights.Monday"),
    ({"slots": ["00:00"], "weights": {**{d: [1] for d in WEEKDAYS}, "Monday": [True]}}, "weights.Monday[0]"),
    ({"slots": "00:00", "weights": {}}, "slots"),
    ({"weights": {}}, "slots"),
])
def test_validation_names_the_key(data: dict, key: str) -> None:
    with pytest.raises(ProfileError, match=key.replace("[", r"\[").replace("]", r"\]")) as info:
        profile_from_mapping(data)
    assert "\n" not in str(info.value)
