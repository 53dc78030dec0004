"""The settings' error, in a module of its own.

:mod:`producer.settings` and :mod:`producer.stores_file` (which
``Settings.stores()`` calls) both raise it; here, neither imports the other
for it.
"""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting's value is malformed; the message is one line."""
