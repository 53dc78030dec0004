"""The documentation site builds with no warning, and its figures are made by the script it names.

``mkdocs build --strict`` fails on a link to a missing page or anchor and on a
page left out of the nav (``mkdocs.yml``); scripts/test.sh runs it too. The
figures (docs/*.png) are drawn by ``docs/make_figures.sh``, which this test runs
into a temporary folder: the same four files, as PNG images of the same size.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("arrivals.png", "occupancy.png", "dwell.png", "daily.png")


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "reference" / "simulation" / "index.html").read_text().count("sim.run.Simulation") > 3


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The strict build is a real check: a copy of the docs with one bad anchor fails."""
    import shutil

    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    for package in ("sim", "producer"):
        shutil.copytree(ROOT / package, tmp_path / package)
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[gone](settings.md#no-such-heading)\n")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "no-such-heading" in done.stderr, done.stderr[-3000:]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_figures_script_makes_the_docs_figures(tmp_path: Path) -> None:
    done = subprocess.run(["sh", "docs/make_figures.sh", str(tmp_path)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in FIGURES:
        assert _png_size(tmp_path / name) == _png_size(ROOT / "docs" / name), name
