"""No import cycle among the project's modules (issue 20, item 6), deferred imports included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "import_cycles.py"


def test_the_modules_import_each_other_without_a_cycle() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "", f"import cycles:\n{result.stdout}{result.stderr}"


def test_the_script_finds_a_cycle(tmp_path: Path) -> None:
    """The check can fail: two modules of a package that import each other, one of them in a function."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import import_cycles
    finally:
        sys.path.remove(str(SCRIPT.parent))
    graph = {"producer.a": {"producer.b"}, "producer.b": {"producer.a"}, "producer.c": {"producer.a"}}
    assert import_cycles.cycles(graph) == [["producer.a", "producer.b"]]
    package = tmp_path / "producer"
    package.mkdir()
    (package / "a.py").write_text("from producer.b import x\n")
    (package / "b.py").write_text("def f():\n    from producer import a\n")
    known = {"producer", "producer.a", "producer.b"}
    assert import_cycles.imports("producer.b", package / "b.py", known) == {"producer", "producer.a"}
    assert import_cycles.imports("producer.a", package / "a.py", known) == {"producer.b"}


def test_type_only_imports_are_counted_apart(tmp_path: Path) -> None:
    """``--types`` prints the circles closed by ``if TYPE_CHECKING:`` imports, marked, exit 0."""
    result = subprocess.run([sys.executable, str(SCRIPT), "--types"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(line.endswith("  (type-only)") for line in result.stdout.splitlines()), result.stdout
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import import_cycles
    finally:
        sys.path.remove(str(SCRIPT.parent))
    package = tmp_path / "producer"
    package.mkdir()
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nimport producer.c\n"
                                  "if TYPE_CHECKING:\n    from producer.b import x\n")
    known = {"producer", "producer.a", "producer.b", "producer.c"}
    assert import_cycles.imports("producer.a", package / "a.py", known) == {"producer.c"}
    assert import_cycles.imports("producer.a", package / "a.py", known, type_only=True) == {"producer.b"}
