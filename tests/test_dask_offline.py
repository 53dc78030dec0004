"""``simulate --workers N`` and ``--scheduler ADDRESS``: real Dask clusters, the plain run's rows exactly.

A local cluster (``--workers 2``: LocalCluster, two worker processes) and a
cluster of a ``dask scheduler`` and two ``dask worker`` processes started
here on free 127.0.0.1 ports, reached by address. The four stores of
:mod:`tests.partitioned` cover an uncapped store over Rome's changeover, a
capped store over New York's, visits of up to two days that straddle task
boundaries, and a dwell without an upper bound.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from tests.partitioned import (
    DATASETS,
    WINDOW,
    flat_lines,
    parquet_rows_equal,
    partitioned_lines,
    simulate,
    stores_file,
)
from tests.redis_server import free_port

distributed = pytest.importorskip("distributed")

DASK = str(Path(sys.executable).parent / "dask")


def _flat(folder: Path, seed: str, fmt: str) -> Path:
    out = folder / f"flat-{fmt}"
    result = CliRunner().invoke(main, ["simulate", *WINDOW, "--seed", seed, "--stores", str(stores_file(folder)),
                                       "--format", fmt, "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; its address once both joined."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "wb"))]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--name", f"w{i}"],
                stdout=subprocess.DEVNULL, stderr=open(logs / f"worker{i}.log", "wb")))
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)  # the condition itself, not a guessed delay
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_local_cluster_of_two_workers_writes_the_plain_runs_rows(tmp_path: Path) -> None:
    """No --seed: the seed is printed, and the plain run with that seed has the very same rows."""
    result = simulate(*WINDOW, "--stores", str(stores_file(tmp_path)), "--format", "parquet",
                      "--out", str(tmp_path / "dask"), "--workers", "2")
    assert result.returncode == 0, result.stderr
    seed = re.search(r"pass --seed (\d+) to repeat", result.stderr)
    assert seed, result.stderr
    assert "tasks on 2 local workers" in result.stdout and f"seed {seed.group(1)}" in result.stdout
    assert "at capacity:" in result.stdout
    flat = _flat(tmp_path, seed.group(1), "parquet")
    for dataset in DATASETS:
        assert parquet_rows_equal(flat, tmp_path / "dask", dataset) > 1000
    assert (tmp_path / "dask" / "run.json").is_file()


def test_a_cluster_reached_by_address_writes_the_plain_runs_lines(tmp_path: Path, scheduler: str) -> None:
    """JSONL and CSV in one test: one cluster for both (a module fixture is made per xdist process)."""
    for fmt in ("jsonl", "csv"):
        result = simulate(*WINDOW, "--seed", "11", "--stores", str(stores_file(tmp_path)), "--format", fmt,
                          "--out", str(tmp_path / fmt), "--scheduler", scheduler)
        assert result.returncode == 0, result.stderr
        assert f"tasks on {scheduler}" in result.stdout
        flat = _flat(tmp_path, "11", fmt)
        for dataset in DATASETS:
            want = flat_lines(flat, dataset, fmt)
            assert len(want) > 1000
            assert sorted(partitioned_lines(tmp_path / fmt, dataset, fmt)) == sorted(want)


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers '0' is not valid: expected a whole number from 1 to 256"),
    (["--workers", "two"], "--workers 'two' is not valid: expected a whole number from 1 to 256"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--workers and --scheduler: give one of them"),
    (["--scheduler", "127.0.0.1:8786"], "--scheduler '127.0.0.1:8786' is not valid: expected tcp://HOST:PORT"),
])
def test_bad_cluster_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--days", "1", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_scheduler_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    result = simulate("--days", "1", "--seed", "1", "--out", str(tmp_path / "out"), "--scheduler", address, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"foot-traffic: error: --scheduler {address}: cannot reach")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # nothing that looks like a data set


def test_without_dask_the_error_names_the_extra(tmp_path: Path) -> None:
    """Dask made unimportable in the child (a None entry in sys.modules is how Python spells it).

    Installed from this clone, the hint names the clone, as every other missing extra's does
    (issue 21: ``foot-traffic-sim[dask]`` is not installable from a clone)."""
    from sim.extras import install_hint

    code = ("import sys\nsys.modules['dask'] = sys.modules['distributed'] = None\n"
            "from producer.cli import main\nmain()\n")
    result = subprocess.run(
        [sys.executable, "-c", code, "simulate", "--days", "1", "--out", str(tmp_path / "out"), "--workers", "2"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "foot-traffic: error: --workers and --scheduler need Dask, which is not installed: "
        f"{install_hint('dask')}"
    ]
    assert install_hint("dask") == f"pip install '{Path(__file__).resolve().parents[1]}[dask]'"
