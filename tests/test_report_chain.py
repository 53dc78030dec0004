"""The chain report's figures, each per store and saying what it shows (issue 22's figure defects).

A real ``simulate`` run of four stores (New York capped in queue mode, Rome,
Tokyo capped in loss mode with its turned-away customers written, and a UTC
store) from 2025-10-29 00:00 UTC for 8 days, across New York's and Rome's
fall-back nights. The report's series are compared with the JSONL files read
again here (json, zoneinfo: no code of the report's), and its expectations
with :mod:`sim.expect` store by store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from producer import report_agg, report_scan
from producer.cli import main
from producer.formats.read import read_path
from producer.manifest import read_manifest
from producer.report_chain import build_chain_report
from producer.report_page import ChainReport, render_page
from sim.expect import expected_occupancy
from tests.profiles import profile_text, write_profile

ZONES = {"nyc": "America/New_York", "rome": "Europe/Rome", "tokyo": "Asia/Tokyo", "utc": "UTC"}
STORES = """[[stores]]
id = "nyc"
timezone = "America/New_York"
baseline = 300
capacity = 12
capacity_mode = "queue"
patience_minutes = 10

[[stores]]
id = "rome"
timezone = "Europe/Rome"
baseline = 500

[[stores]]
id = "tokyo"
timezone = "Asia/Tokyo"
capacity = 30
capacity_mode = "loss"

