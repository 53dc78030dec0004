"""A Dask worker killed mid-run (issue 25, item 4): the plain run's rows exactly, or one line and nothing published.

``simulate --workers 2`` in its own process; its worker processes (children
started by the local cluster's nannies) are sent SIGKILL once the tasks are
writing (the data sets' ``.partial`` folders exist and nothing is published
yet). Killed once, Dask runs the lost task again and its files replace what
the lost run wrote. Killed every time a nanny restarts one, the run stops
with one line, no traceback (also when they die while the cluster starts), and leaves no data set, no ``run.json`` and no
``.partial`` or staging folder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from tests.partitioned import DATASETS, flat_lines, partitioned_lines

psutil = pytest.importorskip("psutil")  # Dask's own dependency
pytest.importorskip("distributed")

RUN = ("--start", "2026-01-05", "--days", "100", "--base-daily-customers", "3000", "--seed", "11", "--format", "jsonl")
PATIENCE = 600  # seconds: a generous bound for a busy machine


def _start(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "producer.cli", "simulate", *RUN, "--out", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_writing(proc: subprocess.Popen[str], out: Path) -> None:
    """Until the tasks write (a ``.partial`` data set exists) while nothing is published yet."""
    deadline = time.monotonic() + PATIENCE
    while not (out / f"{DATASETS[1]}.partial").is_dir():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the tasks never started writing"
        time.sleep(0.05)
    assert not (out / DATASETS[0]).exists() and not (out / "run.json").exists()


def _kill_workers(proc: subprocess.Popen[str], at_most: int | None = None) -> int:
    """SIGKILL the run's worker processes (up to ``at_most``); how many were killed."""
    killed = 0
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                child.kill()
                killed += 1
        except psutil.NoSuchProcess:
            continue
        if at_most is not None and killed >= at_most:
            break
    return killed


def _no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and "Error:" not in text.replace("foot-traffic: error:", ""), text


def test_a_worker_killed_once_leaves_the_plain_runs_rows(tmp_path: Path) -> None:
    proc = _start(tmp_path / "dask")
    try:
        _wait_until_writing(proc, tmp_path / "dask")
        assert _kill_workers(proc, at_most=1) == 1
        stdout, stderr = proc.communicate(timeout=PATIENCE)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    _no_traceback(stdout, stderr)
    assert "tasks on 2 local workers" in stdout
    result = CliRunner().invoke(main, ["simulate", *RUN, "--out", str(tmp_path / "plain")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for dataset in DATASETS:
        want = flat_lines(tmp_path / "plain", dataset)
        assert len(want) > 100_000
        assert sorted(partitioned_lines(tmp_path / "dask", dataset)) == sorted(want), dataset


@pytest.mark.parametrize("from_start", [False, True], ids=["mid-run", "while-starting"])
def test_workers_that_keep_dying_stop_the_run_with_one_line_and_nothing_published(
    tmp_path: Path, from_start: bool
) -> None:
    """Mid-run, or from the cluster's start (the nannies then fail to start their workers)."""
    out = tmp_path / "dask"
    proc = _start(out)
    kills = 0
    try:
        if not from_start:
            _wait_until_writing(proc, out)
        deadline = time.monotonic() + PATIENCE
        while proc.poll() is None:
            kills += _kill_workers(proc)
            assert time.monotonic() < deadline, f"the run went on with its workers dying ({kills} killed)"
            time.sleep(0.1)
        stdout, stderr = proc.communicate(timeout=PATIENCE)
    finally:
        proc.kill()
    assert kills >= 1 if from_start else kills >= 2
    assert proc.returncode == 1, (stdout, stderr)
    # Besides the one error, only the warning that so small a run gains nothing from --workers.
    lines = [line for line in stderr.strip().splitlines() if "is too small to gain from a cluster" not in line]
    assert len(lines) == 1 and lines[0].startswith("foot-traffic: error:") and "Dask" in lines[0], stderr
    _no_traceback(stdout, stderr)
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == [], "nothing that looks complete, nothing half-written"
