"""``simulate`` with scenarios: the labels' file, ``foot_traffic_labels.<ext>`` (:mod:`sim.labels`).

The labels are a pure function of the seed, the stores and the span, so
every layout (plain, ``--partition``, Dask) writes the very same file, once,
from the process that runs the command: a small file beside the data sets,
in the run's format. A run whose stores have no scenarios writes none (and
an earlier run's is removed with its other files, :mod:`producer.run_folder`).
"""

from __future__ import annotations

import os
from pathlib import Path

from producer import formats
from producer.sinks.files import abandon
from producer.sinks.label_files import LABELS_NAME
from sim.labels import has_scenarios, run_labels
from sim.run import Simulation


def write_labels(run: Simulation, out: str | Path, fmt: str) -> list[Path]:
    """Write the run's labels file (under a ``.partial`` name, then renamed); its path, or none."""
    if not has_scenarios(run.stores):
        return []
    path = Path(out) / f"{LABELS_NAME}.{fmt}"
    partial = path.with_name(path.name + ".partial")
    labels = run_labels(run.seed, run.stores, run.start, run.end)
    writer = formats.get(fmt).writer(partial, "labels")
    try:
        writer.write(labels)
        writer.close()
    except BaseException:
        abandon([writer], [partial])
        raise
    os.replace(partial, path)
    return [path]
