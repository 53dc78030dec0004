"""Where a chain's start goes: each phase of ``python -m producer`` timed, to "on the clock", optionally profiled.

Starts a redis-server (or the tests' Redis Cluster of 3+3 with ``--cluster``),
writes a stores file of ``--stores`` stores (1,200 customers a day each, as
``bench/bench_chain.py``), and runs the producer with ``STREAM_PER_STORE=1``
from a Monday noon at ``SPEED=60`` as ``--shards`` processes (``SHARD=i/n``;
``--one``: only the first of them), ``--fresh``; with ``--restart`` it is
stopped and started again on the same streams. Each process prints, from its
own start: the phases of :class:`~producer.live.run.LiveRun` as they end (and
how long each took), the model's first step (``PacedEnvironment.prime``: the
first day's draw of every store) and its log lines; then the wall seconds to
"on the clock" and the CPU seconds the process had used by then (under load
the CPU seconds are the figure to compare between two trees). ``--prof PATH``
writes cProfile's statistics of each process up to "on the clock" to
``PATH.<round>.<process>`` (``python -m pstats``).

Run from the repository root (``--root`` measures another checkout with this
interpreter)::

    .venv/bin/python bench/chain_start.py --stores 2000
    .venv/bin/python bench/chain_start.py --stores 10000 --shards 5 --cluster
    .venv/bin/python bench/chain_start.py --stores 2000 --restart --prof /tmp/start
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_cluster import RedisClusterServers  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

#: ``python -c`` of a timed producer: its phases wrapped, its log lines stamped, cProfile up to the clock.
TIMED = r"""
import cProfile, functools, logging, os, runpy, sys, time
t0, prof, out = time.monotonic(), cProfile.Profile(), os.environ.get("PROF_OUT")
class Stamped(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        sys.stderr.write(f"PHASE {time.monotonic() - t0:8.3f} {msg[:150]}\n")
        if "on the clock from" in msg and out:
            prof.disable()
            prof.dump_stats(out)
logging.getLogger("producer").addHandler(Stamped())
def timed(cls, name):
    f = getattr(cls, name)
    @functools.wraps(f)
    def g(*a, **k):
        began = time.monotonic()
        try:
            return f(*a, **k)
        finally:
            end = time.monotonic()
            sys.stderr.write(f"PHASE {end - t0:8.3f} {cls.__name__}.{name} took {end - began:.3f}\n")
    setattr(cls, name, g)
import producer.live.environment as E, producer.live.run as R
for name in ("connect", "lease", "resolve", "backfill", "follow"):
    timed(R.LiveRun, name)
timed(E.PacedEnvironment, "prime")
sys.stderr.write(f"PHASE {time.monotonic() - t0:8.3f} imported\n")
sys.argv = ["python -m producer", *sys.argv[1:]]
if out:
    prof.enable()
runpy.run_module("producer", run_name="__main__", alter_sys=True)
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timed:
    """One timed producer process, its stderr read by a thread."""

    def __init__(self, env: dict[str, str], fresh: bool, root: Path) -> None:
        self.began = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", TIMED, *(["--fresh"] if fresh else [])], env=env,
                                     cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.to_clock: float | None = None
        self.cpu: float | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "on the clock from" in line and self.to_clock is None:
                self.to_clock = time.monotonic() - self.began
                self.cpu = _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.reader.join(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--one", action="store_true", help="only the first shard's process")
    ap.add_argument("--cluster", action="store_true", help="on a Redis Cluster of 3+3 (else one redis-server)")
    ap.add_argument("--restart", action="store_true", help="stop and start again on the same streams")
    ap.add_argument("--after", type=float, default=3.0, help="wall seconds run on the clock before the stop")
    ap.add_argument("--prof", default=None, help="cProfile statistics to PROF.<round>.<process>")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose producer runs [this one]")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="chain-start-"))
    stores = folder / "stores.toml"
    stores.write_text("".join(f'[[stores]]\nid = "s{i:05d}"\ndaily_customers = 1200\n\n' for i in range(args.stores)),
                      encoding="utf-8")
    server = RedisClusterServers().start() if args.cluster else RedisServer().start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SIM_", "SEED", "SPEED", "SHARD"))}
        env.update({"REDIS_URL": server.url, "STREAM_PER_STORE": "1", "STORES": str(stores), "SEED": "1",
                    "SIM_START": "2025-11-03T12:00:00", "SPEED": "60", "STREAM_MAXLEN": "1000000",
                    "LOG_LEVEL": "INFO", "REDIS_STREAM": "chain", **({"REDIS_CLUSTER": "1"} if args.cluster else {})})
        for round_ in range(2 if args.restart else 1):
            procs = []
            for i in range(1 if args.one else args.shards):
                extra = {"SHARD": f"{i}/{args.shards}"} if args.shards > 1 else {}
                if args.prof:
                    extra["PROF_OUT"] = f"{args.prof}.{round_}.{i}"
                procs.append(Timed({**env, **extra}, round_ == 0, args.root))
            deadline = time.monotonic() + 600
            while (any(p.to_clock is None for p in procs) and time.monotonic() < deadline
                   and all(p.proc.poll() is None for p in procs)):
                time.sleep(0.05)
            time.sleep(args.after)
            for p in procs:
                p.stop()
            for i, p in enumerate(procs):
                print(f"{'restart' if round_ else 'start'}, process {i}:")
                print("\n".join(f"  {line[6:]}" for line in p.lines if line.startswith("PHASE")))
            clocks = [p.to_clock for p in procs]
            cpus = [p.cpu for p in procs]
            shown = ", ".join("-" if c is None else f"{c:.2f}" for c in clocks)
            print(f"{'restart' if round_ else 'start'}: {args.stores:,} stores, {len(procs)} process(es): wall s to "
                  f"'on the clock' {shown}; CPU s by then {', '.join('-' if c is None else f'{c:.2f}' for c in cpus)}"
                  f"; load average {Path('/proc/loadavg').read_text().split()[0]}", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
