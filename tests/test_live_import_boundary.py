"""The live producer is one room: importing it loads neither the offline command nor the heavy stacks.

Checked in a fresh interpreter (this process has imported everything), for
every module of :mod:`producer.live` and for the container's entry point.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import producer.live

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
