"""Optional dependencies: which extra brings which module, and the one-line message when it is missing.

The base install serves the live producer and ``simulate`` to JSONL and CSV.
Parquet, the report, profile fitting (and gamma dwell models), pandas frames
and the notebooks come with extras (``pip install 'foot-traffic-sim[EXTRA]'``,
or ``[all]``). Code that needs one of those modules imports it through
:func:`need`, so that a missing extra is one line naming what to install.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import urllib.parse
from pathlib import Path
from types import ModuleType

#: Top-level module -> (distribution, the extra that brings it).
EXTRAS: dict[str, tuple[str, str]] = {
    "pyarrow": ("pyarrow", "parquet"),
    "matplotlib": ("matplotlib", "report"),
    "duckdb": ("duckdb", "report"),
    "plotly": ("plotly", "report"),
    "scipy": ("scipy", "fit"),
    "pandas": ("pandas", "pandas"),
}


class MissingExtra(ModuleNotFoundError):
    """An optional dependency is not installed; the message is one line naming the extra."""


def _installed_from() -> str | None:
    """The local folder this package was installed from (``pip install .`` or ``-e .``), if any.

    Every distribution of the name is asked: run from a clone, the clone's own
    ``*.egg-info`` (which records no origin) may be found before the installed one.
    """
    for dist in importlib.metadata.distributions(name="foot-traffic-sim"):
        try:
            url = str(json.loads(dist.read_text("direct_url.json") or "{}").get("url", ""))
        except (ValueError, AttributeError):
            continue
        if url.startswith("file://"):
            folder = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
            # Only a folder that is still there (not a build stage's /src) can be installed from.
            return folder if (Path(folder) / "pyproject.toml").is_file() else None
    return None


def install_hint(extra: str) -> str:
    """``pip install '<the clone it came from>[extra]'``, or the package's name where it came from an index."""
    source = _installed_from()
    return f"pip install '{source or 'foot-traffic-sim'}[{extra}]'"


def missing_message(what: str, module: str, extra: str | None = None) -> str:
    """"<what> needs <distribution>: pip install 'foot-traffic-sim[<extra>]'"."""
    top = module.split(".")[0]
    dist, default_extra = EXTRAS.get(top, (top, "all"))
    return f"{what} needs {dist}, which is not installed: {install_hint(extra or default_extra)}"


def need(module: str, what: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` saying which extra brings it.

    ``what`` names the feature (``"--format parquet"``); ``extra`` overrides
    the module's usual extra where a feature needs more than that module.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
            raise  # something else is missing (a broken install): not ours to explain
        raise MissingExtra(missing_message(what, module, extra), name=exc.name) from None
