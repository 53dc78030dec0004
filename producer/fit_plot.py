"""``profile fit --plot FILE.png``: the observed data beside the fitted profile, the fitting notebook's figure.

Top: for each weekday, the observed share of its whole days' entries in each
slot (bars, with two standard errors of a multinomial share) and the fitted
profile's share (dots). Bottom: the observed visits per whole minute of dwell
and the fitted dwell model's probability of each minute times the visits
(without durations, the dwell panel says so). Drawn with matplotlib's Agg
canvas (the ``report`` extra), written as one PNG.
"""

from __future__ import annotations

import io

import numpy as np

from sim.dwell import Dwell
from sim.expect import dwell_survival_steps
from sim.fit import weekday_of
from sim.profile import WEEKDAYS, Profile

OBSERVED_COLOR, FITTED_COLOR = "#4C78A8", "#E45756"


def observed_shares(counts: np.ndarray, first: int, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per weekday x slot: the observed share of the weekday's entries on whole days, and its standard error."""
    weekdays = weekday_of(first + np.arange(counts.shape[0]))
    totals = np.zeros((7, counts.shape[1]))
    for d in range(7):
        totals[d] = counts[whole & (weekdays == d)].sum(axis=0)
    n = totals.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = totals / n
        se = np.sqrt(shares * (1 - shares) / n)
    return shares, se


def fit_png(counts: np.ndarray, first: int, whole: np.ndarray, fitted: Profile,
            minutes: np.ndarray | None, dwell: Dwell | None) -> bytes:
    """The figure as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shares, se = observed_shares(counts, first, whole)
    weights = np.array(fitted.weights, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fitted_shares = weights / weights.sum(axis=1, keepdims=True)
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    grid = fig.add_gridspec(2, 7, height_ratios=[1.1, 1])
    x = np.arange(len(fitted.starts))
    top = float(np.nanmax(np.concatenate([(shares + 2 * se).ravel(), fitted_shares.ravel(), [0.1]])))
    for d in range(7):
        ax = fig.add_subplot(grid[0, d])
        ax.bar(x, shares[d], yerr=2 * se[d], color=OBSERVED_COLOR, alpha=0.7, label="observed (± 2 SE)")
        ax.plot(x, fitted_shares[d], "o", color=FITTED_COLOR, ms=5, label="fitted profile")
        ax.set_title(WEEKDAYS[d], fontsize=10)
        ax.set_xticks(x, fitted.labels, rotation=90, fontsize=7)
        ax.set_ylim(0, top * 1.1)
        if d:
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("share of the day's entries")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2, frameon=False)
    ax = fig.add_subplot(grid[1, :])
    _dwell_panel(ax, minutes, dwell)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _dwell_panel(ax, minutes: np.ndarray | None, dwell: Dwell | None) -> None:  # type: ignore[no-untyped-def]
    if minutes is None or dwell is None or minutes.size == 0:
        ax.text(0.5, 0.5, "no visit durations: the dwell was not fitted", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    top = int(minutes.max())
    seen = np.bincount(minutes, minlength=top + 1)[1:].astype(float)
    g = np.append(dwell_survival_steps(dwell), 0.0)
    model = minutes.size * (g[:-1] - g[1:])  # visits of k + 1 minutes
    end = max(top, int(np.argmax(model.sum() - np.cumsum(model) < 0.5)) + 1)
    ax.bar(np.arange(1, top + 1), seen, width=1.0, color=OBSERVED_COLOR, alpha=0.6, label="observed visits")
    k = np.arange(1, model.size + 1)
    ax.step(k[:end] - 0.5, model[:end], where="post", color=FITTED_COLOR, lw=1.5,
            label="fitted dwell model x visits")
    ax.set_xlim(0, end + 1)
    ax.set_xlabel("dwell (whole minutes)")
    ax.set_ylabel("visits")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
