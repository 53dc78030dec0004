"""The live producer is built once: no module assigns an attribute onto another object after it is made.

Collaborators arrive through constructors (issue 19: ``outbox.due``,
``outbox.heal``, ``waker.unwritten`` and ``emitter.pump`` were attached
afterwards). The scan reads every module of ``producer/live/`` and the
benchmarks that build a producer by hand, and lists each assignment
``x.attr = ...`` whose ``x`` is not ``self``. The few left are records and
library objects, each named below with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (file, assignment target): what may still be assigned, and why.
ALLOWED = {
    ("producer/live/environment.py", "watchdog.daemon"),  # threading.Timer takes no daemon argument
    ("producer/live/sensor_pump.py", "wake._ok"),  # a SimPy event scheduled by hand, as simpy's Timeout does
    ("producer/live/sensor_pump.py", "wake._value"),
    ("producer/live/writer.py", "batch.error"),  # the writer thread fills in its batch record
    ("producer/live/writer.py", "batch.replied_at"),
    ("producer/live/writer.py", "batch.conn"),
    ("producer/live/writer.py", "batch.packed"),
    ("producer/live/writer.py", "batch.refusal"),
    ("producer/live/webhook_relay.py", "current.last"),  # the relay fills in its own batch records
    ("producer/live/webhook_relay.py", "batch.done"),
    ("producer/live/outbox.py", "sink.on_reply"),  # the sink's reply callback (the sink seam's to move)
    ("bench/bench_producer.py", "outbox.lateness"),  # the followed-clock bench measures from each clock change
}


def _attached(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for one in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(one, ast.Attribute) and not (
                        isinstance(one.value, ast.Name) and one.value.id in ("self", "cls")):
                    found.add((str(path.relative_to(ROOT)), ast.unparse(one)))
    return found


def test_no_collaborator_is_attached_after_construction() -> None:
    files = [*sorted((ROOT / "producer" / "live").glob("*.py")), *sorted((ROOT / "bench").glob("*producer*.py")),
             ROOT / "bench" / "bench_live_sensor.py"]
    found = set().union(*(_attached(f) for f in files))
    assert found - ALLOWED == set()
    assert ("producer/live/outbox.py", "sink.on_reply") in found  # the scan sees what it should
