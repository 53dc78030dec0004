"""A venv holding only the base install (``pip install -e .``, no extras), built once and kept.

It lives in ``.venv-base`` beside the repository's ``.venv`` and is rebuilt
when ``pyproject.toml`` changes (its hash is stamped inside). Editable, so it
runs the working tree's code. A file lock makes parallel test workers wait
for one build instead of racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-base"
HEAVY = ("pyarrow", "matplotlib", "scipy", "pandas")


def _stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def base_python() -> Path:
    """The base venv's interpreter, building the venv first if it is missing or stale."""
    python = VENV / "bin" / "python"
    stamp_file = VENV / "pyproject.sha256"
    with open(ROOT / ".venv-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp():
            return python
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"pip install -e . (base install) failed:\n{done.stderr[-3000:]}")
        stamp_file.write_text(_stamp())
    return python


def base_env() -> dict[str, str]:
    """The environment for a base-venv subprocess (its bin first on PATH, nothing of .venv's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env
