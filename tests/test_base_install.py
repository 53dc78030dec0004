"""The base install (no extras) serves the live producer and ``simulate`` to JSONL and CSV;
everything else says in one line which extra to install.

Run in a venv that holds only ``pip install -e .`` (see :mod:`tests.base_install`),
so a heavy import anywhere on these paths would fail here, not go unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.base_install import HEAVY, ROOT, base_env, base_python
from tests.profiles import profile_text, write_profile
from tests.redis_server import RedisServer

SIM = ["simulate", "--start", "2025-11-03", "--days", "2", "--seed", "42"]


@pytest.fixture(scope="module")
def python() -> Path:
    return base_python()


def run(python: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=base_env(), cwd=cwd,
                          timeout=300)


def foot_traffic(python: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run(python, "-m", "producer.cli", *args, cwd=cwd)


def one_line_naming(result: subprocess.CompletedProcess[str], extra: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # Installed from this clone, the hint names the clone: pip install '/path/to/clone[extra]'.
    assert lines[0].endswith(f"pip install '{ROOT}[{extra}]'"), lines[0]


def test_the_base_install_has_none_of_the_heavy_packages(python: Path) -> None:
    code = f"import importlib.util; print([m for m in {HEAVY!r} if importlib.util.find_spec(m)])"
    assert run(python, "-c", code).stdout.strip() == "[]"


def test_help_and_every_commands_help_work(python: Path) -> None:
    for args in ([], ["simulate"], ["produce"], ["profile"], ["profile", "show"]):
        result = foot_traffic(python, *args, "--help")
        assert result.returncode == 0, (args, result.stderr)
    assert "report" in foot_traffic(python, "--help").stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_simulate_writes_the_same_bytes_as_the_full_install(python: Path, fmt: str, tmp_path: Path) -> None:
    base = foot_traffic(python, *SIM, "--format", fmt, "--out", str(tmp_path / "base"))
    assert base.returncode == 0, base.stderr
    full = subprocess.run([sys.executable, "-m", "producer.cli", *SIM, "--format", fmt, "--out", str(tmp_path / "full")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert full.returncode == 0, full.stderr
    for name in (f"foot_traffic.{fmt}", f"foot_traffic_realistic.{fmt}"):
        assert (tmp_path / "base" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_parquet_names_the_parquet_extra_and_leaves_no_files(python: Path, tmp_path: Path) -> None:
    one_line_naming(foot_traffic(python, *SIM, "--format", "parquet", "--out", str(tmp_path)), "parquet")
    assert list(tmp_path.iterdir()) == []
    # Without --seed too: the line is the only one (no seed is drawn and printed first).
    one_line_naming(foot_traffic(python, "simulate", "--format", "parquet", "--out", str(tmp_path)), "parquet")


def test_report_names_the_report_extra(python: Path, tmp_path: Path) -> None:
    assert foot_traffic(python, *SIM, "--out", str(tmp_path)).returncode == 0
    one_line_naming(foot_traffic(python, "report", str(tmp_path)), "report")


def test_profile_show_works_and_profile_fit_names_the_fit_extra(python: Path, tmp_path: Path) -> None:
    shown = foot_traffic(python, "profile", "show")
    assert shown.returncode == 0, shown.stderr
    assert foot_traffic(python, *SIM, "--out", str(tmp_path)).returncode == 0
    one_line_naming(foot_traffic(python, "profile", "fit", str(tmp_path / "foot_traffic.jsonl"),
                                 "--out", str(tmp_path / "fitted.toml")), "fit")
    assert not (tmp_path / "fitted.toml").exists()


def test_a_gamma_dwell_profile_names_the_fit_extra_and_lognormal_needs_nothing(python: Path, tmp_path: Path) -> None:
    for kind, extra in (("gamma", "fit"), ("lognormal", None)):
        dwell = f'[dwell]\nkind = "{kind}"\nmedian = 30\nspread = 0.5'
        profile = write_profile(tmp_path, profile_text(tables=dwell), f"{kind}.toml")
        result = foot_traffic(python, *SIM, "--profile-file", str(profile), "--out", str(tmp_path / kind))
        if extra:
            one_line_naming(result, extra)
        else:
            assert result.returncode == 0, result.stderr


def test_frames_name_the_pandas_extra(python: Path) -> None:
    code = ("from sim import Simulation\n"
            "try:\n    Simulation.of(start='2025-11-03', days=1, seed=1).frames()\n"
            "except ModuleNotFoundError as exc:\n    print(exc)\n")
    result = run(python, "-c", code)
    assert result.stdout.strip() == (
        f"Simulation.frames() needs pandas, which is not installed: pip install '{ROOT}[pandas]'")


def test_the_live_producer_runs_on_the_base_install(python: Path, redis_server: RedisServer) -> None:
    result = run(python, "-m", "producer", "--redis-url", redis_server.url, "--sim-start", "2025-11-03T09:00:00",
                 "--days", "0.01", "--speed", "100000", "--seed", "5")
    assert result.returncode == 0, result.stderr
    import redis

    client = redis.Redis.from_url(redis_server.url)
    assert client.xlen("foot_traffic:realistic") > 0
