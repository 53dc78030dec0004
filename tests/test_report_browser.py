"""The chain report of 100 stores, opened in headless Chromium (Debian's ``chromium``, over DevTools).

The page is written by the real command line from a real 100-store run. In
the browser: no console error or uncaught exception, the overview table names
every store, picking a store (the picker, and a click on its row) draws that
store's figures, every figure's legend sits above its plotting area, and a
screenshot of the page is not blank.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from producer.cli import main
from tests.browser import Browser

STORES = [f"store-{i:03d}" for i in range(100)]
ZONES = ("UTC", "Europe/Rome", "America/New_York", "Asia/Tokyo")
#: The first store has a labelled scenario: its occupancy shades the window.
SURGE = '[[stores.scenarios]]\nkind = "surge"\nfactor = 3\nstart = "2025-11-01T10:00"\nend = "2025-11-01T13:00"\n'


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chain")
    (folder / "stores.toml").write_text("".join(
        f'[[stores]]\nid = "{s}"\ntimezone = "{ZONES[i % 4]}"\nbaseline = 200\n'
        + ('capacity = 8\ncapacity_mode = "loss"\n' if i % 10 == 3 else "") + (SURGE if i == 0 else "") + "\n"
        for i, s in enumerate(STORES)), encoding="utf-8")
    result = CliRunner().invoke(main, [
        "simulate", "--stores", str(folder / "stores.toml"), "--start", "2025-10-31", "--days", "4",
        "--seed", "11", "--out", str(folder / "run"), "--format", "parquet", "--write-rejected", "--quiet"])
    assert result.exit_code == 0, result.output
    done = subprocess.run([sys.executable, "-m", "producer.cli", "report", str(folder / "run")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return folder / "run" / "report.html"


@pytest.fixture()
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


PLOTS = "Array.from(document.querySelectorAll('#store-figures .js-plotly-plot'))"
LEGENDS_ABOVE = PLOTS + """.map(gd => {
    const legend = gd.querySelector('.legend').getBoundingClientRect();
    const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
    return legend.bottom <= area.top + 1;
})"""


def figures_of(browser: Browser, store: str) -> list[str]:
    """Wait until the store's figures are drawn; the ids of the drawn figures, each with at least one trace."""
    browser.wait_for(f"document.getElementById('store-figures').dataset.store === {store!r}")
    return list(browser.wait_for(PLOTS + ".filter(gd => gd.querySelectorAll('.trace').length > 0)"
                                 ".map(gd => gd.parentElement.id)"))


def test_the_chain_report_works_in_a_browser(page: Path, browser: Browser, tmp_path: Path) -> None:
    assert page.stat().st_size < 8e6
    browser.open(page.as_uri())
    listed = browser.wait_for("Array.from(document.querySelectorAll('#overview tbody tr'))"
                              ".map(tr => tr.firstElementChild.textContent)")
    assert sorted(listed) == STORES
    # The first store is drawn on load; then the picker picks a capped store: its admission figure too.
    assert figures_of(browser, STORES[0]) == ["occupancy", "weekly", "daily", "dwell"]
    shaded = browser.evaluate("document.getElementById('occupancy-plot').layout.shapes.map(s => [s.name, s.x0, s.x1])")
    assert shaded == [["surge", "2025-11-01T10:00:00", "2025-11-01T13:00:00"]]
    assert browser.evaluate("document.querySelectorAll('#occupancy-plot .shapelayer path').length") >= 1
    assert "labelled scenario window" in browser.evaluate("document.querySelector('#occupancy .caption').textContent")
    browser.evaluate("const p = document.getElementById('store-picker'); p.value = 'store-013';"
                     "p.dispatchEvent(new Event('change'))")
    assert figures_of(browser, "store-013") == ["occupancy", "weekly", "daily", "dwell", "admission"]
    assert "store-013" in browser.evaluate("document.getElementById('store-heading').textContent")
    assert browser.evaluate("document.querySelector('#erlang table').rows.length") == 8  # a head and 7 weekdays
    assert all(browser.evaluate(LEGENDS_ABOVE))
    # The capped store's occupancy: its capacity drawn and named, its expectation captioned as without the limit.
    names = browser.evaluate("document.getElementById('occupancy-plot').data.map(t => t.name)")
    assert names == ["simulated (door events)", "expected E[N(t)], without the capacity limit", "capacity 8"]
    caption = browser.evaluate("document.querySelector('#occupancy .caption').textContent")
    assert "(Europe/Rome)" in caption and "this store's capacity" in caption  # store-013 is in Rome
    # A click on a row of the table picks that store.
    browser.evaluate("document.querySelector(\"#overview tr[data-store='store-042']\").click()")
    assert figures_of(browser, "store-042") == ["occupancy", "weekly", "daily", "dwell"]
    # Its occupancy is drawn on New York's wall clock, across the fall-back night of 2 November.
    drawn = browser.evaluate("document.getElementById('occupancy-plot').data[0].x")
    start = dt.datetime(2025, 10, 31, tzinfo=dt.UTC)
    local = [(start + dt.timedelta(minutes=15 * (k + 1))).astimezone(ZoneInfo("America/New_York"))
             .strftime("%Y-%m-%dT%H:%M:%S") for k in range(4 * 96)]
    assert drawn == local and local.count("2025-11-02T01:15:00") == 2
    # Sorting by z puts the rows in order of their z-scores.
    browser.evaluate("document.querySelector(\"#overview th[data-key='z']\").click()")
    z = browser.evaluate("Array.from(document.querySelectorAll('#overview tbody tr'))"
                         ".map(tr => parseFloat(tr.children[5].textContent))")
    assert z == sorted(z) and len(z) == 100
    shot = browser.screenshot()
    (tmp_path / "report.png").write_bytes(shot)
    pixels = imread(io.BytesIO(shot), format="png")[..., :3].reshape(-1, 3)
    assert pixels.std() > 0.05  # not a blank page
    assert len(np.unique((pixels * 255).round().astype(np.uint8), axis=0)) > 50
    assert browser.errors == []
