"""run.json carries its ``format_version``: 2 today, and 1 (the shape older runs wrote) still reports.

Version 2 holds each store in its own form (the dwell a table with its
``kind``). A version-1 file is built here as the older writer wrote it: a
mixture dwell as ``{"shares", "bands"}`` (any other model as ``null``), and,
before the queue keys, no ``capacity_mode`` or ``patience``. A version this
code does not know is one line naming the key and the versions read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from producer.cli import main
from producer.manifest import read_manifest
from producer.report import build_report
from sim.dwell import MixtureDwell
from sim.store import Store

START, DAYS, SEED = "2025-11-06", 2, 11


def simulate(folder: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, [
        "simulate", "--start", START, "--days", str(DAYS), "--seed", str(SEED), "--out", str(folder),
        "--format", "jsonl", "--quiet", *extra,
    ])
    assert result.exit_code == 0, result.output


def as_version_1(entry: dict[str, Any], store: Store, queue_keys: bool) -> dict[str, Any]:
    """A store's entry as the version-1 writer gave it: its ``dwell_to_dict`` (a mixture's shares and bands,
    ``None`` for any other model), and, before the queue keys, no ``capacity_mode`` or ``patience``."""
    old = dict(entry)
    dwell = store.dwell
    old["dwell"] = ({"shares": list(dwell.shares), "bands": [[b.low, b.high] for b in dwell.bands]}
                    if isinstance(dwell, MixtureDwell) else None)
    if not queue_keys:
        del old["capacity_mode"], old["patience"]
    return old


def report(folder: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(folder / "report.html")])
    return result.exit_code, result.output.strip().splitlines()


def test_a_run_writes_version_2_with_each_store_in_its_own_form(tmp_path: Path) -> None:
    simulate(tmp_path, "--store-capacity", "5")
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["format_version"] == 2
    assert doc["stores"][0]["dwell"] == {"kind": "default"} and doc["stores"][0]["capacity_mode"] == "queue"


@pytest.mark.parametrize("queue_keys", [True, False], ids=["with-queue-keys", "before-queue-keys"])
def test_a_version_1_run_json_still_reports(tmp_path: Path, queue_keys: bool) -> None:
    simulate(tmp_path, "--store-capacity", "5")
    path = tmp_path / "run.json"
    doc = json.loads(path.read_text())
    info_v2, known_v2 = read_manifest(tmp_path)
    old = {**doc, "format_version": 1,
           "stores": [as_version_1(e, s, queue_keys) for e, s in zip(doc["stores"], info_v2.stores, strict=True)]}
    assert old["stores"][0]["dwell"].keys() == {"shares", "bands"}
    path.write_text(json.dumps(old, indent=2))

    info, known = read_manifest(tmp_path)
    assert info == info_v2 and known and known_v2
    assert isinstance(info.stores[0].dwell, MixtureDwell) and info.stores[0].capacity == 5
    code, lines = report(tmp_path)
    assert code == 0, lines
    assert (tmp_path / "report.html").stat().st_size > 0
    drawn = build_report(tmp_path)  # the expectation is drawn from the version-1 stores
    assert any("expected" in f.series for f in drawn.figures)


def test_a_version_1_file_with_stores_in_their_own_form_reads(tmp_path: Path) -> None:
    """Runs written just before the bump carry 1 with the dwell as a table: still read."""
    simulate(tmp_path)
    path = tmp_path / "run.json"
    info_v2, _ = read_manifest(tmp_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": 1}))
    assert read_manifest(tmp_path)[0] == info_v2


@pytest.mark.parametrize("version", [3, 0, "2", None, 2.0])
def test_an_unknown_version_is_one_line(tmp_path: Path, version: object) -> None:
    simulate(tmp_path)
    path = tmp_path / "run.json"
    doc = json.loads(path.read_text())
    if version is None:
        del doc["format_version"]
    else:
        doc["format_version"] = version
    path.write_text(json.dumps(doc))
    code, lines = report(tmp_path)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("foot-traffic: error:"), lines
    assert "format_version" in lines[0] and "expected 1 or 2" in lines[0], lines


def test_a_version_2_store_without_its_queue_keys_is_refused(tmp_path: Path) -> None:
    """Version 2 stores are whole: nothing is defaulted for a missing key."""
    simulate(tmp_path)
    path = tmp_path / "run.json"
    doc = json.loads(path.read_text())
    del doc["stores"][0]["capacity_mode"]
    path.write_text(json.dumps(doc))
    code, lines = report(tmp_path)
    assert code == 2 and len(lines) == 1 and "missing key 'capacity_mode'" in lines[0], lines
