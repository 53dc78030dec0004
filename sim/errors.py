"""The engine's configuration error.

:class:`ProfileError` lives in its own module so that the profile, calendar
and dwell parsers can all raise it without importing one another.
"""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile is malformed; the message is one line naming the key."""
