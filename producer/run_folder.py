"""An output folder holds one run: a new run replaces the whole earlier one, and readers read only it.

``simulate --out DIR`` used to replace only the files of the format it wrote:
a JSONL run after a CSV run left the CSV files beside the new ``run.json``, and
``report --format csv`` then drew the old run's data under the new run's seed
and expectation, with no warning. Now:

- after a run has put its own files in place, :func:`replace_earlier_runs`
  removes every other file or data set of a run in ``DIR`` (other formats,
  the other layout, sensor files of a run with a sensor), and nothing else:
  files of other names are never touched;
- :func:`check_belongs` (used when a folder is read back) refuses files of a
  format other than the one ``DIR/run.json`` records, naming both, and
  :func:`recorded_format` lets a reader pick the recorded format by itself.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from producer.manifest import MANIFEST_NAME
from producer.sinks.files import DOORS_NAME, FORMATS, SESSIONS_NAME
from producer.sinks.label_files import LABELS_NAME
from producer.sinks.sensor_files import COUNTS_NAME, REGISTERS_NAME, TRUE_DOORS_NAME

#: The names a run's outputs take: ``<name>.<format>`` files, or ``<name>/`` partitioned data sets.
RUN_NAMES = (SESSIONS_NAME, DOORS_NAME, TRUE_DOORS_NAME, COUNTS_NAME, REGISTERS_NAME, LABELS_NAME)


class NotThisRun(ValueError):
    """Files in a folder that are not the run its ``run.json`` describes; the message is one line."""


def run_outputs(folder: str | Path) -> list[Path]:
    """Every file or data set of a run in ``folder`` (of any format or layout)."""
    path = Path(folder)
    found = [path / f"{name}.{fmt}" for name in RUN_NAMES for fmt in FORMATS]
    found += [path / name for name in RUN_NAMES]
    return [p for p in found if p.exists()]


def replace_earlier_runs(folder: str | Path, keep: Iterable[str | Path],
                         also: Iterable[str | Path] | None = None) -> list[Path]:
    """Remove the outputs of earlier runs from ``folder``: all of a run's files but those in ``keep`` (and ``also``).

    Called once the new run's files have their final names, so that an
    interrupted run never leaves a folder without any complete run.
    Returns what was removed.
    """
    kept = {Path(p).resolve() for p in (*keep, *(also or ()))}
    removed = []
    for output in run_outputs(folder):
        if output.resolve() in kept:
            continue
        if output.is_dir():
            shutil.rmtree(output)
        else:
            output.unlink()
        removed.append(output)
    return removed


def recorded_format(folder: str | Path) -> str | None:
    """The format ``folder/run.json`` says its run was written in, where that run's sessions are there."""
    fmt = _recorded(folder)
    path = Path(folder)
    present = fmt is not None and ((path / f"{SESSIONS_NAME}.{fmt}").is_file() or (path / SESSIONS_NAME).is_dir())
    return fmt if present else None


def _recorded(folder: str | Path) -> str | None:
    """The format ``folder/run.json`` records (``None`` without one, or unreadable)."""
    try:
        record = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
        fmt = record["settings"]["format"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no record, or not one of ours: the reader says what is wrong with it
    return fmt if fmt in FORMATS else None


def check_belongs(folder: str | Path, fmt: str) -> None:
    """Raise :class:`NotThisRun` when ``folder``'s run.json records a run in another format than ``fmt``."""
    recorded = _recorded(folder)
    if recorded is not None and recorded != fmt:
        path = Path(folder)
        raise NotThisRun(
            f"{path}: the {fmt} files are not the run {path / MANIFEST_NAME} describes (a {recorded} run): "
            f"read its {recorded} files (--format {recorded}), or simulate again into an empty folder")
