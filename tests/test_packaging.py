"""Building the package prints no deprecation warning, and its metadata says what it is.

The license is the SPDX string (``license = "MIT"``) that setuptools 77 and
later want; the old table form made every install and test run print a
deprecation block. The build here is setuptools' own metadata step, in a copy
of the project, with the setuptools the test extra brings (>= 77, the
version ``[build-system]`` asks for).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _metadata(tmp_path: Path) -> tuple[str, str]:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("sim", "producer"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys\nfrom setuptools import build_meta\n"
            "print(build_meta.prepare_metadata_for_build_wheel(sys.argv[1]))\n")
    out = tmp_path / "meta"
    out.mkdir()
    result = subprocess.run([sys.executable, "-W", "always", "-c", code, str(out)], cwd=src,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    info = out / result.stdout.split()[-1] / "METADATA"
    return info.read_text(encoding="utf-8"), result.stdout + result.stderr


def test_the_build_prints_no_deprecation_and_declares_the_license(tmp_path: Path) -> None:
    metadata, printed = _metadata(tmp_path)
    assert "Deprecat" not in printed and "deprecat" not in printed, printed
    assert "License-Expression: MIT" in metadata.splitlines()


def test_the_extras_are_declared(tmp_path: Path) -> None:
    metadata, _ = _metadata(tmp_path)
    extras = {line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Provides-Extra: ")}
    assert {"parquet", "report", "fit", "pandas", "notebooks", "all", "test"} <= extras
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    base = {re.match(r"Requires-Dist: ([A-Za-z0-9_.-]+)", r).group(1)  # type: ignore[union-attr]
            for r in requires if "extra ==" not in r}
    assert "numpy" in base and "redis" in base
    assert not base & {"pyarrow", "scipy", "matplotlib", "pandas"}, base
