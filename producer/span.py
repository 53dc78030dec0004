"""A run's span: its simulated start and end, from the settings and the command's options.

Shared by ``simulate`` and ``produce`` (which must not import each other: the
live producer loads none of the offline command's stack).
"""

from __future__ import annotations

from producer.settings import SettingsError, SpanSettings
from sim.fast import DAY
from sim.limits import FIRST_DATE, FIRST_INSTANT, LAST_DATE, LAST_INSTANT, MAX_DAYS
from sim.run import to_epoch


def parse_start(settings: SpanSettings, default: int, name: str = "SIM_START") -> int:
    """The simulated start (epoch seconds); ``name`` is how the user gave it, for the message."""
    if settings.sim_start is None:
        return default
    try:
        start = to_epoch(settings.sim_start)
    except (ValueError, OverflowError):
        raise SettingsError(
            f"{name}={settings.sim_start!r} is not valid: expected a date (2025-11-03) "
            "or an ISO time in UTC (2025-11-03T08:00:00+00:00)"
        ) from None
    if not FIRST_INSTANT <= start < LAST_INSTANT:
        raise SettingsError(
            f"{name}={settings.sim_start!r} is not valid: expected a start from {FIRST_DATE} "
            f"to before {LAST_DATE} (UTC)"
        )
    return start


def parse_end(start: int, days: str | None, until: str | None, default_days: float | None) -> int | None:
    """The run's end from ``--days`` or ``--until`` (exclusive), within the supported dates."""
    if days is not None and until is not None:
        raise SettingsError("--days and --until: give one of them, not both")
    if until is not None:
        try:
            end = to_epoch(until)
        except (ValueError, OverflowError):
            raise SettingsError(f"--until={until!r} is not valid: expected a date or an ISO time") from None
        if end <= start:
            raise SettingsError(f"--until={until!r} is not valid: expected a time after the start")
        if end > LAST_INSTANT:
            raise SettingsError(f"--until={until!r} is not valid: expected a time up to {LAST_DATE} (UTC)")
        return end
    if days is None:
        return None if default_days is None else start + int(round(default_days * DAY))
    try:
        n = float(days)
        if not 0 < n <= MAX_DAYS:
            raise ValueError
    except ValueError:
        raise SettingsError(
            f"--days={days!r} is not valid: expected a number of days > 0 and <= {MAX_DAYS:,} (a hundred years)"
        ) from None
    end = start + int(round(n * DAY))
    if end > LAST_INSTANT:
        raise SettingsError(
            f"--days={days!r} is not valid: the run would end after {LAST_DATE} (UTC), the last supported date"
        )
    return end
