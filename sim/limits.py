"""The documented range of every number the simulator accepts, declared once.

Settings, profile files and stores files all read their numbers through a
:class:`Range` from here, so a value outside what the engine can do (a
daily mean that would ask numpy for a terabyte, a patience that overflows
when turned into seconds, a spread whose square underflows to zero) is a
one-line error naming the key before any work starts, never a crash deep in
numpy. The README's settings table, ``docs/profiles.md`` and
``docs/stores.md`` state the same ranges.

Why these bounds:

- **customers per day** (a baseline, a fixed total, a capacity, and the
  busiest day's expected customers once weekday, multiplier, calendar and
  variation are applied): at most 20 million per store. A store's day is
  drawn in one batch, about 200 bytes per customer at the peak of the draw
  (measured: 2 million customers, 410 MB, 2.5 s), so 20 million is about
  4 GB and half a minute per day; the busiest real stores see a few hundred
  thousand a day.
- **multipliers** (``TRAFFIC_MULTIPLIER``, special days, seasonality): up
  to 1,000; **weights** (relative shares): up to 10^9.
- **dwell**: ``median`` 1 to 1,440 minutes, ``spread`` 0.01 to 2, bins and
  bands whole minutes 1 to 10,080 (a week); **patience** up to 10,080 minutes.
- **dates**: a run lies within 1900-01-01 .. 3000-01-01 (UTC), so every
  local day of every time zone is a valid date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


@dataclass(frozen=True)
class Range:
    """A closed (or left-open) interval of accepted numbers, whole or not.

    ``what`` names the quantity in messages ("customers per day"). Booleans,
    NaN and infinities are never numbers here.
    """

    low: float
    high: float
    whole: bool = False
    open_low: bool = False
    what: str = ""

    def accepts(self) -> str:
        """What the range accepts, in words: ``a whole number from 0 to 20,000,000``."""
        kind = "a whole number" if self.whole else "a number"
        if self.open_low:
            text = f"{kind} > {_fmt(self.low)} and <= {_fmt(self.high)}"
        else:
            text = f"{kind} from {_fmt(self.low)} to {_fmt(self.high)}"
        return f"{text} ({self.what})" if self.what else text

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.whole and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if value < self.low or (self.open_low and value == self.low):
            return False
        return bool(value <= self.high)

    def check(self, value: Any, key: str, error: type[ValueError] = ValueError) -> Any:
        """``value`` if it is in the range, else ``error`` with one line naming ``key``."""
        if not self.contains(value):
            raise error(f"{key}: {_short(value)} is not valid; expected {self.accepts()}")
        return int(value) if self.whole else float(value)

    def parse(self, text: str) -> Any:
        """A number from text (a setting's value); ValueError if malformed or out of range."""
        word = text.strip()
        value: Any = int(word) if self.whole else float(word)
        if not self.contains(value):
            raise ValueError
        return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: Customers per day of one store: a baseline, a fixed total, the busiest day's mean.
CUSTOMERS_PER_DAY = Range(0, 20_000_000, what="customers per day")
#: The same, whole (a fixed daily total).
WHOLE_CUSTOMERS_PER_DAY = Range(0, 20_000_000, whole=True, what="customers per day")
#: Most customers inside at once.
CAPACITY = Range(1, 20_000_000, whole=True, what="customers inside at once")
#: TRAFFIC_MULTIPLIER, a store's multiplier, a special day's multiplier, a month's seasonality.
MULTIPLIER = Range(0, 1_000, what="a multiplier")
#: A slot's or a histogram bin's relative weight.
WEIGHT = Range(0, 1e9, what="a relative weight")
#: Day-to-day variation, a fraction of the daily mean.
FRACTION = Range(0, 1)
#: A queued customer's patience.
PATIENCE_MINUTES = Range(0, 10_080, open_low=True, what="minutes; 10,080 is a week")
#: A lognormal or gamma dwell's median.
DWELL_MEDIAN = Range(1, 1_440, what="minutes")
#: A lognormal or gamma dwell's coefficient of variation.
DWELL_SPREAD = Range(0.01, 2, what="standard deviation / mean")
#: Histogram edges and mixture bands.
DWELL_MINUTES = Range(1, 10_080, whole=True, what="whole minutes; 10,080 is a week")
#: A mixture's share of one band.
SHARE = Range(0, 1)

#: A run lies within [FIRST_INSTANT, LAST_INSTANT] (UTC).
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(3000, 1, 1)
FIRST_INSTANT = int(dt.datetime(1900, 1, 1, tzinfo=dt.UTC).timestamp())
LAST_INSTANT = int(dt.datetime(3000, 1, 1, tzinfo=dt.UTC).timestamp())
#: The longest run --days accepts: a hundred years.
MAX_DAYS = 36_525


class TrafficError(ValueError):
    """A store's combined daily mean is beyond what can be drawn; one line."""


def check_window(start: int, end: int) -> None:
    """A run's ``[start, end)`` must lie within the supported dates (ValueError, one line)."""
    if not FIRST_INSTANT <= start <= LAST_INSTANT:
        raise ValueError(
            f"the run's start is outside the supported dates; expected a start from {FIRST_DATE} to {LAST_DATE} (UTC)"
        )
    if end > LAST_INSTANT:
        raise ValueError(f"the run ends after {LAST_DATE} (UTC), the last supported date; shorten it")


def check_daily_mean(mean: float, where: str, formed: str = "the day's mean") -> None:
    """The combined expected customers of a day must fit :data:`CUSTOMERS_PER_DAY`.

    ``where`` (may be empty) starts the message, ``formed`` says how the mean was made.
    """
    if not (math.isfinite(mean) and mean <= CUSTOMERS_PER_DAY.high):
        raise TrafficError(
            f"{where + ': ' if where else ''}{formed} comes to {f'{mean:,.0f}' if mean < 1e15 else f'{mean:g}'} expected customers "
            f"in a day, more than {_fmt(CUSTOMERS_PER_DAY.high)}, the most one store's day can hold "
            "(a day is drawn at once); lower the baseline, the multipliers or the calendar's factors"
        )

#: A group's size (people arriving together).
GROUP_SIZE = Range(1, 50, whole=True, what="people in a group")
#: How far apart a group's members enter, at most.
GROUP_SPREAD_SECONDS = Range(0, 600, whole=True, what="seconds; 600 is ten minutes")
#: A probability (a group leaving together, a sensor's miss rate ...).
PROBABILITY = Range(0, 1, what="a probability")
#: A sensor's delivery delay median (seconds; 0: delivered at once).
DELAY_SECONDS = Range(0, 3_600, what="seconds; 3,600 is an hour")
#: A lognormal delay's sigma (the standard deviation of its log).
DELAY_SIGMA = Range(0, 3, what="the standard deviation of log(delay)")
#: Sensor outages a day, on average.
OUTAGES_PER_DAY = Range(0, 100, what="outages per day")
#: An outage's mean duration (exponential, cut at a day).
OUTAGE_MINUTES = Range(0, 1_440, open_low=True, what="minutes; 1,440 is a day")
#: The interval of a counter's counts.
COUNT_INTERVAL_MINUTES = Range(1, 1_440, whole=True, what="whole minutes; 1,440 is a day")
