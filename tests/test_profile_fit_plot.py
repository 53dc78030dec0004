"""``profile fit --plot`` draws the observed weekday x slot shares and dwell beside the fitted profile.

Three weeks of the default profile are simulated (a UTC store: local days are
UTC days) and fitted back with ``--plot``. The plotted observed shares are
checked against the sessions file counted here, the fitted shares against
them within 4.5 standard errors of a multinomial share (Bonferroni over the
42 shares, a family-wise level under 3e-4), and the PNG is not blank.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from matplotlib.image import imread

from producer.cli import main
from producer.fit_plot import observed_shares
from sim.profile import DEFAULT_SLOTS, load_profile, parse_slot_starts


def test_fit_plot_draws_observed_against_fitted(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["simulate", "--start", "2025-11-03", "--days", "21", "--seed", "4", "--out",
                                str(tmp_path / "run"), "--format", "jsonl", "--quiet"])
    assert done.exit_code == 0, done.output
    sessions = tmp_path / "run" / "foot_traffic.jsonl"
    plot = tmp_path / "fit.png"
    done = runner.invoke(main, ["profile", "fit", str(sessions), "--out", str(tmp_path / "fitted.toml"),
                                "--plot", str(plot)])
    assert done.exit_code == 0, done.output
    assert f"plot -> {plot}" in done.output
    pixels = imread(io.BytesIO(plot.read_bytes()), format="png")[..., :3].reshape(-1, 3)
    assert pixels.std() > 0.05 and len(np.unique((pixels * 255).round().astype(np.uint8), axis=0)) > 20

    # The observed shares the figure draws, by hand: entries per (weekday, slot) over the three weeks.
    starts = np.array(parse_slot_starts(DEFAULT_SLOTS))
    rows = [json.loads(line) for line in sessions.read_text().splitlines()]
    by_hand = np.zeros((7, starts.size))
    for r in rows:
        t = dt.datetime.fromisoformat(r["entry_time"])
        by_hand[t.weekday(), np.searchsorted(starts, t.hour * 60 + t.minute, side="right") - 1] += 1
    first = dt.date(2025, 11, 3).toordinal()
    counts = np.zeros((21, starts.size))
    for r in rows:
        t = dt.datetime.fromisoformat(r["entry_time"])
        counts[t.date().toordinal() - first, np.searchsorted(starts, t.hour * 60 + t.minute, side="right") - 1] += 1
    shares, se = observed_shares(counts, first, np.ones(21, bool))
    np.testing.assert_allclose(shares, by_hand / by_hand.sum(axis=1, keepdims=True))
    fitted = np.array(load_profile(tmp_path / "fitted.toml").weights)
    fitted_shares = fitted / fitted.sum(axis=1, keepdims=True)
    assert np.all(np.abs(fitted_shares - shares) <= 4.5 * se + 1e-9)


def test_fit_plot_to_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["simulate", "--start", "2025-11-03", "--days", "7", "--seed", "4", "--out",
                                     str(tmp_path / "run"), "--format", "jsonl", "--quiet"])
    assert done.exit_code == 0, done.output
    result = CliRunner().invoke(main, ["profile", "fit", str(tmp_path / "run" / "foot_traffic.jsonl"), "--out",
                                       str(tmp_path / "f.toml"), "--plot", str(tmp_path / "no" / "such" / "f.png")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("foot-traffic: error: --plot")