[[stores]]
id = "utc"
timezone = "UTC"
baseline = 400
"""


def simulate(folder: Path, stores: str, days: int, *extra: str, fmt: str = "jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stores.toml").write_text(stores, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "simulate", "--stores", str(folder / "stores.toml"), "--start", "2025-10-29", "--days", str(days),
        "--seed", "3", "--out", str(folder / "run"), "--format", fmt, "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("chain"), STORES, 8, "--write-rejected")


@pytest.fixture(scope="module")
def report(run: Path) -> ChainReport:
    return build_chain_report(run)


def views(report: ChainReport) -> dict[str, dict]:  # type: ignore[type-arg]
    return {v.row["store"]: v.figures for v in report.views}


def rows(report: ChainReport) -> dict[str, dict]:  # type: ignore[type-arg]
    return {v.row["store"]: v.row for v in report.views}


def lines(run: Path, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / name).read_text().splitlines()]


def epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


def test_every_store_is_counted_on_its_own(run: Path, report: ChainReport) -> None:
    sessions = lines(run, "foot_traffic.jsonl")
    doors = lines(run, "foot_traffic_realistic.jsonl")
    assert [r.row["store"] for r in report.views] == list(ZONES)
    for store, zone in ZONES.items():
        mine = [s for s in sessions if s["store_id"] == store]
        row, fig = rows(report)[store], views(report)[store]
        assert row["visits"] == len(mine) > 500
        # Dwell: this store's visits per whole minute, not the chain's.
        hist = dict(zip(fig["dwell"]["minutes"].tolist(), fig["dwell"]["simulated"].tolist(), strict=True))
        assert {m: hist[m] for m in hist if hist[m]} == dict(Counter(int(s["trip_duration_minutes"]) for s in mine))
        # Daily totals: its own local days.
        per_day = Counter(dt.datetime.fromisoformat(s["entry_time"]).astimezone(ZoneInfo(zone)).date().isoformat()
                          for s in mine)
        daily = fig["daily"]
        assert dict(zip(daily["day"], daily["simulated"].tolist(), strict=True)) == {
            d: float(per_day.get(d, 0)) for d in daily["day"]}
        if store == "tokyo":
            away = sum(1 for d in doors if d["store_id"] == store and d["event_type"] == "turned_away")
            assert row["turned_away"] == away > 0 and row["arrivals"] == len(mine) + away


def test_occupancy_is_per_store_in_local_time_beside_its_own_expectation(run: Path, report: ChainReport) -> None:
    info, _ = read_manifest(run)
    doors = lines(run, "foot_traffic_realistic.jsonl")
    for store in info.stores:
        occ = views(report)[store.store_id]["occupancy"]
        times = occ["time"]
        # Local wall-clock time of each sample, by zoneinfo.
        for i in (0, len(times) // 2, len(times) - 1):
            local = dt.datetime.fromtimestamp(int(times[i]), ZoneInfo(store.timezone)).replace(tzinfo=dt.UTC)
            assert occ["local"][i] == int(local.timestamp())
        # Customers of this store inside just before the sample, counted by hand.
        kinds = np.array([d["event_type"] for d in doors if d["store_id"] == store.store_id])
        when = np.array([epoch(d["time"]) for d in doors if d["store_id"] == store.store_id])
        for i in (7, len(times) // 3, len(times) - 1):
            t = times[i]
            by_hand = np.sum((kinds == "entry") & (when < t)) - np.sum((kinds == "exit") & (when < t))
            assert occ["simulated"][i] == by_hand
        # Its own expectation, not the chain's sum.
        np.testing.assert_allclose(occ["expected"], expected_occupancy(store, times, info.start, info.end))
        assert occ.get("capacity") == store.capacity
        if store.capacity is not None:
            assert occ["simulated"].max() <= store.capacity < occ["expected"].max() * 1.5


def test_the_dwell_axis_ends_where_the_store_data_and_model_do(report: ChainReport) -> None:
    for fig in views(report).values():
        dwell = fig["dwell"]
        seen = np.flatnonzero(dwell["simulated"])
        longest = int(dwell["minutes"][seen[-1]])
        beyond = dwell["expected"].sum() - np.cumsum(dwell["expected"])
        tail = int(np.argmax(beyond < 0.5)) + 1
        assert dwell["longest"] == longest and dwell["axis_end"] == max(longest, tail) + 1
        assert dwell["axis_end"] < 1.2 * max(longest, tail) + 2


def test_edge_days_cut_by_the_span_are_marked_partial(report: ChainReport) -> None:
    partial = {s: [d for d, p in zip(f["daily"]["day"], f["daily"]["partial"].tolist(), strict=True) if p]
               for s, f in views(report).items()}
    # The span is 2025-10-29 00:00 to 2025-11-06 00:00 UTC: a local day at each end is cut, except in UTC.
    assert partial == {"nyc": ["2025-10-28", "2025-11-05"], "rome": ["2025-10-29", "2025-11-06"],
                       "tokyo": ["2025-10-29", "2025-11-06"], "utc": []}
    nyc = views(report)["nyc"]["daily"]
    assert nyc["hours"].tolist()[0] == 4 and nyc["hours"].tolist()[5] == 25  # 20:00-24:00; fall-back Sunday


def test_the_erlang_caption_names_only_the_columns_shown(report: ChainReport) -> None:
    queue, loss = views(report)["nyc"]["erlang"], views(report)["tokyo"]["erlang"]
    assert "observed" not in queue and "Data" not in queue["caption"] and "queues at the door" in queue["notes"][0]
    assert "observed" in loss and "Data:" in loss["caption"]
    assert np.nanmax(loss["observed"]) > 0
    page = render_page(report)
    assert queue["caption"] in page and loss["caption"] in page


def test_the_page_is_self_contained(report: ChainReport) -> None:
    page = render_page(report)
    # Nothing fetched: no script or style sheet by address, no image by URL; plotly.js is inlined.
    assert "<script src" not in page and "<link" not in page and 'src="http' not in page
    assert "Plotly.newPlot" in page and page.count("<script") == 3
    assert all(f'"{s}"' in page for s in ZONES)


def test_without_run_json_the_data_are_shown_alone(tmp_path: Path) -> None:
    run = simulate(tmp_path, STORES, 2)
    (run / "run.json").unlink()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "note: No run.json" in result.output
    report = build_chain_report(run)
    assert [v.row["store"] for v in report.views] == sorted(ZONES)
    assert all("expected" not in v.figures["occupancy"] and np.isnan(v.row["z"]) for v in report.views)


def test_the_z_scores_of_uncapped_stores_are_standard_normal(tmp_path: Path) -> None:
    """z = (arrivals - expected) / sd: over 80 independent stores, a KS test against N(0, 1) at the 0.1 % level."""
    stores = "".join(f'[[stores]]\nid = "s{i:02d}"\ntimezone = "{list(ZONES.values())[i % 4]}"\nbaseline = 150\n\n'
                     for i in range(80))
    report = build_chain_report(simulate(tmp_path, stores, 3))
    z = np.array([v.row["z"] for v in report.views])
    assert stats.kstest(z, "norm").pvalue > 0.001


@pytest.mark.parametrize(("fmt", "extra"), [("csv", ()), ("parquet", ()), ("parquet", ("--partition",)),
                                           ("jsonl", ("--partition",)), ("avro", ()), ("avro", ("--partition",))])
def test_every_format_and_layout_gives_the_same_counts(tmp_path: Path, fmt: str, extra: tuple[str, ...]) -> None:
    ref = build_chain_report(simulate(tmp_path / "jsonl", STORES, 2, "--write-rejected"))
    other = build_chain_report(simulate(tmp_path / fmt, STORES, 2, "--write-rejected", *extra, fmt=fmt))
    assert [v.row for v in other.views] == [v.row for v in ref.views]
    for a, b in zip(other.views, ref.views, strict=True):
        for name in ("occupancy", "dwell", "daily"):
            assert np.array_equal(a.figures[name]["simulated"], b.figures[name]["simulated"]), name


@pytest.mark.parametrize("fmt", ["jsonl", "avro"])
def test_partitions_counted_in_batches_of_stores_give_the_same_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Three stores a query: two batches, each store's rows tagged with its own row; Avro read once per data set."""
    ref = build_chain_report(simulate(tmp_path / "plain", STORES, 2, "--write-rejected"))
    run = simulate(tmp_path / fmt, STORES, 2, "--write-rejected", "--partition", fmt=fmt)
    monkeypatch.setattr(report_agg, "STORES_PER_QUERY", 3)
    reads: list[Path] = []

    def counted(fmt_: Any, path: Path, columns: Any) -> Any:
        reads.append(path)
        return read_path(fmt_, path, columns)

    monkeypatch.setattr(report_scan, "read_path", counted)
    other = build_chain_report(run)
    assert [v.row for v in other.views] == [v.row for v in ref.views]
    for a, b in zip(other.views, ref.views, strict=True):
        for name in ("occupancy", "dwell", "daily"):
            assert np.array_equal(a.figures[name]["simulated"], b.figures[name]["simulated"]), name
    # JSONL is scanned by DuckDB where it lies; Avro's sessions and doors are each read once, not once a batch.
    assert sorted(reads) == ([] if fmt == "jsonl" else [run / "foot_traffic", run / "foot_traffic_realistic"])


