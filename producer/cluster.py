"""Running a run's tasks on Dask: a local cluster of worker processes, or one already running.

Dask is an optional extra (``pip install '.[dask]'``, which brings pyarrow too) and is
imported only here, only when ``--workers`` or ``--scheduler`` asks for it:
the plain ``simulate`` and the live producer never load it.

Workers write their partitions straight into the output folder, so with
``--scheduler`` that folder must be one every worker sees at the same path
(a shared file system); the client collects only counts.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sim.extras import install_hint

if TYPE_CHECKING:  # the tasks need pyarrow: imported when run, so a missing Dask is said first
    from producer.partition import Task, TaskResult
    from sim.run import Simulation

#: tcp://HOST:PORT (or tls://), the form a dask scheduler prints.
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+):([0-9]{1,5})$")
MAX_WORKERS = 256


#: Visits below which a local cluster costs more than it gains: starting the workers takes seconds
#: (3 stores x 7 days of 1,000 a day: 3.3 s on 2 workers against 1.3 s in one process; even near
#: 100 stores x 15 days, 1.5 million visits).
BREAK_EVEN_VISITS = 1_500_000


def too_small_for_workers(visits: float, stores: int, days: float, workers: int) -> str | None:
    """A warning for a run of about ``visits`` expected visits too small to gain from ``--workers`` (else None)."""
    if visits >= BREAK_EVEN_VISITS:
        return None
    span = f"{stores:,} store{'s' if stores != 1 else ''} x {days:g} day{'s' if days != 1 else ''}"
    return (f"--workers {workers}: {span} (about {visits:,.0f} visits) is too small to gain from a cluster "
            f"(starting it takes seconds; it pays from about {BREAK_EVEN_VISITS:,} visits, e.g. 100 stores x 15 days "
            "of 1,000 a day): without --workers this run is likely faster")


def warn_if_too_small(run: Simulation, workers: int | None, quiet: bool) -> None:
    """Say on stderr, once, when ``--workers`` will likely slow ``run`` down (see :func:`too_small_for_workers`)."""
    if workers is None or quiet:
        return
    days = (run.end - run.start) / 86_400
    visits = sum(s.daily_customers if s.daily_customers is not None else s.baseline for s in run.stores) * days
    small = too_small_for_workers(visits, len(run.stores), days, workers)
    if small is not None:
        print(f"foot-traffic: warning: {small}", file=sys.stderr)


class ClusterError(RuntimeError):
    """The cluster could not be reached or started; the message is one line."""


class DaskMissing(ImportError):
    """Dask is not installed; the message names the extra to install."""


def check_address(address: str) -> str:
    """A scheduler address as ``tcp://HOST:PORT``, or ValueError with one line naming the option."""
    match = _ADDRESS.match(address.strip())
    if not match or not 1 <= int(match.group(3)) <= 65_535:
        raise ValueError(f"--scheduler {address!r} is not valid: expected tcp://HOST:PORT, a dask scheduler's address")
    return address.strip()


def check_workers(workers: str) -> int:
    """A number of local workers, or ValueError with one line naming the option."""
    try:
        n = int(workers)
        if not 1 <= n <= MAX_WORKERS:
            raise ValueError
    except ValueError:
        raise ValueError(f"--workers {workers!r} is not valid: expected a whole number from 1 to {MAX_WORKERS}") from None
    return n


def require_dask() -> Any:
    """The ``distributed`` package, or :class:`DaskMissing` naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise DaskMissing(f"--workers and --scheduler need Dask, which is not installed: {install_hint('dask')}") from None
    return distributed


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: on a new local cluster of ``workers`` processes, or on ``scheduler``.

    The local cluster listens on 127.0.0.1 only, one thread per worker
    process (the simulation is Python code: threads would share one GIL),
    and without a dashboard.
    """
    distributed = require_dask()
    if scheduler is not None:
        try:
            # Waits up to Dask's connect timeout (distributed.comm.timeouts.connect, 30 s by default).
            client = distributed.Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--scheduler {scheduler}: cannot reach the scheduler ({_reason(exc)})") from None
        with client:
            yield client
        return
    assert workers is not None
    cluster = distributed.LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", silence_logs=50,  # None would take 127.0.0.1:8787: another run may hold it
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def run_tasks(client: Any, tasks: Sequence[Task], done: Callable[[Task, TaskResult], None]) -> None:
    """Run ``tasks`` on the cluster, calling ``done`` as each finishes (in any order).

    The first task to fail cancels the others and its exception is raised
    here, as it was raised on the worker.
    """
    distributed = require_dask()
    run_id = uuid.uuid4().hex[:12]  # keys unique to this run: a shared scheduler may hold others
    from producer.partition import run_task

    futures = client.map(run_task, tasks, pure=False, key=[f"foot-traffic-{run_id}-{i}" for i in range(len(tasks))])
    which = {f.key: t for f, t in zip(futures, tasks)}
    try:
        for future in distributed.as_completed(futures):
            done(which[future.key], future.result())
    except BaseException:
        client.cancel(futures)
        raise
