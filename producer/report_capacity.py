"""The report's pages for stores with a capacity limit: who got in, and Erlang's loss figure.

A store at capacity admits some arrivals and not others: in ``loss`` mode
the others are turned away, in ``queue`` mode they wait and may give up. The
**admission** figure counts, per local day, the customers admitted (their
sessions), turned away and given up (their door events, written when the run
had ``WRITE_REJECTED=1``), beside the profile's expected arrivals, which
ignore the limit.

The **Erlang table** gives, for each weekday and slot, where the arrival rate
is constant, the offered load A (arrivals per minute x mean dwell) and
Erlang's loss formula B(capacity, A): the share of arrivals a loss store
turns away in the steady state, whatever the dwell's shape. Beside it, for a
loss store whose turned-away customers were written, the share the data
turned away in those slots (every day of the run, calendar days and each
slot's first minutes included, where the load has not settled).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure as MplFigure

from producer.dataset import Dataset
from sim.expect import erlang_b, local_day_bounds, offered_load_table, rate_curve
from sim.profile import WEEKDAYS
from sim.store import Store

if TYPE_CHECKING:
    from producer.report_agg import Counts

TURNED_AWAY, GAVE_UP = "turned_away", "gave_up"
ADMIT_COLOR, AWAY_COLOR, GAVE_UP_COLOR, EXPECT_COLOR = "#4C78A8", "#F58518", "#B279A2", "#E45756"


@dataclass
class ErlangTable:
    """Offered load and Erlang B per weekday x slot of one store, and the data's share turned away."""

    store_id: str
    capacity: int
    mode: str
    slot_labels: tuple[str, ...]
    load: np.ndarray  #: Erlangs, weekday x slot
    loss: np.ndarray  #: Erlang B, weekday x slot
    observed: np.ndarray | None = None  #: turned away / arrivals, weekday x slot (NaN without arrivals)
    arrivals: np.ndarray | None = None  #: arrivals (admitted + turned away) behind ``observed``
    notes: list[str] = field(default_factory=list)


