"""Print the import cycles among the project's modules (``sim``, ``producer``), from their ``ast``.

    python scripts/import_cycles.py          # one cycle a line; exit 1 if there is any
    python scripts/import_cycles.py --types  # also the circles closed by type-only imports

Every import counts, also those inside functions (a deferred import hides a
cycle, it does not remove it); ``if TYPE_CHECKING:`` imports do not (they
never run). With ``--types`` the cycles of the graph with those imports added
are printed too, each marked ``(type-only)`` where it needs one of them; they
do not change the exit status.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "producer")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def imports(name: str, path: Path, known: set[str], type_only: bool = False) -> set[str]:
    """The project modules ``name`` imports when it runs (or, ``type_only``, under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if (getattr(node, "lineno", None) in skip) != type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def graph(type_only: bool = False) -> dict[str, set[str]]:
    """Each module's imports of the others (or its type-only ones)."""
    found = modules()
    # A package's __init__ re-exporting its modules is not a cycle with them.
    return {name: {t for t in imports(name, path, set(found), type_only) if not name.startswith(f"{t}.")}
            for name, path in found.items()}


def main(argv: list[str]) -> int:
    runtime = graph()
    parts = cycles(runtime)
    for part in parts:
        print(" <-> ".join(part))
    if "--types" in argv:
        typed = graph(type_only=True)
        for part in cycles({v: runtime[v] | typed[v] for v in runtime}):
            if part not in parts:
                print(" <-> ".join(part) + "  (type-only)")
    return 1 if parts else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
