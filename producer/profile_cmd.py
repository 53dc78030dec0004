"""``foot-traffic profile``: fit a profile to observed traffic, show a profile.

``profile fit`` reads observed entries (or hourly counts) and, optionally,
visit durations, and writes a profile TOML file: slot weights per weekday,
the daily baseline and a dwell model (the maths is in :mod:`sim.fit`).
``profile show`` prints a profile with its expected customers per slot and
day, for a typical week or for a given calendar week.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from producer.options import GroupedCommand, fail, friendly_errors, load_settings, settings_options
from producer.settings import TrafficSettings
from sim.calendar import Calendar
from sim.dwell import DEFAULT_DWELL, Dwell, DwellBySlot, GammaDwell, HistogramDwell, LognormalDwell
from sim.extras import need
from sim.fit import DWELL_KINDS, FitError, WeeklyFit, build_profile, day_slot_counts, fit_dwell, fit_weekly
from sim.fit_calendar import DEFAULT_LEVEL, CalendarFit, fit_calendar
from sim.fit_days import LocalDays, days_with_every_hour, local_days, whole_days
from sim.limits import FIRST_DATE, LAST_DATE
from sim.profile import DEFAULT_SLOTS, WEEKDAYS, Profile, ProfileError, load_profile, parse_slot_starts
from sim.sampling import expected_counts
from sim.store import Store

if TYPE_CHECKING:
    from producer.observed import Observed  # pyarrow: the fit extra, imported when fitting

#: A week without daylight-saving changes, Monday first, for the typical week.
_TYPICAL_MONDAY = dt.date(2024, 1, 1)


@click.group()
def profile() -> None:
    """Fit a traffic profile to observed data, or show one."""


def _slots(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "hourly":
        return tuple(range(0, 24 * 60, 60))
    try:
        return parse_slot_starts([s.strip() for s in text.split(",")], "--slots")
    except ProfileError as exc:
        raise click.BadParameter(str(exc)) from None


def _date(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).toordinal()
    except ValueError:
        fail(f"{option}={text!r} is not valid: expected a date like 2025-01-31")


def _whole_number(text: str, option: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        fail(f"{option}={text!r} is not valid: expected a whole number from {lo} to {hi}")
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        fail(f"--level={text!r} is not valid: expected a significance level between 0 and 1 (exclusive), e.g. 0.01")
    return value


@profile.command(cls=GroupedCommand)
@click.argument("observed", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="profile file to write (TOML)")
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
@click.option("--timezone", default="UTC", show_default=True, help="the store's IANA time zone")
@click.option("--time-column", default=None, metavar="NAME", help="column of entry (or hour) times")
@click.option("--count-column", default=None, metavar="NAME",
              help="column of hourly counts (default: 'count' if there is one; else one row per entry)")
@click.option("--slots", "slot_text", default=",".join(DEFAULT_SLOTS), show_default=True,
              metavar="HH:MM,...|hourly", help="slot starts of the profile to fit")
@click.option("--durations", default=None, type=click.Path(dir_okay=False),
              help="file of observed visit durations [default: OBSERVED, if it has the column]")
@click.option("--duration-column", default="trip_duration_minutes", show_default=True, metavar="NAME")
@click.option("--dwell", "dwell_kind", default="lognormal", show_default=True,
              type=click.Choice([*DWELL_KINDS, "none"]), help="dwell model to fit ('none': leave it out)")
@click.option("--bin-width", "bin_text", default="5", show_default=True, metavar="MINUTES",
              help="histogram bin width in whole minutes, 1 to 1440 (--dwell histogram)")
@click.option("--first-day", default=None, metavar="DATE",
              help="first local day to use [default: the first whole local day of the data]")
@click.option("--last-day", default=None, metavar="DATE",
              help="last local day to use [default: the last whole local day of the data]")
@click.option("--calendar", "with_calendar", is_flag=True,
              help="also fit closures, special days and monthly seasonality")
@click.option("--level", "level_text", default=str(DEFAULT_LEVEL), show_default=True, metavar="P",
              help="--calendar: family-wise significance level (0 < P < 1) of the special-day tests, "
              "Bonferroni-corrected over the days (and of the seasonality test)")
@click.option("--name", default="fitted", show_default=True, help="the profile's name")
@click.option("--plot", default=None, type=click.Path(dir_okay=False), metavar="FILE.png",
              help="also draw the observed data beside the fitted profile there (needs the report extra)")
@friendly_errors
def fit(observed: str, out: str, force: bool, timezone: str, time_column: str | None, count_column: str | None,
        slot_text: str,
        durations: str | None, duration_column: str, dwell_kind: str, bin_text: str,
        first_day: str | None, last_day: str | None, with_calendar: bool, level_text: str, name: str,
        plot: str | None) -> None:
    """Fit a profile to OBSERVED entries (CSV, Parquet or JSONL) and write it to --out.

    OBSERVED holds one row per entry (a sessions or door-events file of a
    simulate run will do) or hourly counts (a 'count' column). Only whole
    local days are fitted: with UTC times the data are taken to cover whole
    UTC days, and a local day that sticks out of them is dropped; with hourly
    counts a day needs a row for each of its hours. Daylight-saving days count
    as the 23- or 25-hour days they are.

    With --calendar, days without any entry on an open weekday are written as
    closures; a day whose total or whose split over the slots departs from
    its weekday at the --level (family-wise over all days, Bonferroni: each
    day's two tests at level / (2 x days)) is written as [[special]] with its
    multiplier, restricted to the slots that depart when the rest of the day
    is ordinary; monthly seasonality is written when every month has 28 whole
    days and the months differ at --level.
    """
    need("pyarrow", "foot-traffic profile fit", "fit")  # reading observed files; not in the base install
    from producer.observed import ObservedError, read_observed

    starts = _slots(slot_text)
    bin_width = _whole_number(bin_text, "--bin-width", 1, 1440)
    level = _level(level_text)
    if Path(out).exists() and not force:
        fail(f"--out {out!r} exists; pass --force to overwrite it")
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        fail(f"--timezone={timezone!r} is not valid: expected an IANA time zone like Europe/Rome")
    try:
        obs = read_observed(observed, timezone, time_column, count_column)
        if obs.hourly and any(s % 60 for s in starts):
            fail("--slots: hourly counts need slots that start on whole hours")
        first = _date(first_day, "--first-day") or int(obs.day.min())
        last = _date(last_day, "--last-day") or int(obs.day.max())
        if last < first:
            fail("--last-day comes before --first-day")
        days = local_days(starts, timezone, first, last)
        whole = _whole(obs, days, first, last)
        if not whole.any():
            raise FitError("no whole local day in the data to fit")
        minutes = _minutes(observed, durations, duration_column, dwell_kind)
        counts = day_slot_counts(obs.day, obs.minute, starts, first, last, obs.weight)
        dwell = None if minutes is None else fit_dwell(minutes, dwell_kind, bin_width)
        cal = fit_calendar(counts, first, days.ratios, whole, level) if with_calendar else None
        weekly = cal.weekly if cal is not None else fit_weekly(counts, first, days.ratios, whole)
        fitted = build_profile(weekly, starts, name, None if cal is None else cal.calendar, dwell)
    except (ObservedError, FitError) as exc:
        fail(str(exc))
    _write_profile(out, fitted)
    _echo_fitted(out, fitted, weekly, counts, whole, first, obs.hourly)
    if cal is not None:
        _echo_calendar(cal, fitted.slot_names)
    if plot is not None:
        _write_plot(plot, counts, first, whole, fitted, minutes, dwell)


def _minutes(observed: str, durations: str | None, duration_column: str, dwell_kind: str) -> np.ndarray | None:
    """The observed visit durations to fit the dwell to: --durations FILE, else OBSERVED's column (when it
    has one, or when --dwell was given: then it must); ``None`` for ``--dwell none`` or no durations."""
    from producer.observed import read_durations

    if dwell_kind == "none":
        return None
    if durations is not None:
        return read_durations(durations, duration_column)
    minutes = read_durations(observed, duration_column, required=False)
    source = click.get_current_context().get_parameter_source("dwell_kind")
    if minutes is None and source is not click.core.ParameterSource.DEFAULT:
        fail(f"--dwell {dwell_kind} needs visit durations: a column {duration_column!r} in {observed} "
             "(see --duration-column) or a --durations FILE; pass --dwell none to leave the dwell out")
    return minutes


def _write_profile(out: str, fitted: Profile) -> None:
    """Write the fitted profile to ``out`` (a temporary name, then a rename: nothing half-written is left)."""
    tmp = Path(out).with_name(Path(out).name + ".partial")
    try:
        tmp.write_text(fitted.to_toml(), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing half-written is left behind
            tmp.unlink(missing_ok=True)
        fail(f"--out {out!r}: cannot write the profile there: {exc.strerror or type(exc).__name__}", 1)


def _echo_fitted(out: str, fitted: Profile, weekly: WeeklyFit, counts: np.ndarray, whole: np.ndarray, first: int,
                 hourly: bool) -> None:
    """What was fitted from which days, and the partial days dropped."""
    used = counts[whole].sum()
    kept = np.flatnonzero(whole)
    click.echo(
        f"fitted {out} from {used:,.0f} entries on {int(whole.sum())} whole local days "
        f"({dt.date.fromordinal(first + int(kept[0]))} to {dt.date.fromordinal(first + int(kept[-1]))}, "
        f"{weekly.closed_days} without any entry left out; {_weekdays_seen(weekly.days_per_weekday)}): "
        f"baseline {fitted.baseline:,.1f}/day, dwell "
        + ("default (no durations)" if fitted.dwell is None else _dwell_text(fitted))
    )
    dropped = [dt.date.fromordinal(first + int(i)).isoformat() for i in np.flatnonzero(~whole)]
    if dropped:
        shown = ", ".join(dropped[:10]) + (f" and {len(dropped) - 10} more" if len(dropped) > 10 else "")
        why = "missing hours" if hourly else "not wholly inside the data's UTC days"
        click.echo(f"dropped {len(dropped)} partial local day{'s' if len(dropped) > 1 else ''} ({why}): {shown}")


def _write_plot(plot: str, counts: np.ndarray, first: int, whole: np.ndarray, fitted: Profile,
                minutes: np.ndarray | None, dwell: Dwell | None) -> None:
    """``--plot``: the observed data beside the fitted profile, as a PNG (one line, exit 1, if it cannot be written)."""
    need("matplotlib", "foot-traffic profile fit --plot", "report")
    from producer.fit_plot import fit_png

    try:
        Path(plot).write_bytes(fit_png(counts, first, whole, fitted, minutes, dwell))
    except OSError as exc:
        fail(f"--plot {plot!r}: cannot write the figure there: {exc.strerror or type(exc).__name__}", 1)
    click.echo(f"plot -> {plot}")


def _weekdays_seen(per_weekday: Sequence[int]) -> str:
    """``each weekday seen once``, ``... 4 times``, ``... 4 or 5 times``, ``... 1 to 3 times``."""
    low, high = min(per_weekday), max(per_weekday)
    if low == high:
        return f"each weekday seen {'once' if low == 1 else f'{low} times'}"
    return f"each weekday seen {low} {'or' if high == low + 1 else 'to'} {high} times"


def _whole(obs: Observed, days: LocalDays, first: int, last: int) -> np.ndarray:
    """Which local days ``first..last`` the data cover entirely."""
    if obs.hourly:
        return days_with_every_hour(days, obs.rows_per_day(first, last))
    span = obs.utc_day_span()
    if span is None:  # local wall times: every day from the first to the last is taken as whole
        return np.ones(last - first + 1, bool)
    return whole_days(days, *span)


def _echo_calendar(cal: CalendarFit, slot_names: tuple[str, ...]) -> None:
    z = NormalDist().inv_cdf(1 - cal.level / (4 * cal.tested_days))
    click.echo(
        f"calendar: {len(cal.calendar.closures)} closure(s), {len(cal.specials)} special day entr"
        f"{'y' if len(cal.specials) == 1 else 'ies'} (level {cal.level:g} over {cal.tested_days} days: "
        f"|z| > {z:.2f} on the day's total, or its slot split); day-to-day dispersion {cal.dispersion:.4f}"
    )
    for f in cal.specials:
        s = f.special
        where = "whole day" if s.slots is None else "slots " + ",".join(slot_names[i] for i in s.slots)
        click.echo(f"  special {s.date} ({where}): x{s.multiplier:g} +- {f.se:.3f} (day total z = {f.total_z:+.1f})")
    click.echo(cal.season.reason)


def _describe(d: Dwell) -> str:
    if d == DEFAULT_DWELL:
        return "the default mixture"
    if isinstance(d, (LognormalDwell, GammaDwell)):
        kind = "lognormal" if isinstance(d, LognormalDwell) else "gamma"
        return f"{kind} median {d.median:g} min, spread {d.spread:g}"
    if isinstance(d, HistogramDwell):
        return f"histogram of {len(d.weights)} bins, {d.edges[0]}-{d.edges[-1] - 1} min"
    if isinstance(d, DwellBySlot):
        return f"by slot, otherwise {_describe(d.default)}"
    return type(d).__name__


def _dwell_text(p: Profile) -> str:
    d = p.dwell_model()
    return f"{_describe(d)} (mean {d.mean_minutes():.1f} min)"


def _week(profile_: Profile, week: str | None) -> tuple[Profile, list[dt.date]]:
    if week is None:
        plain = dataclasses.replace(profile_, calendar=Calendar())
        return plain, [_TYPICAL_MONDAY + dt.timedelta(days=i) for i in range(7)]
    try:
        start = dt.date.fromisoformat(week)
    except ValueError:
        fail(f"--week={week!r} is not valid: expected a date like 2025-12-22")
    if not FIRST_DATE <= start <= LAST_DATE - dt.timedelta(days=7):
        fail(f"--week={week!r} is not valid: expected a date from {FIRST_DATE} to {LAST_DATE - dt.timedelta(days=7)}")
    return profile_, [start + dt.timedelta(days=i) for i in range(7)]


@profile.command(cls=GroupedCommand)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--week", default=None, metavar="DATE",
              help="show the 7 days from DATE with the profile's calendar [default: a typical week, no calendar]")
@settings_options(("profile_file", "default_daily_customers", "base_daily_customers",
                   "daily_customers", "traffic_multiplier"))
@friendly_errors
def show(file: str | None, week: str | None, **options: Any) -> None:
    """Print a profile (FILE, else PROFILE_FILE, else the default) with expected customers per slot and day."""
    settings = load_settings(options)
    show_profile(file, week, settings)  # its traffic section


def show_profile(file: str | None, week: str | None, traffic: TrafficSettings) -> None:
    """``profile show``: the profile's expected customers per slot and day, then what shapes it."""
    prof = load_profile(file) if file is not None else traffic.profile()
    shown, days = _week(prof, week)
    store = Store(profile=shown, baseline=traffic.baseline_for(prof), daily_customers=traffic.daily_customers,
                  variation=0.0, multiplier=traffic.traffic_multiplier)
    columns = [expected_counts(store, store.day_plan(day)) for day in days]
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    title = f"profile {prof.name!r}" + (f" ({file})" if file else "")
    table = Table(title=title, caption="expected customers per slot and day")
    table.add_column("slot")
    for day in days:
        table.add_column(WEEKDAYS[day.weekday()][:3] + ("" if week is None else f" {day:%m-%d}"), justify="right")
    for i, label in enumerate(prof.labels):
        table.add_row(label, *[f"{c[i]:.1f}" for c in columns])
    table.add_section()
    table.add_row("day", *[f"{c.sum():.1f}" for c in columns])
    console.print(table)
    total = sum(float(c.sum()) for c in columns)
    console.print(f"week total {total:.1f}; baseline {store.baseline:g}/day (from {_baseline_from(traffic, prof)}), "
                  f"multiplier {store.multiplier:g}; dwell {_dwell_text(prof)}", highlight=False)
    if not prof.calendar.is_empty and week is None:
        console.print("the profile has a calendar; pass --week DATE to see it applied", highlight=False)
    for line in _layers_text(prof, total):
        console.print(line, highlight=False)


