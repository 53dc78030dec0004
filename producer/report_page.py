"""The chain report's page: an overview of every store, then one store's figures at a time, drawn in the browser.

One self-contained HTML file that works offline: plotly.js is inlined (from
the ``plotly`` package, no CDN), the numbers are one JSON block, and a small
script draws the overview's weekly shapes (small multiples, one per store),
sorts the table, and draws the picked store's figures with Plotly (zoom,
hover, a range slider on the occupancy). Plotly was chosen because its
Python package ships the whole JS library as one file to inline, and its
figures zoom, pan and hover without any code of ours; the data are sent once
and only the picked store is drawn, so a page of 100 stores stays small.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import orjson
from plotly.offline import get_plotlyjs

from producer.report_views import StoreView

#: Decimals kept in the page's numbers (counts are whole; expectations need no more).
DECIMALS = 2


@dataclass
class ChainReport:
    """Everything the page shows."""

    title: str
    summary: list[tuple[str, str]]
    notes: list[str]
    views: list[StoreView]


def _compact(value: Any) -> Any:
    """Arrays as rounded lists (NaN as null), times as a start, a step and the jumps of a DST change."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if k not in ("time",)}
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            return [_compact(v) for v in value]
        if value.dtype.kind == "f":
            rounded = np.round(value, DECIMALS)
            whole = np.isfinite(rounded) & (rounded == np.round(rounded))
            return [None if not np.isfinite(v) else (int(v) if w else float(v))
                    for v, w in zip(rounded.tolist(), whole.tolist(), strict=True)]
        return value.tolist()
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 4)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _times(local: np.ndarray) -> dict[str, Any]:
    """Local wall-clock seconds as a first value, a step and the places where the step differs."""
    if local.size < 2:
        return {"x0": int(local[0]) if local.size else 0, "dx": 0, "jumps": []}
    steps = np.diff(local)
    step = int(np.bincount(np.abs(steps)).argmax()) if steps.size else 0
    odd = np.flatnonzero(steps != step)
    return {"x0": int(local[0]), "dx": step, "jumps": [[int(i) + 1, int(steps[i] - step)] for i in odd]}


def page_data(report: ChainReport) -> dict[str, Any]:
    """The JSON the page's script reads: the overview rows and each store's figures."""
    figures = {}
    for view in report.views:
        fig = dict(view.figures)
        for name in ("occupancy", "sensor"):
            if name in fig:
                fig[name] = {**fig[name], "x": _times(np.asarray(fig[name]["local"], np.int64))}
                fig[name].pop("local")
        figures[view.row["store"]] = _compact(fig)
    return {"stores": _compact([v.row for v in report.views]), "figures": figures}


def _plotly_js() -> str:
    return str(get_plotlyjs())


def _script() -> str:
    return resources.files("producer").joinpath("report_page.js").read_text(encoding="utf-8")


def render_page(report: ChainReport) -> str:
    """The whole page as one string."""
    e = html.escape
    data = orjson.dumps(page_data(report), option=orjson.OPT_SERIALIZE_NUMPY).decode().replace("</", "<\\/")
    summary = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in report.summary)
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in report.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Foot traffic report: {e(report.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1280px; margin: 1.5em auto; color: #222; padding: 0 1em; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 2px 10px 2px 0; }}
#overview th {{ cursor: pointer; border-bottom: 1px solid #999; white-space: nowrap; }}
#overview td {{ white-space: nowrap; }} #overview td.num {{ text-align: right; }} #overview tbody tr:hover {{ background: #eef3fa; cursor: pointer; }}
#overview tbody tr.picked {{ background: #dde8f6; }}
.note {{ background: #fff4d6; padding: 6px 10px; }} .caption {{ color: #444; margin-top: 0; }}
.far {{ color: #b3261e; }} .fig {{ width: 100%; height: 380px; }} .erlang td {{ font-size: 0.85em; }}
.wrap {{ max-height: 480px; overflow: auto; border: 1px solid #ddd; }}
</style></head><body>
<h1>Foot traffic report</h1>
<table id="summary">{summary}</table>
{notes}
<h2>Stores furthest from their expectation</h2>
<ul id="furthest"></ul>
<h2>Every store</h2>
<p class="caption">Click a column's name to sort by it, a row to show that store below. Weekly shape: the
store's mean arrivals per local hour from Monday 00:00 to Sunday 24:00 (blue), and the profile's expectation
(red), each scaled to the store's own peak. Arrivals: the visits, and at a store with a capacity the
customers turned away or giving up too (when the run wrote them). z: (arrivals - expected) / its standard
deviation.</p>
<div class="wrap"><table id="overview"><thead></thead><tbody></tbody></table></div>
<h2 id="store-heading">Store</h2>
<p><label for="store-picker">Store: </label><select id="store-picker"></select></p>
<div id="store-figures"></div>
<script type="application/json" id="report-data">{data}</script>
<script>{_plotly_js()}</script>
<script>{_script()}</script>
</body></html>
"""
