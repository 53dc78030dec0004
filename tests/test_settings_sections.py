"""The settings are declared once, in sections grouped by what uses them.

Each setting belongs to exactly one section; a :class:`Settings` is every
section at once, so a module that needs one section takes that section's
type and is handed the whole settings; the lists of settings a command or
a run's identity uses come from the sections.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from producer.live.runstate import RUN_SETTINGS
from producer.settings import (
    SECTIONS,
    SENSOR_SETTINGS,
    SPECS,
    TRAFFIC_SETTINGS,
    Settings,
    SettingsError,
    TrafficSettings,
    section_names,
)


def test_every_setting_is_in_exactly_one_section() -> None:
    declared = [name for section in SECTIONS for name in section_names(section)]
    assert sorted(declared) == sorted(SPECS)
    assert len(declared) == len(set(declared))
    assert {f.name for f in fields(Settings)} == set(SPECS)


def test_settings_are_each_section() -> None:
    settings = Settings.load({})
    for section in SECTIONS.values():
        assert isinstance(settings, section)
        for name in (f.name for f in fields(section)):
            assert getattr(settings, name) == SPECS[name].default, name


def test_the_lists_come_from_the_sections() -> None:
    assert TRAFFIC_SETTINGS == section_names("traffic")
    assert SENSOR_SETTINGS == section_names("sensor") == ("sensor", "count_interval")
    assert set(RUN_SETTINGS) == set(TRAFFIC_SETTINGS) - {"seed"}  # a run's identity: its traffic, and its seed


def test_the_help_sections_are_the_settings_sections() -> None:
    from producer.options import SECTIONS as HELP

    titles = {"traffic": "Traffic", "sensor": "Door sensor", "feeds": "Counter feeds", "webhook": "Webhook",
              "redis": "Redis", "cluster": "Redis Cluster",
              "clock": "Clock", "lease": "Lease", "metrics": "Metrics and logs"}
    for section, title in titles.items():
        assert HELP[title] == section_names(section), title
    assert set(section_names("span")) <= set(HELP["Span"])
    assert "clock_max_jump" in HELP["Clock"]  # once listed under "Options": the list was written by hand


def test_a_traffic_section_alone_checks_itself() -> None:
    """A module given only the traffic section (the chain report rebuilding a live run's stores) gets the
    same one-line check as the whole settings."""
    defaults = {name: SPECS[name].default for name in TRAFFIC_SETTINGS}
    assert TrafficSettings(**defaults).stores() == Settings.load({}).stores()
    with pytest.raises(SettingsError, match="PATIENCE_MINUTES=5 needs STORE_CAPACITY"):
        TrafficSettings(**defaults | {"patience_minutes": 5.0})
    with pytest.raises(SettingsError, match="PATIENCE_MINUTES=5 needs STORE_CAPACITY"):
        Settings.load({"PATIENCE_MINUTES": "5"})
