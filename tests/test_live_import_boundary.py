"""The live producer is one room: importing it loads neither the offline command nor the heavy stacks.

Checked in a fresh interpreter (this process has imported everything), for
every module of :mod:`producer.live` and for the container's entry point.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import producer.live
from tests.redis_server import RedisServer

HEAVY = ("pyarrow", "matplotlib", "scipy", "pandas", "rich", "dask", "distributed")
OFFLINE = ("producer.simulate", "producer.report", "producer.sinks.files", "producer.profile_cmd",
           "producer.partition", "producer.cluster", "producer.simulate_partitioned")


def test_the_live_package_imports_nothing_of_the_offline_side() -> None:
    modules = [f"producer.live.{m.name}" for m in pkgutil.iter_modules(producer.live.__path__)]
    assert "producer.live.produce" in modules and len(modules) >= 10
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import producer.__main__\n"
        f"print(' '.join(sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r} or n in {OFFLINE!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"the live producer imported: {result.stdout}"


def _loaded_after(body: str) -> list[str]:
    """Heavy and offline modules loaded once ``body`` ran in a fresh interpreter (which must exit 0)."""
    code = (
        "import sys\n"
        f"{body}\n"
        f"print('LOADED', *sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r} or n in {OFFLINE!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()[1:]


def test_help_loads_no_command_and_no_heavy_stack() -> None:
    body = (
        "from producer.cli import main\n"
        "for args in (['--help'], ['produce', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit as exc:\n        assert exc.code == 0, exc\n"
    )
    assert _loaded_after(body) == []


def test_a_running_producer_has_loaded_no_heavy_stack(redis_server: RedisServer) -> None:
    # A short real run, to its end: everything produce imports on its way is in sys.modules.
    body = (
        "from producer.live.produce import produce\n"
        "try:\n"
        f"    produce(['--redis-url', {redis_server.url!r}, '--sim-start', '2025-11-03T09:00:00',"
        " '--days', '0.01', '--speed', '100000', '--seed', '3'])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc\n"
    )
    assert _loaded_after(body) == []