def _baseline_from(traffic: TrafficSettings, prof: Profile) -> str:
    """Which setting (or the profile) the baseline comes from."""
    if traffic.daily_customers is not None:
        return "DAILY_CUSTOMERS"
    if traffic.base_daily_customers is not None:
        return "BASE_DAILY_CUSTOMERS"
    return "profile" if prof.baseline is not None else "DEFAULT_DAILY_CUSTOMERS"


def _layers_text(prof: Profile, total: float) -> list[str]:
    """A line for each of the profile's groups and sensor, when it has them."""
    lines = []
    if prof.groups is not None:
        g = prof.groups
        lines.append(f"groups: mean size {g.mean():.2f} (about {total / g.mean():.1f} groups a week), "
                     f"members enter within {g.spread} s, {g.together:.0%} leave together; "
                     f"people per slot have variance/mean {g.second_moment() / g.mean():.2f}")
    if prof.sensor is not None:
        n = prof.sensor
        lines.append(f"sensor: misses in/out {n.miss_in:g}/{n.miss_out:g}, double counts in/out "
                     f"{n.double_in:g}/{n.double_out:g}, delay median {n.delay_median:g} s (sigma {n.delay_sigma:g}), "
                     f"duplicates {n.duplicate:g}, {n.outages_per_day:g} outages a day of {n.outage_minutes:g} min "
                     f"({n.outage_mode}); see docs/sensors.md")
    return lines
