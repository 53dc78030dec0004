"""Every example the documentation shows runs as written, on the install the page says it needs.

A page marks a runnable block with a comment just above it:

- ``<!-- example: base -->``: shell lines run with the base install's venv first on
  ``PATH`` (``tests/base_install.py``); ``test`` runs them with this venv (every extra);
- ``python`` after the install: the block is Python, run by that venv's interpreter;
- ``continues``: the block runs in the folder of the page's runnable block before it, after that one
  (a Python block reading what a shell block wrote);
- ``redis on port N``: the block starts and stops its own scratch ``redis-server`` on
  port N; the test gives it a free port instead of N (the one thing it changes, so that
  parallel tests never share a server) and stops that server if the block failed;
- ``<!-- example-file: PATH -->``: the block is the file ``PATH`` of the repository, byte
  for byte (so a page never shows a file other than the one its commands use).

Each block runs in a fresh folder holding a copy of ``examples/``, under ``bash -e``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.base_install import base_env, base_python
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MARK = re.compile(r"<!-- (example|example-file): ([^>]*?) -->\n```(\w+)\n(.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    page: str
    kind: str   # "example" or "example-file"
    tags: str
    lang: str
    code: str

    @property
    def install(self) -> str:
        return self.tags.split(",")[0].strip()

    @property
    def port(self) -> str | None:
        found = re.search(r"redis on port (\d+)", self.tags)
        return found.group(1) if found else None


def _examples() -> list[Example]:
    found = []
    for path in PAGES:
        for kind, tags, lang, code in MARK.findall(path.read_text(encoding="utf-8")):
            found.append(Example(str(path.relative_to(ROOT)), kind, tags, lang, code))
    return found


EXAMPLES = _examples()
RUNNABLE = [e for e in EXAMPLES if e.kind == "example"]
FILES = [e for e in EXAMPLES if e.kind == "example-file"]


def _env(install: str) -> tuple[dict[str, str], str]:
    """The environment and interpreter of the install an example names."""
    if install == "base":
        return base_env(), str(base_python())
    assert install == "test", f"unknown install {install!r}: 'base' or 'test'"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env, sys.executable


def _before(example: Example) -> Example:
    """The page's runnable block just before ``example`` (which continues it)."""
    same = [e for e in RUNNABLE if e.page == example.page]
    return same[same.index(example) - 1]


