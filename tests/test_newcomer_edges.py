"""The rough edges of a newcomer's first hour (issue 21), each fixed and kept fixed.

Messages a new user met that were a traceback, a wrong exit code, silence, or an
install hint that could not be followed from a clone.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from producer.cli import main
from tests.base_install import ROOT, base_env, base_python
from tests.producer_run import wait_for, watch_producer
from tests.redis_server import RedisServer

SIM = ["simulate", "--start", "2025-11-03", "--days", "1", "--seed", "42"]


def _settled(check: Callable[[], bool]) -> Callable[[], bool]:
    """``check``, False while the files it looks at are being created, renamed or removed under it."""
    def safe() -> bool:
        try:
            return check()
        except OSError:
            return False
    return safe


def _base(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(base_python()), "-m", "producer.cli", *args], capture_output=True, text=True,
                          env=base_env(), cwd=ROOT, timeout=300)


def test_report_to_an_unwritable_out_is_one_line_and_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "run"
    assert CliRunner().invoke(main, [*SIM, "--out", str(data), "--quiet"]).exit_code == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, "-m", "producer.cli", "report", str(data), "--out",
                             str(blocker / "report.html")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"foot-traffic: error: --out {blocker / 'report.html'}: "
                                                   "cannot write the page"), result.stderr


def test_report_help_on_the_base_install_shows_help_and_the_extra() -> None:
    result = _base("report", "--help")
    assert result.returncode == 0, result.stderr
    assert "Draw a data set written by 'simulate'" in result.stdout
    assert f"pip install '{ROOT}[report]'" in " ".join(result.stdout.split()), result.stdout
    # Run rather than asked for help, it is still the one line naming the extra, exit 2.
    ran = _base("report", "some-folder", "--out", "x.html")
    assert ran.returncode == 2 and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert ran.stderr.strip().endswith(f"pip install '{ROOT}[report]'"), ran.stderr


def test_workers_on_the_base_install_names_the_dask_extra_from_the_clone(tmp_path: Path) -> None:
    result = _base(*SIM, "--workers", "2", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Dask" in lines[0], result.stderr
    assert lines[0].endswith(f"pip install '{ROOT}[dask]'"), lines[0]
    assert not (tmp_path / "out").exists()


def test_the_dask_extra_brings_what_workers_need() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "foot-traffic-sim[parquet]" in extras["dask"] and any(d.startswith("dask[distributed]")
                                                                 for d in extras["dask"])


def test_the_notebooks_extra_brings_jupyterlab_and_the_docs_say_how_to_open_them() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("jupyterlab") for d in extras["notebooks"]), extras["notebooks"]
    lab = subprocess.run([str(Path(sys.executable).parent / "jupyter-lab"), "--version"], capture_output=True,
                         text=True, timeout=120)
    assert lab.returncode == 0 and lab.stdout.strip()[0].isdigit(), lab.stderr
    api = (ROOT / "docs" / "api.md").read_text()
    assert "pip install '.[notebooks]'" in api and "jupyter lab notebooks/" in api


def test_ctrl_c_in_simulate_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # SIGINT as a terminal's Ctrl-C finds it (a test runner started in the background may ignore it).
    proc = subprocess.Popen([sys.executable, "-m", "producer.cli", "simulate", "--days", "3650", "--seed", "1",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # Mid-run: the sessions file has taken its first megabyte.
        wait_for(_settled(lambda: out.is_dir() and sum(p.stat().st_size for p in out.iterdir()) > 1_000_000),
                 timeout=120)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["foot-traffic: interrupted"], err
    assert sorted(p.name for p in out.iterdir()) == []  # the .partial files are gone, nothing looks complete


def test_produce_without_a_redis_says_once_how_to_name_one_and_keeps_waiting() -> None:
    server = RedisServer()  # its port is chosen, nothing listens there yet
    producer = watch_producer(f"redis://127.0.0.1:{server.port}/0", "--sim-start", "2025-11-03", "--days", "1",
                              "--daily-customers", "200", "--seed", "3", speed="max")
    try:
        producer.wait_for_log("to use another Redis, name it")
        wait_for(lambda: producer.stderr.count("is unreachable") >= 3, timeout=60)
        server.start()  # Redis comes up late, as compose may start it
        out, err = producer.finish(timeout=120)
    finally:
        producer.proc.kill()
        server.close()
    assert producer.proc.returncode == 0, err
    assert err.count("to use another Redis, name it") == 1, err
    assert "REDIS_URL=redis://HOST:PORT/DB or --redis-url" in err
    assert "finished at" in err


@pytest.mark.parametrize("given", [["--seed", "1.5"], ["--seed", "-1"]])
def test_a_seed_that_is_not_a_whole_number_warns_it_is_taken_as_text(given: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*SIM[:5], *given, "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"--seed {given[1]!r} is not a whole number from 0 to 2^63 - 1: it is taken as text" in result.stderr


def test_a_whole_seed_does_not_warn(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*SIM, "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0 and "taken as text" not in result.stderr


def test_the_environments_seed_is_named_as_typed(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*SIM[:5], "--out", str(tmp_path), "--quiet"], env={"SEED": "-1"})
    assert result.exit_code == 0, result.output
    assert "SEED '-1' is not a whole number" in result.stderr



def test_speed_max_on_a_new_run_logs_no_lag_and_no_puzzle(redis_server: RedisServer) -> None:
    """``--speed max`` is not "0 s behind", and the replay's skipped entries say what they are."""
    producer = watch_producer(redis_server.url, "--sim-start", "2025-11-03", "--days", "1", "--seed", "42",
                              speed="max")
    _, err = producer.finish(timeout=120)
    assert producer.proc.returncode == 0, err
    assert "s behind" not in err and "speed 1e+09" not in err, err
    assert "--speed max: writing 2025-11-03T00:00:00+00:00 to 2025-11-04T00:00:00+00:00 at once" in err, err
    assert "new run: seed 42, start 2025-11-03T00:00:00+00:00, speed max," in err, err
    assert "already there" not in err and "were in Redis already: not written twice" in err, err


