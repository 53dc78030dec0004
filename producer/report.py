"""``foot-traffic report``: the command, and the static page of PNG figures (``--static``, ``--figures``).

By default the command writes the chain report (:mod:`producer.report_chain`:
counted by DuckDB per store and bin, an overview of every store, one store's
interactive figures at a time; ``--redis-url`` reads a live run's streams,
:mod:`producer.report_redis`). This module keeps the static page, for a few
stores and for the docs' figures, drawn from the events read into arrays.

The static page: four figures (five with a sensor), each drawing the data beside what the profile expects
(:mod:`sim.expect`): arrivals per hour by weekday, the number of customers
inside over time, the dwell histogram and the daily totals. Time is read on
each store's own clock: arrivals are binned by the store's local weekday and
clock hour, daily totals by its local day (23 or 25 hours on daylight-saving
changes), and every time axis names its zone. With several stores, arrivals
and daily totals are drawn per store (``arrivals-<id>``, ``daily-<id>``). A run with a door
sensor (``docs/sensors.md``) is read from its true door events, and adds a figure (``sensor``) of
the true occupancy against what the interval counts add up to. The expectation
comes from ``DIR/run.json``, which ``foot-traffic simulate`` writes; without
it the page shows the data alone and says why.

Each :class:`Figure` keeps the exact series it plots, so a test can check that
a figure shows the data (for instance that the plotted daily totals are the
data's). Figures are PNG, embedded in the page as base64; ``--figures`` also
writes them as files. Matplotlib draws through its Agg canvas directly, so
importing this module never changes a notebook's plotting backend.
"""

from __future__ import annotations

import base64
import html
import io
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import click
import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from producer.dataset import Dataset, DatasetError, read_dataset
from producer.manifest import ManifestError, RunInfo, run_info_of
from producer.options import fail
from producer.report_capacity import ErlangTable, admission_png, admission_series, erlang_html, erlang_table
from producer.report_chain import REJECTED_NOT_WRITTEN, build_chain_report, chain_report
from producer.report_page import render_page
from producer.report_redis import StreamsError, read_streams, source_name
from producer.sinks.files import FORMATS
from sim.dwell import Dwell
from sim.events import iso
from sim.expect import (
    dwell_groups,
    dwell_survival_steps,
    expected_occupancy,
    local_day_bounds,
    local_hours,
    rate_curve,
)
from sim.profile import WEEKDAYS
from sim.store import Store, zone_named

HOUR = 3600
#: Occupancy is sampled on at most about this many points.
OCCUPANCY_POINTS = 2000
SIM_COLOR, EXPECT_COLOR = "#4C78A8", "#E45756"


@dataclass
class Figure:
    """One PNG figure and the series drawn in it."""

    name: str  #: file stem, e.g. "arrivals"
    title: str
    caption: str
    png: bytes
    series: dict[str, np.ndarray] = field(default_factory=dict)
    x_label: str = ""  #: the time axis' label, naming the clock it reads (a test checks the zone is there)
    x_limits: tuple[float, float] = (0.0, 0.0)  #: the drawn x axis' ends, as matplotlib has them
    x_ticks: tuple[str, ...] = ()  #: the drawn x axis' tick labels, and its offset text last (may be "")


@dataclass
class Report:
    """Everything the page shows."""

    folder: Path
    data: Dataset
    info: RunInfo | None
    start: int
    end: int
    notes: list[str]
    figures: list[Figure]
    erlang: list[ErlangTable] = field(default_factory=list)  #: one per store with a capacity limit