def test_a_sensor_run_shows_its_undercount_and_counted_occupancy(tmp_path: Path) -> None:
    sensor = "[sensor]\nmiss_in = 0.05\nmiss_out = 0.05\n"
    profile = write_profile(tmp_path, profile_text(tables=sensor))
    result = CliRunner().invoke(main, [
        "simulate", "--start", "2025-11-03", "--days", "3", "--seed", "3", "--profile-file", str(profile),
        "--out", str(tmp_path / "run"), "--format", "jsonl", "--quiet"])
    assert result.exit_code == 0, result.output
    (view,) = build_chain_report(tmp_path / "run").views
    true_in = sum(1 for d in lines(tmp_path / "run", "foot_traffic_realistic_true.jsonl") if d["event_type"] == "entry")
    counted_in = sum(int(c["in"]) for c in lines(tmp_path / "run", "foot_traffic_counts.jsonl"))
    assert view.row["undercount"] == pytest.approx((true_in - counted_in) / true_in)
    # Misses of 5 %: the undercount is 5 % within a few binomial standard errors (and double counts are off).
    assert abs(view.row["undercount"] - 0.05) < 4 * (0.05 * 0.95 / true_in) ** 0.5
    sensed = view.figures["sensor"]
    assert sensed["true"].size > 100 and sensed["counted"][-1] != sensed["true"][-1]


def test_a_store_with_labels_has_its_windows_shaded_on_its_clock(tmp_path: Path) -> None:
    stores = STORES.replace('id = "rome"\ntimezone = "Europe/Rome"\nbaseline = 500\n',
                            'id = "rome"\ntimezone = "Europe/Rome"\nbaseline = 500\n[[stores.scenarios]]\n'
                            'kind = "surge"\nfactor = 3\nstart = "2025-10-30T18:00"\nend = "2025-10-30T19:30"\n'
                            '[[stores.scenarios]]\nkind = "early_closure"\nstart = "2025-10-31T12:00"\n')
    labelled = build_chain_report(simulate(tmp_path, stores, 3))
    figures = views(labelled)
    rome = figures["rome"]["labels"]
    local = dt.datetime(2025, 10, 30, 18, 0, tzinfo=dt.UTC).timestamp()
    assert [(w["kind"], w["x0"], w["x1"] - w["x0"]) for w in rome] == [
        ("surge", local, 90 * 60), ("early_closure", local + 18 * 3600, 12 * 3600)]
    assert all("labels" not in figures[s] for s in ("nyc", "tokyo", "utc"))
    page = render_page(labelled)
    assert '"labels":[{"kind":"surge"' in page and "shapes: shades(fig)" in page