def test_profile_fit_says_how_often_each_weekday_was_seen_and_writes_a_row_per_weekday(tmp_path: Path) -> None:
    data = tmp_path / "run"
    assert CliRunner().invoke(main, [*SIM[:3], "--days", "7", "--seed", "5", "--out", str(data), "--quiet"]).exit_code == 0
    fitted = subprocess.run([sys.executable, "-m", "producer.cli", "profile", "fit", str(data / "foot_traffic.jsonl"),
                             "--out", str(tmp_path / "shop.toml")], capture_output=True, text=True, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    assert "each weekday seen once" in fitted.stdout and "1-1 times" not in fitted.stdout, fitted.stdout
    text = (tmp_path / "shop.toml").read_text()
    rows = [line for line in text.splitlines() if line.startswith(("Monday = [", "Sunday = ["))]
    assert len(rows) == 2 and all(line.endswith("]") and line.count(",") == 5 for line in rows), text
    assert 'slots = ["00:00", "07:00", "10:00", "14:00", "17:00", "20:00"]' in text


def test_one_line_arrays_read_back_the_same_whatever_their_text() -> None:
    import tomllib

    import tomli_w

    from sim.profile import DEFAULT_PROFILE, _inline_arrays

    mapping = {**DEFAULT_PROFILE.to_mapping(), "name": 'a, "b"], {c}\n'}
    mapping["extra"] = {"texts": ["x, y", "[z]", "{w}", 'q"uote,', "plain"], "numbers": [1.5, -2, 3e-9]}
    text = _inline_arrays(tomli_w.dumps(mapping))
    assert tomllib.loads(text) == mapping
    assert "numbers = [1.5, -2, 3e-09]" in text


@pytest.mark.parametrize("command", [["simulate"], ["produce"], ["profile", "fit"], ["profile", "show"]])
def test_help_names_each_value_groups_the_options_and_shows_an_example(command: list[str]) -> None:
    shown = CliRunner().invoke(main, [*command, "--help"], terminal_width=100)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert " VALUE" not in text and "default None" not in text, text
    assert "\nExamples:\n" in text
    examples = text.split("\nExamples:\n")[1].strip().splitlines()
    assert examples and all(line.strip().startswith(f"foot-traffic {' '.join(command)} ") for line in examples)
    if command[0] in ("simulate", "produce"):
        assert "--seed INTEGER|TEXT" in text and "--days N" in text
        assert "\nSpan:\n" in text and "\nTraffic:\n" in text and "\nOutput:\n" in text
    if command == ["produce"]:
        for section in ("Redis", "Redis Cluster", "Clock", "Lease", "Metrics and logs"):
            assert f"\n{section}:\n" in text, section
        assert "--sim-start DATE|TIME" in text and "--speed NUMBER|max" in text and "--redis-url URL" in text
        # 40-odd options, no section holds more than the traffic settings' 14.
        sections = [block for block in text.split("\n\n") if block.split(":\n")[0] in (
            "Span", "Traffic", "Door sensor", "Output", "Redis", "Redis Cluster", "Clock", "Lease")]
        assert all(block.count("\n  --") <= 14 for block in sections), sections


def test_every_example_in_help_runs_its_command() -> None:
    """The help's examples name real options: each parses (run with --help appended, which parses first)."""
    from producer.options import EXAMPLES

    for name, lines in EXAMPLES.items():
        for line in lines:
            args = line.split()[1:]
            parsed = CliRunner().invoke(main, [*args, "--help"])
            assert parsed.exit_code == 0, (name, line, parsed.output)


def test_workers_warn_when_a_run_is_too_small_to_gain(tmp_path: Path) -> None:
    from producer.cluster import BREAK_EVEN_VISITS, too_small_for_workers

    assert too_small_for_workers(100 * 15 * 1000, 100, 15, 2) is None and BREAK_EVEN_VISITS == 1_500_000
    assert too_small_for_workers(3 * 7 * 1000, 3, 7, 2) is not None
    assert too_small_for_workers(400 * 20_000, 1, 400, 2) is None  # one big store is not small
    small = subprocess.run([sys.executable, "-m", "producer.cli", *SIM, "--workers", "2", "--out", str(tmp_path / "o")],
                           capture_output=True, text=True, timeout=300)
    assert small.returncode == 0, small.stderr
    warned = [line for line in small.stderr.splitlines() if line.startswith("foot-traffic: warning: --workers 2:")]
    assert len(warned) == 1 and "1 store x 1 day (about 1,000 visits) is too small to gain" in warned[0], small.stderr
    assert (tmp_path / "o" / "run.json").is_file()  # it runs all the same


def test_ctrl_c_with_workers_exits_130_without_tracebacks(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole foreground process group: the command and Dask's processes."""
    import os

    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "producer.cli", "simulate", "--days", "400", "--seed", "1",
                             "--default-daily-customers", "20000", "--workers", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # The workers are writing partitions.
        wait_for(_settled(lambda: out.is_dir() and any(p.is_file() for p in out.rglob("*.jsonl"))), timeout=300)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "foot-traffic: interrupted", err
    assert len(err.strip().splitlines()) == 1, err
