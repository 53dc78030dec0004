"""Build the chain report of a data set folder: count where the data are, then one view per store.

The counts come from :func:`producer.report_agg.aggregate` (DuckDB over the
files, per store and bin), the views from :mod:`producer.report_views`; the
page from :mod:`producer.report_page`. Without ``run.json`` the page shows
the data alone (stores and span from the data) and says why.
"""

from __future__ import annotations

from pathlib import Path

from producer.dataset import data_files
from producer.manifest import RunInfo, run_info_of
from producer.report_agg import Counts, aggregate, bin_width
from producer.report_labels import store_labels
from producer.report_page import ChainReport
from producer.report_views import StoreView, store_view
from sim.events import iso
from sim.store import Store

#: The note of a report whose stores have a capacity when the run did not write who was turned away.
REJECTED_NOT_WRITTEN = ("Customers turned away or giving up were not written (WRITE_REJECTED=0): "
                        "the admission figures show admitted customers only.")


def _stores_and_width(info: RunInfo | None) -> tuple[tuple[str, ...] | None, int]:
    if info is None:
        return None, bin_width([])
    return tuple(s.store_id for s in info.stores), bin_width([m for s in info.stores for m in s.profile.starts])


def _add_labels(views: list[StoreView], info: RunInfo | None) -> None:
    """Each view of a store with labels gets its windows, which the page shades in the time figures."""
    labelled = store_labels(info)
    for view in views:
        if view.row["store"] in labelled:
            view.figures["labels"] = labelled[view.row["store"]]


def chain_report(counts: Counts, info: RunInfo | None, title: str, source: str, notes: list[str]) -> ChainReport:
    """The page's contents from the binned counts and the run's record (None: the data alone)."""
    start = info.start if info else counts.anchor
    end = info.end if info else counts.anchor + counts.n_bins * counts.bin_seconds
    by_id: dict[str, Store] = {s.store_id: s for s in info.stores} if info else {}
    rejected_written = info is not None and info.rejected_written
    views = [store_view(counts, r, by_id.get(sid), start, end, rejected_written) for r, sid in enumerate(counts.stores)]
    _add_labels(views, info)
    if any(s.capacity is not None for s in by_id.values()) and not rejected_written:
        notes.append(REJECTED_NOT_WRITTEN)
    summary = [("data set", source), ("span", f"{iso(start)} to {iso(end)}"), ("stores", f"{len(counts.stores):,}"),
               ("visits", f"{int(counts.entries.sum()):,}"),
               ("door events", f"{int(counts.door_in.sum() + counts.door_out.sum()):,} entries and exits")]
    if info is not None:
        summary.append(("seed", str(info.seed)))
    return ChainReport(title, summary, notes, views)


def build_chain_report(folder: str | Path, fmt: str | None = None) -> ChainReport:
    """Read a data set folder (and its run.json) into the chain report."""
    path = Path(folder)
    files = data_files(path, fmt)
    info, notes = run_info_of(path)
    stores, width = _stores_and_width(info)
    counts = aggregate(files, stores, info.start if info else None, info.end if info else None, width)
    return chain_report(counts, info, path.name, f"{path} ({files.fmt})", notes)
