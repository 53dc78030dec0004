"""Every notebook runs top to bottom, and none is committed with outputs.

Notebooks run in a fresh ipykernel of this very interpreter (a kernel spec
written for the test, so a user's own ``python3`` kernel can never be picked),
in a temporary working folder. A failing cell fails the test with its
traceback. The live-stream notebook runs against the suite's own Redis and
must really have read both streams: skipping is fine for a reader without a
Redis, not for the test suite.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
import redis
from nbclient import NotebookClient

from tests.redis_server import RedisServer

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
OFFLINE = ("exploring_a_profile", "fitting_a_profile", "testing_a_detector")
LIVE = "watching_the_live_stream"
KERNEL = "foot-traffic-test"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that starts ipykernel with this interpreter; returns its name."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "foot-traffic test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


def execute(name: str, kernel: str, cwd: Path, env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**os.environ, **(env or {})})
    return nb


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


def test_every_notebook_is_tested() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted([*OFFLINE, LIVE])


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {i} has outputs"


@pytest.mark.parametrize("name", OFFLINE)
def test_notebook_runs_top_to_bottom(name: str, kernel: str, tmp_path: Path) -> None:
    nb = execute(name, kernel, tmp_path)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the notebook drew nothing"


def test_live_stream_notebook_reads_the_producer(redis_server: RedisServer, kernel: str, tmp_path: Path) -> None:
    nb = execute(LIVE, kernel, tmp_path, {"REDIS_URL": redis_server.url})
    text = printed(nb)
    client = redis.Redis.from_url(redis_server.url)
    for stream in ("foot_traffic", "foot_traffic:realistic"):
        assert client.exists(stream), f"{stream} was never written; the notebook printed:\n{text}"
        groups = {g["name"].decode(): g for g in client.xinfo_groups(stream)}
        assert "notebook" in groups, f"no consumer group on {stream}; the notebook printed:\n{text}"
        # Read to the end and acknowledged: nothing pending, last delivered = last written.
        assert groups["notebook"]["pending"] == 0
        assert groups["notebook"]["last-delivered-id"] == client.xinfo_stream(stream)["last-generated-id"]
    assert "SKIPPED" not in text


def test_live_stream_notebook_without_redis_url_uses_its_own_redis_server(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Never the Redis a reader may run on 127.0.0.1:6379 (--fresh would empty its streams).
    monkeypatch.delenv("REDIS_URL", raising=False)
    nb = execute(LIVE, kernel, tmp_path)
    text = printed(nb)
    live = [line for line in text.splitlines() if line.startswith("LIVE: ")]
    assert live and live[0].endswith("(the notebook's own redis-server)"), text
    url = live[0].split(" at ")[1].split(" (")[0]
    assert url.startswith("redis://127.0.0.1:") and not url.startswith("redis://127.0.0.1:6379/"), url
    assert "stopped the notebook's own redis-server" in text
    assert "SKIPPED" not in text
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()


def test_the_daily_totals_axis_reads_days_of_the_month(kernel: str, tmp_path: Path) -> None:
    """The exploring notebook's daily totals sit on the calendar day they count (the run starts on 3 November)."""
    nb = nbformat.read(NOTEBOOKS / "exploring_a_profile.ipynb", as_version=4)
    drawn = next(i for i, c in enumerate(nb.cells) if "day of the month" in c.source)
    nb.cells.insert(drawn + 1, nbformat.v4.new_code_cell(  # right after it: later cells reuse the names
        "import json\n"
        "bars = [round(p.get_x() + p.get_width() / 2, 6) for p in ax2.patches]\n"
        "print('AXIS ' + json.dumps({'label': ax2.get_xlabel(), 'bars': bars, 'days': [d.isoformat() for d in days],\n"
        "                            'xlim': list(ax2.get_xlim())}))\n"
    ))
    client = NotebookClient(nb, timeout=180, kernel_name=kernel, resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=dict(os.environ))
    line = next(x for x in printed(nb).splitlines() if x.startswith("AXIS "))
    axis = json.loads(line[len("AXIS "):])
    assert axis["days"][0] == "2025-11-03" and axis["days"][-1] == "2025-11-30"
    assert axis["label"] == "day of the month (November 2025)"
    assert axis["bars"] == [int(d[-2:]) for d in axis["days"]] == list(range(3, 31))
    assert 1 < axis["xlim"][0] < 3 and 30 < axis["xlim"][1] < 32  # the calendar days, not 0 to 27
