"""Running a run's tasks on Dask: a local cluster of worker processes, or one already running.

Dask is an optional extra (``pip install '.[dask]'``, which brings pyarrow too) and is
imported only here, only when ``--workers`` or ``--scheduler`` asks for it:
the plain ``simulate`` and the live producer never load it.

Workers write their partitions straight into the output folder, so with
``--scheduler`` that folder must be one every worker sees at the same path
(a shared file system); the client collects only counts.

A worker that dies (killed, out of memory) loses its task; Dask runs it
again on another worker, or on the one its nanny restarts, and the task's
files replace what the lost run wrote (each partition has a fixed name).
A run whose workers keep dying stops with one line, and nothing is
published: a task whose workers died more often than the scheduler's
``distributed.scheduler.allowed-failures`` (3 by default; Dask's
``KilledWorker``), a local cluster whose workers could not be
started or restarted, or a cluster with no worker for
:data:`WORKERLESS_SECONDS`.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
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
#: How long a run waits with no worker at all (all dead, none restarted) before it stops.
WORKERLESS_SECONDS = 60.0
#: How often the run looks at the cluster while it waits for tasks.
_POLL_SECONDS = 1.0


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
    try:
        with _workers_ignore_ctrl_c():
            cluster = distributed.LocalCluster(
                n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", silence_logs=50,  # None would take 127.0.0.1:8787: another run may hold it
            )
    except RuntimeError as exc:  # "Nanny failed to start": a worker process died while starting
        raise ClusterError(f"--workers {workers}: the local Dask workers could not be started ({_reason(exc)})") from None
    with cluster, distributed.Client(cluster) as client:
        yield client


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start the local cluster's processes with SIGINT ignored (a signal ignored is kept across exec).

    A terminal's Ctrl-C reaches the whole foreground process group: each
    Nanny and worker would die of it with a traceback of its own, while
    this process stops the run (one line, exit 130) and closes the cluster.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def run_tasks(client: Any, tasks: Sequence[Task], done: Callable[[Task, TaskResult], None]) -> None:
    """Run ``tasks`` on the cluster, calling ``done`` as each finishes (in any order).

    The first task to fail cancels the others and its exception is raised
    here, as it was raised on the worker; workers that keep dying are a
    :class:`ClusterError` (see the module's docstring).
    """
    distributed = require_dask()
    run_id = uuid.uuid4().hex[:12]  # keys unique to this run: a shared scheduler may hold others
    from producer.partition import run_task

    futures = client.map(run_task, tasks, pure=False, key=[f"foot-traffic-{run_id}-{i}" for i in range(len(tasks))])
    which = {f.key: t for f, t in zip(futures, tasks)}
    try:
        _collect(client, distributed, futures, lambda f: done(which[f.key], f.result()))
    except distributed.KilledWorker:
        raise ClusterError(
            "the Dask workers running one task died too many times (killed, or out of memory?; the scheduler's "
            "distributed.scheduler.allowed-failures); the run published nothing") from None
    except BaseException:
        client.cancel(futures)
        raise


def _collect(client: Any, distributed: Any, futures: list[Any], finished: Callable[[Any], None]) -> None:
    """Hand each future to ``finished`` as it completes, watching that the cluster still has workers."""
    pending, workerless_since = set(futures), None
    while pending:
        try:
            done, pending = distributed.wait(pending, timeout=_POLL_SECONDS, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for future in done:
            finished(future)
        workerless_since = _check_workers(client, workerless_since)


def _check_workers(client: Any, since: float | None) -> float | None:
    """When the cluster has had no worker since (``None``: it has one); ClusterError past the bound."""
    cluster = getattr(client, "cluster", None)
    if cluster is not None and not cluster.workers:  # a local cluster whose nannies gave up restarting
        raise ClusterError("every local Dask worker died and could not be restarted; the run published nothing")
    if client.scheduler_info().get("workers"):
        return None
    now = time.monotonic()
    if since is not None and now - since > WORKERLESS_SECONDS:
        raise ClusterError(f"the Dask cluster has had no worker for {WORKERLESS_SECONDS:.0f} s (they died, none "
                           "joined); the run published nothing")
    return since if since is not None else now
