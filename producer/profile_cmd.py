"""``foot-traffic profile``: fit a profile to observed traffic, show a profile.

``profile fit`` reads observed entries (or hourly counts) and, optionally,
visit durations, and writes a profile TOML file: slot weights per weekday,
the daily baseline and a dwell model (the maths is in :mod:`sim.fit`).
``profile show`` prints a profile with its expected customers per slot and
day, for a typical week or for a given calendar week.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from producer.options import fail, friendly_errors, load_settings, settings_options
from sim.calendar import Calendar
from sim.dwell import DEFAULT_DWELL, Dwell, DwellBySlot, GammaDwell, HistogramDwell, LognormalDwell
from sim.extras import need
from sim.fit import DWELL_KINDS, FitError, day_slot_counts, fit_profile
from sim.profile import DEFAULT_SLOTS, WEEKDAYS, Profile, ProfileError, load_profile, parse_slot_starts
from sim.sampling import expected_counts
from sim.store import Store

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


@profile.command()
@click.argument("observed", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="profile file to write (TOML)")
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
@click.option("--timezone", default="UTC", show_default=True, help="the store's IANA time zone")
@click.option("--time-column", default=None, metavar="NAME", help="column of entry (or hour) times")
@click.option("--slots", "slot_text", default=",".join(DEFAULT_SLOTS), show_default=True,
              metavar="HH:MM,...|hourly", help="slot starts of the profile to fit")
@click.option("--durations", default=None, type=click.Path(dir_okay=False),
              help="file of observed visit durations [default: OBSERVED, if it has the column]")
@click.option("--duration-column", default="trip_duration_minutes", show_default=True, metavar="NAME")
@click.option("--dwell", "dwell_kind", default="lognormal", show_default=True,
              type=click.Choice([*DWELL_KINDS, "none"]), help="dwell model to fit ('none': leave it out)")
@click.option("--bin-width", default=5, show_default=True, type=click.IntRange(1, 1440),
              help="histogram bin width in minutes (--dwell histogram)")
@click.option("--first-day", default=None, metavar="DATE", help="first local day to use [default: the first seen]")
@click.option("--last-day", default=None, metavar="DATE", help="last local day to use [default: the last seen]")
@click.option("--name", default="fitted", show_default=True, help="the profile's name")
@friendly_errors
def fit(observed: str, out: str, force: bool, timezone: str, time_column: str | None, slot_text: str,
        durations: str | None, duration_column: str, dwell_kind: str, bin_width: int,
        first_day: str | None, last_day: str | None, name: str) -> None:
    """Fit a profile to OBSERVED entries (CSV, Parquet or JSONL) and write it to --out.

    OBSERVED holds one row per entry (a sessions or door-events file of a
    simulate run will do) or hourly counts (a 'count' column).
    """
    need("pyarrow", "foot-traffic profile fit", "fit")  # reading observed files; not in the base install
    from producer.observed import ObservedError, read_durations, read_observed

    starts = _slots(slot_text)
    if Path(out).exists() and not force:
        fail(f"--out {out!r} exists; pass --force to overwrite it")
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        fail(f"--timezone={timezone!r} is not valid: expected an IANA time zone like Europe/Rome")
    try:
        obs = read_observed(observed, timezone, time_column)
        if obs.hourly and any(s % 60 for s in starts):
            fail("--slots: hourly counts need slots that start on whole hours")
        first = _date(first_day, "--first-day") or int(obs.day.min())
        last = _date(last_day, "--last-day") or int(obs.day.max())
        if last < first:
            fail("--last-day comes before --first-day")
        minutes = None
        if dwell_kind != "none":
            if durations is not None:
                minutes = read_durations(durations, duration_column)
            else:
                minutes = read_durations(observed, duration_column, required=False)
        counts = day_slot_counts(obs.day, obs.minute, starts, first, last, obs.weight)
        fitted, weekly = fit_profile(counts, first, starts, name, minutes, dwell_kind, bin_width)
    except (ObservedError, FitError) as exc:
        fail(str(exc))
    tmp = Path(out).with_name(Path(out).name + ".partial")
    tmp.write_text(fitted.to_toml(), encoding="utf-8")
    os.replace(tmp, out)
    days = last - first + 1
    used = counts.sum()
    click.echo(
        f"fitted {out} from {used:,.0f} entries on {days} days "
        f"({dt.date.fromordinal(first)} to {dt.date.fromordinal(last)}, {weekly.closed_days} without any entry "
        f"left out; weekdays seen {min(weekly.days_per_weekday)}-{max(weekly.days_per_weekday)} times): "
        f"baseline {fitted.baseline:,.1f}/day, dwell "
        + ("default (no durations)" if fitted.dwell is None else _dwell_text(fitted))
    )


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
    return profile_, [start + dt.timedelta(days=i) for i in range(7)]


@profile.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--week", default=None, metavar="DATE",
              help="show the 7 days from DATE with the profile's calendar [default: a typical week, no calendar]")
@settings_options(("profile_file", "default_daily_customers", "base_daily_customers",
                   "daily_customers", "traffic_multiplier"))
@friendly_errors
def show(file: str | None, week: str | None, **options: Any) -> None:
    """Print a profile (FILE, else PROFILE_FILE, else the default) with expected customers per slot and day."""
    settings = load_settings(options)
    prof = load_profile(file) if file is not None else settings.profile()
    shown, days = _week(prof, week)
    store = Store(profile=shown, baseline=settings.baseline_for(prof), daily_customers=settings.daily_customers,
                  variation=0.0, multiplier=settings.traffic_multiplier)
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
    base_from = ("DAILY_CUSTOMERS" if settings.daily_customers is not None
                 else "BASE_DAILY_CUSTOMERS" if settings.base_daily_customers is not None
                 else "profile" if prof.baseline is not None else "DEFAULT_DAILY_CUSTOMERS")
    console.print(f"week total {total:.1f}; baseline {store.baseline:g}/day (from {base_from}), "
                  f"multiplier {store.multiplier:g}; dwell {_dwell_text(prof)}", highlight=False)
    if not prof.calendar.is_empty and week is None:
        console.print("the profile has a calendar; pass --week DATE to see it applied", highlight=False)