def _counts(times: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    s = np.sort(times)
    return np.diff(np.searchsorted(s, bounds, side="left")).astype(float)


def admission_series(
    data: Dataset, store: Store, start: int, end: int,
) -> dict[str, np.ndarray]:
    """Per local day of the store: admitted, turned away, given up, their sum and the expected arrivals."""
    days, bounds = local_day_bounds(store.timezone, start, end)
    mine = data.door_store == store.store_id
    kinds, times = data.door_kind[mine], data.door_time[mine]
    admitted = _counts(data.entry[data.store_id == store.store_id], bounds)
    away = _counts(times[kinds == TURNED_AWAY], bounds)
    gave_up = _counts(times[kinds == GAVE_UP], bounds)
    return {
        "day": np.array([d.isoformat() for d in days]),
        "admitted": admitted, "turned_away": away, "gave_up": gave_up,
        "arrivals": admitted + away + gave_up,
        "expected": rate_curve(store, start, end).between(bounds[:-1], bounds[1:]),
    }


def admission_png(series: dict[str, np.ndarray], store: Store) -> tuple[MplFigure, str]:
    """The stacked bars and the expected arrivals; returns the figure and its time axis label."""
    fig = MplFigure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(series["day"].size)
    ax.bar(x, series["admitted"], color=ADMIT_COLOR, alpha=0.7, label="admitted")
    ax.bar(x, series["turned_away"], bottom=series["admitted"], color=AWAY_COLOR, alpha=0.8, label="turned away")
    ax.bar(x, series["gave_up"], bottom=series["admitted"] + series["turned_away"], color=GAVE_UP_COLOR,
           alpha=0.8, label="gave up waiting")
    ax.plot(x, series["expected"], "o-", color=EXPECT_COLOR, ms=4, lw=1.2,
            label="expected arrivals (the profile, any capacity)")
    every = max(1, x.size // 15)
    ax.set_xticks(x[::every])
    ax.set_xticklabels([f"{WEEKDAYS[np.datetime64(d).astype(object).weekday()][:3]}\n{d[5:]}"
                        for d in series["day"][::every]], fontsize=8)
    ax.set_ylabel("customers per day")
    ax.set_xlabel(f"local day ({store.timezone}); capacity {store.capacity}, {store.capacity_mode} mode")
    ax.grid(alpha=0.3, axis="y")
    top = max([1.0, *series["arrivals"], *series["expected"]])
    ax.set_ylim(0, top * 1.25)
    ax.legend(loc="upper left", ncol=4, fontsize=9)
    return fig, ax.get_xlabel()


def erlang_table(data: Dataset, store: Store, rejected_written: bool) -> ErlangTable:
    """Erlang's loss figure per weekday x slot, and the data's turned-away share where it applies."""
    assert store.capacity is not None
    load = offered_load_table(store)
    loss = np.vectorize(lambda a: erlang_b(int(store.capacity or 0), float(a)))(load)
    table = ErlangTable(store.store_id, store.capacity, store.capacity_mode, store.profile.labels, load, loss)
    if store.capacity_mode != "loss":
        table.notes.append("This store queues at the door: Erlang B is what a loss store of the same capacity "
                           "would turn away, an upper bound on how often an arrival finds it full.")
        return table
    if not rejected_written:
        table.notes.append("Turned-away customers were not written (WRITE_REJECTED=0): no observed share.")
        return table
    mine = data.door_store == store.store_id
    away = data.door_time[mine & (data.door_kind == TURNED_AWAY)]
    admitted = data.entry[data.store_id == store.store_id]  # loss mode: admitted at arrival
    shape = load.shape
    n_away, n_in = np.zeros(shape), np.zeros(shape)
    for times, out in ((away, n_away), (admitted, n_in)):
        weekday, slot = store.locate(times)
        np.add.at(out, (weekday.astype(int), slot.astype(int)), 1)
    table.arrivals = n_away + n_in
    with np.errstate(invalid="ignore", divide="ignore"):
        table.observed = n_away / table.arrivals
    return table


def erlang_html(table: ErlangTable) -> str:
    """An HTML table: one row per weekday, one cell per slot with A, B and the observed share."""
    head = "".join(f"<th>{html.escape(label)}</th>" for label in table.slot_labels)
    rows = []
    for d, day in enumerate(WEEKDAYS):
        cells = []
        for j in range(len(table.slot_labels)):
            text = f"A {table.load[d, j]:.1f}, B {table.loss[d, j]:.3f}"
            if table.observed is not None and table.arrivals is not None and table.arrivals[d, j] > 0:
                text += f", data {table.observed[d, j]:.3f}"
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr><th>{day}</th>{''.join(cells)}</tr>")
    return f'<table class="erlang"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def erlang_caption(has_observed: bool) -> str:
    """The Erlang table's caption, naming only the columns the table shows."""
    text = ("A: offered load in Erlangs (arrivals per minute x mean dwell in minutes) where the profile's rate "
            "is constant, each slot of an ordinary day. B: Erlang's loss formula, the share of arrivals a loss "
            "store of this capacity turns away in the steady state.")
    if has_observed:
        text += " Data: the share this run turned away in those slots, all days included."
    return text


def erlang_rows(store: Store, counts: Counts, r: int, rejected_written: bool) -> dict[str, object]:
    """:func:`erlang_table` from the binned counts of the store in row ``r`` (the chain report's form)."""
    assert store.capacity is not None
    load = offered_load_table(store)
    loss = np.vectorize(lambda a: erlang_b(int(store.capacity or 0), float(a)))(load)
    out: dict[str, object] = {"slots": list(store.profile.labels), "weekdays": list(WEEKDAYS),
                              "load": load, "loss": loss, "mode": store.capacity_mode,
                              "capacity": store.capacity}
    notes: list[str] = []
    if store.capacity_mode != "loss":
        notes.append("This store queues at the door: Erlang B is what a loss store of the same capacity "
                     "would turn away, an upper bound on how often an arrival finds it full.")
    elif not rejected_written:
        notes.append("Turned-away customers were not written (WRITE_REJECTED=0): no observed share.")
    else:
        weekday, slot = store.locate(counts.bin_starts())
        n_away, n_in = np.zeros(load.shape), np.zeros(load.shape)
        np.add.at(n_away, (weekday.astype(int), slot.astype(int)), counts.turned_away[r])
        np.add.at(n_in, (weekday.astype(int), slot.astype(int)), counts.entries[r])
        arrivals = n_away + n_in
        with np.errstate(invalid="ignore", divide="ignore"):
            out["observed"] = np.where(arrivals > 0, n_away / arrivals, np.nan)
    out["notes"] = notes
    out["caption"] = erlang_caption("observed" in out)
    return out