def _png(fig: MplFigure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _drawn(fig: MplFigure, name: str, title: str, caption: str, series: dict[str, np.ndarray],
           x_label: str) -> Figure:
    """The figure as a PNG, with its first axes' x limits and tick labels as drawn."""
    png = _png(fig)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = tuple(t.get_text() for t in ax.get_xticklabels()) + (ax.xaxis.get_offset_text().get_text(),)
    return Figure(name, title, caption, png, series, x_label, (float(lo), float(hi)), ticks)


class _SpanOffset(mdates.ConciseDateFormatter):
    """Matplotlib's concise dates, with an offset naming the months the ticks span, not the last tick's.

    The stock offset is the last tick's: a week from 24 November to 1 December 00:00 read "2025-Dec".
    """

    def format_ticks(self, values):  # type: ignore[no-untyped-def]
        labels = super().format_ticks(values)
        last = self.get_offset()
        if last and len(values) > 1:
            first_tick, last_tick = (mdates.num2date(v, tz=self._tz) for v in (values[0], values[-1]))
            fmt = next((f for f in self.offset_formats if f and last_tick.strftime(f) == last), None)
            if fmt is not None and first_tick.strftime(fmt) != last:
                self._offset_string = f"{first_tick.strftime(fmt)} to {last}"
        return labels


def _span(data: Dataset, info: RunInfo | None) -> tuple[int, int]:
    """The run's span from run.json, or whole hours around the data."""
    if info is not None:
        return info.start, info.end
    times = np.concatenate([data.entry, data.door_time])
    if times.size == 0:
        raise DatasetError("the data set has no events and no run.json: nothing to report")
    return int(times.min()) // HOUR * HOUR, (int(times.max()) // HOUR + 1) * HOUR


def _counts(times: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many times fall in each bin ``[bounds[i], bounds[i+1])``."""
    s = np.sort(times)
    return np.diff(np.searchsorted(s, bounds, side="left")).astype(float)


def _suffix(store_id: str | None) -> str:
    return "" if store_id is None else f"-{store_id}"


def _whose(store_id: str | None, zone: str) -> str:
    return f"{'' if store_id is None else f'store {store_id}, '}{zone}"


def arrivals_figure(
    data: Dataset, store: Store | None, start: int, end: int, zone: str = "UTC", store_id: str | None = None,
) -> Figure:
    """Mean arrivals per local clock hour for each local weekday of one store (or of all the data).

    Bins are the store's own clock hours (:func:`sim.expect.local_hours`): a
    spring-forward day has no 02:00 hour, a fall-back day's repeated hour
    holds both of its passes.
    """
    entries = data.entry if store_id is None else data.entry[data.store_id == store_id]
    hours = local_hours(zone, start, end)
    s = np.sort(entries)
    simulated = (np.searchsorted(s, hours.end, "left") - np.searchsorted(s, hours.start, "left")).astype(float)
    n = np.zeros((7, 24))
    np.add.at(n, (hours.weekday, hours.hour), 1)
    sim_table = np.zeros((7, 24))
    np.add.at(sim_table, (hours.weekday, hours.hour), simulated)
    exp_table = None
    if store is not None:
        exp_table = np.zeros((7, 24))
        np.add.at(exp_table, (hours.weekday, hours.hour), rate_curve(store, start, end).between(hours.start, hours.end))
    with np.errstate(invalid="ignore", divide="ignore"):
        sim_table /= n
        if exp_table is not None:
            exp_table /= n
    fig = MplFigure(figsize=(12, 5.5), layout="constrained")
    axes = fig.subplots(2, 4, sharex=True, sharey=True).ravel()
    x = np.arange(24)
    for d in range(7):
        ax = axes[d]
        ax.bar(x + 0.5, sim_table[d], width=1.0, color=SIM_COLOR, alpha=0.6, label="simulated")
        if exp_table is not None:
            ax.step(np.append(x, 24), np.append(exp_table[d], exp_table[d][-1]), where="post",
                    color=EXPECT_COLOR, lw=1.8, label="expected")
        days = int(n[d].max()) if n[d].size else 0
        ax.set_title(f"{WEEKDAYS[d]} ({days} day{'s' if days != 1 else ''})", fontsize=10)
        ax.set_xticks([0, 6, 12, 18, 24])
        ax.set_xlim(0, 24)
        ax.set_xlabel(f"hour ({zone})", fontsize=8)
        ax.grid(alpha=0.3)
    axes[7].axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[7].legend(handles, labels, loc="center", frameon=False, fontsize=11)
    fig.supxlabel(f"local hour of day ({zone})")
    fig.supylabel("arrivals per hour (mean over the weekday's days)")
    series = {"simulated": sim_table, "days": n}
    if exp_table is not None:
        series["expected"] = exp_table
    return Figure(
        "arrivals" + _suffix(store_id), f"Arrivals per hour by weekday ({_whose(store_id, zone)})",
        f"Bars: the data's arrivals in each local hour ({zone}), averaged over the run's days of that "
        "weekday that have the hour. Line: the profile's expected arrivals per hour.",
        _png(fig), series, fig.get_supxlabel(),
    )


def _inside(data: Dataset, times: np.ndarray) -> np.ndarray:
    """Customers inside just before each of ``times``: the door events' entries minus exits so far."""
    entries = np.sort(data.door_time[data.door_kind == "entry"])
    exits = np.sort(data.door_time[data.door_kind == "exit"])
    return (np.searchsorted(entries, times, "left") - np.searchsorted(exits, times, "left")).astype(float)


def occupancy_figure(
    data: Dataset, stores: tuple[Store, ...] | None, start: int, end: int, zone: str = "UTC",
) -> Figure:
    """Customers inside over the run, from the door events, beside E[N(t)], on the clock of ``zone``."""
    step = max(60, (end - start) // OCCUPANCY_POINTS // 60 * 60)
    times = np.arange(start + step, end + 1, step, dtype=np.int64)
    inside = _inside(data, times)
    fig = MplFigure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    when = times.astype("datetime64[s]")
    ax.plot(when, inside, color=SIM_COLOR, lw=0.9, label="simulated (from door events)")
    series = {"time": times, "simulated": inside}
    if stores:
        expected = expected_occupancy(stores, times, start, end)
        ax.plot(when, expected, color=EXPECT_COLOR, lw=1.5, label="expected E[N(t)], unlimited capacity")
        series["expected"] = expected
    limits = [s.capacity for s in stores or () if s.capacity is not None]
    if stores and len(limits) == len(stores):
        ax.axhline(sum(limits), color="#555555", lw=1, ls="--", label=f"capacity {sum(limits)}")
    _time_axis(ax, when, zone)
    ax.set_ylim(bottom=0)
    _label(ax, f"time ({zone}), sampled every {step // 60} min", "customers inside", "upper right")
    return _drawn(
        fig, "occupancy", "Occupancy over time",
        "Customers inside just before each sampled time: entries minus exits so far. "
        "Expected: the integral of the arrival rate against the dwell survival function, for a store "
        "without a capacity limit"
        + ("; where it passes the limit, the data cannot follow it (see the admission figure and "
           "Erlang's loss figure below)." if limits else "."),
        series, ax.get_xlabel(),
    )


def _label(ax: Axes, xlabel: str, ylabel: str, legend: Literal["upper right", "upper left"]) -> None:
    """A figure's axis labels, its light grid and its legend (at ``legend``)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend)


def _time_axis(ax: Axes, when: np.ndarray, zone: str) -> None:
    """Dates on the x axis in the store's zone, spanning ``when`` (UTC datetime64)."""
    tz = zone_named(zone)
    locator = mdates.AutoDateLocator(tz=tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_SpanOffset(locator, tz=tz))
    if when.size:
        ax.set_xlim(when[0], when[-1])


def sensor_figure(data: Dataset, start: int, end: int, zone: str = "UTC") -> Figure | None:
    """True occupancy against what the counter's interval counts add up to, over the run's first week.

    ``None`` without a counts file (a run without a sensor).
    """
    if data.counts is None:
        return None
    ends, ins, outs = data.counts
    week_end = min(end, start + 7 * 86_400)
    times = np.unique(ends[(ends > start) & (ends <= week_end)])
    # Counted: the running sum of in - out over every store, at each interval's end.
    order = np.argsort(ends, kind="stable")
    net = np.cumsum((ins - outs)[order])
    at = np.searchsorted(ends[order], times, "right") - 1
    counted = np.where(at >= 0, net[np.clip(at, 0, None)], 0).astype(float)
    true = _inside(data, times)
    fig = MplFigure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    when = times.astype("datetime64[s]")
    ax.plot(when, true, color=SIM_COLOR, lw=0.9, label="true (from the true door events)")
    ax.plot(when, counted, color=EXPECT_COLOR, lw=0.9, label="counted (running sum of the interval counts)")
    _time_axis(ax, when, zone)
    _label(ax, f"time ({zone}), at the end of each count interval", "customers inside", "upper left")
    return _drawn(
        fig, "sensor", "True against counted occupancy",
        "Customers inside at the end of each count interval over the run's first week: from the true "
        "door events, and as a counter's interval counts add up (ins minus outs so far). Misses, double "
        "counts and lost outages make the counted line drift away from the truth (docs/sensors.md).",
        {"time": times, "true": true, "counted": counted}, ax.get_xlabel(),
    )


def _visits_per_model(data: Dataset, stores: tuple[Store, ...]) -> list[tuple[Dwell, float]]:
    """Each store's dwell models with the number of visits that drew from each.

    A store with a dwell per slot gives its visits in each (local weekday,
    slot) the model of that pair.
    """
    out = []
    for store in stores:
        entries = data.entry[data.store_id == store.store_id]
        weekday, slot = store.locate(entries)
        for dwell, pick in dwell_groups(store):
            if pick is None:
                n = entries.size
            else:
                table = np.array([[pick(d, j) for j in range(store.profile.n_slots)] for d in range(7)])
                n = int(np.count_nonzero(table[weekday, slot]))
            out.append((dwell, float(n)))
    return out


def dwell_figure(data: Dataset, stores: tuple[Store, ...] | None) -> Figure:
    """Visits per whole minute of dwell, beside the dwell model's probabilities."""
    top = int(data.minutes.max()) if data.minutes.size else 1
    model: np.ndarray | None = None
    if stores:
        model = np.zeros(0)
        for dwell, n in _visits_per_model(data, stores):
            g = np.append(dwell_survival_steps(dwell), 0.0)  # P(D > k), k = 0..K
            pmf = g[:-1] - g[1:]  # P(D = k + 1)
            size = max(model.size, pmf.size)
            model = np.pad(model, (0, size - model.size)) + n * np.pad(pmf, (0, size - pmf.size))
        top = max(top, model.size)
    minutes = np.arange(1, top + 1)
    simulated = np.bincount(data.minutes, minlength=top + 1)[1: top + 1].astype(float)
    fig = MplFigure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    ax.bar(minutes, simulated, width=1.0, color=SIM_COLOR, alpha=0.6, label="simulated")
    series = {"minutes": minutes, "simulated": simulated}
    if model is not None:
        expected = np.pad(model, (0, top - model.size))
        ax.step(np.append(minutes, top + 1) - 0.5, np.append(expected, expected[-1]), where="post",
                color=EXPECT_COLOR, lw=1.5, label="expected (dwell model x visits)")
        series["expected"] = expected
    # The model's tail runs on until P(D > k) < 1e-12, far past any visit: the axis ends at the longest
    # visit or where under half a visit is expected beyond, whichever is later (the series run on).
    end = int(data.minutes.max()) if data.minutes.size else 1
    if model is not None and model.size:
        beyond = model.sum() - np.cumsum(model)  # expected visits longer than k + 1 minutes
        end = max(end, int(np.argmax(beyond < 0.5)) + 1)
    ax.set_xlim(0, end + 1)
    _label(ax, "dwell (trip_duration_minutes)", "visits", "upper right")
    return _drawn(
        fig, "dwell", "Dwell histogram",
        "Visits per whole minute of dwell, and the dwell model's probability of each minute "
        "times the number of visits.",
        series, ax.get_xlabel(),
    )


def daily_figure(
    data: Dataset, store: Store | None, start: int, end: int, zone: str = "UTC", store_id: str | None = None,
) -> Figure:
    """Arrivals per local day of one store (or of all the data), beside its expected totals.

    Days are the store's local days (23 or 25 hours on daylight-saving
    changes); partial days at the run's ends are cut at its bounds.
    """
    entries = data.entry if store_id is None else data.entry[data.store_id == store_id]
    days, bounds = local_day_bounds(zone, start, end)
    simulated = _counts(entries, bounds)
    fig = MplFigure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(days))
    ax.bar(x, simulated, color=SIM_COLOR, alpha=0.6, label="simulated")
    series = {"day_start": bounds[:-1], "simulated": simulated,
              "day": np.array([d.isoformat() for d in days])}
    if store is not None:
        expected = rate_curve(store, start, end).between(bounds[:-1], bounds[1:])
        ax.plot(x, expected, "o-", color=EXPECT_COLOR, ms=4, lw=1.2, label="expected")
        series["expected"] = expected
    every = max(1, len(days) // 15)
    ax.set_xticks(x[::every])
    ax.set_xticklabels([f"{WEEKDAYS[d.weekday()][:3]}\n{d.isoformat()[5:]}" for d in days[::every]], fontsize=8)
    ax.set_ylabel("arrivals per day")
    ax.set_xlabel(f"local day ({zone})")
    ax.grid(alpha=0.3, axis="y")
    top = max([1.0, *simulated, *series.get("expected", [])])
    ax.set_ylim(0, top * 1.18)  # room for the legend above the bars
    ax.legend(loc="upper left", ncol=2)
    return Figure(
        "daily" + _suffix(store_id), f"Daily totals ({_whose(store_id, zone)})",
        f"Visits that entered on each local day ({zone}), and the profile's expected total for it "
        "(the day-to-day variation factor has mean 1, so it does not move the expectation).",
        _png(fig), series, ax.get_xlabel(),
    )


def admission_figure(data: Dataset, store: Store, start: int, end: int, store_id: str | None = None) -> Figure:
    """Per local day: customers admitted, turned away and given up, beside the expected arrivals."""
    series = admission_series(data, store, start, end)
    fig, label = admission_png(series, store)
    return Figure(
        "admission" + _suffix(store_id), f"Admitted and turned away ({_whose(store_id, store.timezone)})",
        f"Customers admitted (sessions), turned away and given up (door events) on each local day, each "
        f"counted when it happened at the door; the line is the profile's expected arrivals, which "
        f"ignore the capacity of {store.capacity}.",
        _png(fig), series, label,
    )


def build_report(folder: str | Path, fmt: str | None = None) -> Report:
    """Read a data set (and its run.json) and draw every figure."""
    path = Path(folder)
    data = read_dataset(path, fmt)
    info, notes = run_info_of(path)
    stores = info.stores if info else None
    start, end = _span(data, info)
    per_store = _per_store(stores)
    zones = {zone for _, zone, _ in per_store}
    one_zone = next(iter(zones)) if len(zones) == 1 else "UTC"
    figures = [
        *(arrivals_figure(data, s, start, end, zone, sid) for s, zone, sid in per_store),
        occupancy_figure(data, stores, start, end, one_zone),
        dwell_figure(data, stores),
        *(daily_figure(data, s, start, end, zone, sid) for s, zone, sid in per_store),
    ]
    sensed = sensor_figure(data, start, end, one_zone)
    if sensed is not None:
        figures.append(sensed)
    erlang = _capacity_figures(data, stores or (), start, end, info is not None and info.rejected_written,
                               figures, notes)
    return Report(path, data, info, start, end, notes, figures, erlang)


def _per_store(stores: tuple[Store, ...] | None) -> list[tuple[Store | None, str, str | None]]:
    """(store, its time zone, its id in titles) for each figure drawn per store: one unnamed without run.json."""
    if stores is None:
        return [(None, "UTC", None)]
    if len(stores) == 1:
        return [(stores[0], stores[0].timezone, None)]
    return [(s, s.timezone, s.store_id) for s in stores]


def _capacity_figures(data: Dataset, stores: tuple[Store, ...], start: int, end: int, rejected_written: bool,
                      figures: list[Figure], notes: list[str]) -> list[ErlangTable]:
    """Each store with a capacity: its admission figure (added to ``figures``) and its Erlang table; the note
    (once) when who was turned away was not written."""
    erlang = []
    for store in stores:
        if store.capacity is None:
            continue
        figures.append(admission_figure(data, store, start, end, None if len(stores) == 1 else store.store_id))
        erlang.append(erlang_table(data, store, rejected_written))
        if not rejected_written and not any("WRITE_REJECTED" in n for n in notes):
            notes.append(REJECTED_NOT_WRITTEN)
    return erlang


def render_html(report: Report) -> str:
    """The page: a summary, notes, and every figure embedded as a base64 PNG."""
    e = html.escape
    rows = [
        ("data set", f"{report.folder} ({report.data.fmt})"),
        ("span", f"{iso(report.start)} to {iso(report.end)}"),
        ("visits", f"{report.data.entry.size:,}"),
        ("door events", f"{report.data.door_time.size:,}"),
    ]
    if report.info is not None:
        rows.append(("seed", str(report.info.seed)))
        for store in report.info.stores:
            daily = (f"fixed {store.daily_customers}/day" if store.daily_customers is not None
                     else f"baseline {store.baseline:g}/day x {store.multiplier:g}, ±{store.variation:.0%}")
            rows.append((f"store {store.store_id}",
                         f"profile '{store.profile.name}', {daily}, timezone {store.timezone}"))
    table = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in report.notes)
    figures = "\n".join(
        f'<section id="{e(f.name)}"><h2>{e(f.title)}</h2>'
        f'<img alt="{e(f.title)}" src="data:image/png;base64,{base64.b64encode(f.png).decode()}">'
        f"<p>{e(f.caption)}</p></section>"
        for f in report.figures
    )
    erlang = "\n".join(
        f'<section id="erlang-{e(t.store_id)}"><h2>Erlang loss figure: store {e(t.store_id)} '
        f"(capacity {t.capacity}, {e(t.mode)} mode)</h2>{erlang_html(t)}"
        "<p>A: offered load in Erlangs (arrivals per minute x mean dwell in minutes) where the profile's "
        "rate is constant, each slot of an ordinary day. B: Erlang's loss formula, the share of arrivals a "
        "loss store of this capacity turns away in the steady state. Data: the share this run turned away "
        "in those slots, all days included.</p>"
        + "".join(f'<p class="note">{e(n)}</p>' for n in t.notes) + "</section>"
        for t in report.erlang
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Foot traffic report: {e(report.folder.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1240px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 2px 12px 2px 0; }}
img {{ max-width: 100%; }} .note {{ background: #fff4d6; padding: 6px 10px; }}
</style></head><body>
<h1>Foot traffic report</h1>
<table>{table}</table>
{notes}
{figures}
{erlang}
</body></html>
"""


def _page(folder: str | None, fmt: str | None, redis_url: str | None, redis_stream: str, static: bool,
          figures: bool) -> tuple[str, list[str], Report | None]:
    """The page's text, its notes, and the static report when the page or its PNG figures need it."""
    if redis_url is not None:
        counts, info, notes = read_streams(redis_url, redis_stream)
        chain = chain_report(counts, info, redis_stream, source_name(redis_url, redis_stream), notes)
        return render_page(chain), chain.notes, None
    assert folder is not None
    result = build_report(folder, fmt) if static or figures else None
    if static and result is not None:
        return render_html(result), result.notes, result
    chain = build_chain_report(folder, fmt)
    return render_page(chain), chain.notes, result


@click.command()
@click.argument("folder", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
@click.option("--out", default=None, metavar="FILE.html", type=click.Path(dir_okay=False),
              help="where to write the page [default DIR/report.html; report.html with --redis-url]")
@click.option("--format", "fmt", default=None, type=click.Choice(FORMATS),
              help="which files to read when DIR holds several formats")
@click.option("--redis-url", default=None, metavar="URL",
              help="report a live run from its streams and run record instead of DIR (read-only)")
@click.option("--redis-stream", default="foot_traffic", show_default=True, metavar="NAME",
              help="with --redis-url: the run's base stream name (REDIS_STREAM)")
@click.option("--static", "static", is_flag=True,
              help="write the one-page report of PNG figures (a few stores; the docs' figures) instead of "
                   "the interactive chain report")
@click.option("--figures", "figures_dir", default=None, metavar="FOLDER", type=click.Path(file_okay=False),
              help="also write each static figure there as <name>.png (arrivals, occupancy, dwell, daily, sensor "
                   "with a sensor; arrivals-<id> and daily-<id> per store when there are several)")
@click.option("--open", "open_page", is_flag=True, help="open the page in a web browser")
def report(folder: str | None, out: str | None, fmt: str | None, redis_url: str | None, redis_stream: str,
           static: bool, figures_dir: str | None, open_page: bool) -> None:
    """Draw a data set written by 'simulate' (DIR), or a live run's streams (--redis-url), as an HTML page:
    an overview of every store, then each store's figures to explore (self-contained, works offline);
    --static for the page of PNG figures."""
    if (folder is None) == (redis_url is None):
        fail("pass a data set folder DIR or --redis-url URL (one of the two)")
    if redis_url is not None and (static or figures_dir or fmt):
        fail("--static, --figures and --format read a data set folder, not --redis-url")
    try:
        text, notes, result = _page(folder, fmt, redis_url, redis_stream, static, bool(figures_dir))
    except (DatasetError, ManifestError, StreamsError) as exc:
        fail(str(exc))
    page = Path(out) if out else Path(folder or ".") / "report.html"
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text, encoding="utf-8")
    except OSError as exc:  # an unwritable --out: one line, exit 1 (an environment problem)
        fail(f"--out {page}: cannot write the page: {exc.strerror or exc}", code=1)
    if figures_dir and result is not None:
        target = Path(figures_dir)
        target.mkdir(parents=True, exist_ok=True)
        for fig in result.figures:
            (target / f"{fig.name}.png").write_bytes(fig.png)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"report -> {page}")
    if open_page:
        webbrowser.open(page.resolve().as_uri())