def run_example(example: Example, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run one marked block in ``folder`` (which holds a copy of ``examples/``), as the page shows it."""
    if "continues" in example.tags:
        first = run_example(_before(example), folder)
        assert first.returncode == 0, (first.stdout[-2000:], first.stderr[-3000:])
    else:
        shutil.copytree(ROOT / "examples", folder / "examples")
    env, python = _env(example.install)
    code, port = example.code, example.port
    if port is not None:
        mine = str(free_port())
        code = code.replace(port, mine)
    try:
        if example.lang == "python":
            argv = [python, "-c", code]
        else:
            assert example.lang == "sh", example
            argv = ["bash", "-e", "-o", "pipefail", "-c", code]
        return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    finally:
        if port is not None:
            subprocess.run(["redis-cli", "-p", mine, "shutdown", "nosave"], capture_output=True, timeout=30)


def _id(example: Example) -> str:
    return f"{example.page}:{example.code.strip().splitlines()[0][:60]}"


def test_the_pages_mark_their_examples() -> None:
    pages = {e.page for e in RUNNABLE}
    assert {"README.md", "docs/getting-started.md", "docs/stores.md", "docs/profiles.md", "docs/calendars.md",
            "docs/sensors.md", "docs/live.md", "docs/api.md"} <= pages, pages
    assert len(FILES) >= 3


def test_every_example_file_is_shown_and_run() -> None:
    """Each file in examples/ is named by a block the tests run (directly, or through a stores file)."""
    ran = "\n".join(e.code for e in RUNNABLE)
    shown = {e.tags.strip() for e in FILES}
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.is_file():
            name = str(path.relative_to(ROOT))
            assert name in ran or name in shown, f"{name} is neither run nor shown by any page"
    assert "examples/stores.toml" in ran and "examples/clock_driver.py" in ran


@pytest.mark.parametrize("example", FILES, ids=_id)
def test_a_file_shown_is_the_file(example: Example) -> None:
    assert example.code == (ROOT / example.tags.strip()).read_text(encoding="utf-8"), example.tags


@pytest.mark.parametrize("example", RUNNABLE, ids=_id)
def test_every_example_runs_as_written(example: Example, tmp_path: Path) -> None:
    done = run_example(example, tmp_path)
    assert done.returncode == 0, (example.page, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr


def _store_ids(path: Path) -> set[str]:
    return {orjson.loads(line)["store_id"] for line in path.read_bytes().splitlines()}


def _example(page: str, starts: str) -> Example:
    match = [e for e in RUNNABLE if e.page == page and e.code.lstrip().startswith(starts)]
    assert len(match) == 1, (page, starts, match)
    return match[0]


def test_the_chain_example_writes_every_store(tmp_path: Path) -> None:
    done = run_example(_example("docs/stores.md", "foot-traffic simulate --stores examples/stores.toml"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert _store_ids(tmp_path / "out" / "foot_traffic.jsonl") == {
        "milano-centro", "roma-termini", "corner-shop", "nyc-5th-ave"}
    assert "gave up waiting" in done.stdout + done.stderr  # the capped store's queue, with patience


def test_the_corner_shop_keeps_its_calendar(tmp_path: Path) -> None:
    done = run_example(_example("docs/calendars.md", "foot-traffic profile show"), tmp_path)
    assert done.returncode == 0, done.stderr
    days = {orjson.loads(line)["entry_time"][:10] for line in (tmp_path / "shop" / "foot_traffic.jsonl")
            .read_bytes().splitlines()}
    # Closed on Christmas Day, New Year's Day and Sundays (London is on UTC in winter).
    assert days.isdisjoint({"2025-12-25", "2026-01-01", "2025-12-28", "2026-01-04"}), sorted(days)
    assert {"2025-12-24", "2025-12-27", "2025-12-31"} <= days


def test_the_sensor_example_writes_four_files(tmp_path: Path) -> None:
    done = run_example(_example("docs/sensors.md", "foot-traffic simulate --profile-file"), tmp_path)
    assert done.returncode == 0, done.stderr
    names = {p.name for p in (tmp_path / "mall").iterdir()}
    assert {"foot_traffic.jsonl", "foot_traffic_realistic.jsonl", "foot_traffic_realistic_true.jsonl",
            "foot_traffic_counts.jsonl", "run.json"} <= names, names


def test_the_clock_driver_paces_the_producer(tmp_path: Path) -> None:
    """The producer following examples/clock_driver.py writes the offline run's door events of the window."""
    done = run_example(_example("docs/live.md", "redis-server"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "following sim:now" in done.stderr and "finished at" in done.stderr, done.stderr
    offline = subprocess.run(
        [sys.executable, "-m", "producer.cli", "simulate", "--start", "2025-11-03T09:00:00", "--until",
         "2025-11-03T09:30:00", "--seed", "42", "--out", str(tmp_path / "offline"), "--quiet"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert offline.returncode == 0, offline.stderr
    doors = len((tmp_path / "offline" / "foot_traffic_realistic.jsonl").read_bytes().splitlines())
    assert done.stdout.split()[0] == str(doors), (done.stdout, doors)


def test_the_readmes_first_command_works_in_a_fresh_copy(tmp_path: Path) -> None:
    """The README's first command, as written, in a copy of the repository's files (a fresh clone)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.findall(r"```sh\n(.*?)```", readme.split("\n## Two commands")[1], flags=re.S)[0]
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    clone = tmp_path / "foot-traffic-sim"
    for name in listed:
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(["bash", "-e", "-c", first], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "seed 42" in done.stdout and " visits, " in done.stdout, done.stdout
    assert {p.name for p in (clone / "out").iterdir()} == {
        "foot_traffic.jsonl", "foot_traffic_realistic.jsonl", "run.json"}


def test_the_spark_watermark_demo_equals_the_counters_counts(tmp_path: Path) -> None:
    """docs/sensors.md's Spark job: every window it closes holds exactly the counter's own counts
    (duplicate deliveries removed, nothing dropped that its window still counts)."""
    done = run_example(_example("docs/sensors.md", "foot-traffic simulate --stores examples/sensor-stores.toml"),
                       tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"(\d+) windows closed; (\d+) readings counted by the counter in them, (\d+) by Spark: "
                      r"(-?\d+) dropped as late \(watermark 90 s\), in (\d+) windows; (\d+) readings were delivered "
                      r"more than 90 s", done.stdout)
    assert found is not None, done.stdout
    windows, counter, spark, dropped, differ, late = (int(g) for g in found.groups())
    assert windows >= 40 and counter > 1000 and late > 100, done.stdout  # a real run, late readings in it
    assert spark == counter and dropped == 0 and differ == 0, done.stdout
