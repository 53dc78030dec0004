"""An output folder that cannot be written is an environment error: one line, exit 1.

Checked before anything is simulated: under a regular file, a regular file
itself, inside ``/proc``, in a read-only folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from producer.cli import main
from producer.settings import SPECS

CLEAN = {spec.env: None for spec in SPECS.values()}
ROOT = Path(__file__).resolve().parent.parent


def simulate_args(out: str) -> list[str]:
    return ["simulate", "--start", "2025-11-03", "--days", "0.1", "--seed", "1", "--quiet", "--out", out]


def one_line_exit_1(out: str) -> str:
    result = CliRunner().invoke(main, simulate_args(out), env=CLEAN)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"foot-traffic: error: --out {out!r}: cannot write"), result.stderr
    return lines[0]


def test_out_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "Not a directory" in one_line_exit_1(str(tmp_path / "file" / "out"))


def test_out_that_is_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "it is a file, not a folder" in one_line_exit_1(str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "x"


def test_out_inside_proc() -> None:
    one_line_exit_1("/proc/self/foot-traffic-out")


def test_out_in_a_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    out = str(locked / "out")
    try:
        if os.geteuid() != 0:
            one_line_exit_1(out)
            return
        # root writes anywhere; without the capability to override permissions it is refused like anyone.
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) is needed to drop root's permission override"
        proc = subprocess.run(
            [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c",
             "from producer.cli import main; main()", *simulate_args(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if k not in {s.env for s in SPECS.values()}},
        )
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and "Permission denied" in lines[0], proc.stderr
        assert lines[0].startswith(f"foot-traffic: error: --out {out!r}: cannot write"), proc.stderr
    finally:
        locked.chmod(0o755)
    assert not (locked / "out").exists()


def test_profile_fit_out_under_a_regular_file(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "observed"
    made = runner.invoke(main, ["simulate", "--start", "2025-11-03", "--days", "7", "--seed", "1", "--quiet",
                                "--out", str(data)], env=CLEAN)
    assert made.exit_code == 0, made.output
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "file" / "shop.toml")
    result = runner.invoke(main, ["profile", "fit", str(data / "foot_traffic.jsonl"), "-o", out], env=CLEAN)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines == [f"foot-traffic: error: --out {out!r}: cannot write the profile there: Not a directory"]
