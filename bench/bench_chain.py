"""A retail chain on one producer: many stores on per-store streams, beside one stream pair, one Redis and a cluster.

``python -m producer`` runs, each setup from a fixed Monday noon
(``SIM_START``) at ``SPEED=60``, every store's traffic about the same:

On a redis-server this script starts itself,

(a) the chain: ``--stores`` stores (default 2,000) with ``STREAM_PER_STORE=1``,
    then stopped (SIGTERM), left down ``--down`` seconds (default 10) and
    started again on the same Redis;
(b) one stream pair: one store carrying the whole chain's traffic
    (``daily_customers`` times the number of stores), the same speed and
    start; and one store of the chain's on its own (for the RSS per store);
(c) the chain's Python state per store: the chain at half its stores and at
    all of them under ``tracemalloc`` (bytes traced once on the clock, after a
    ``gc.collect()``), the difference divided by the stores added;
(d) ``redis-benchmark -P 64`` XADD, Redis's own ceiling for the command.

On a Redis Cluster of 3 primaries and 3 replicas it starts (the tests' own,
``tests/redis_cluster.py``):

(e) the same chain as 2 shards (two processes, ``SHARD=0/2`` and ``1/2``),
    stopped, down ``--down`` seconds and started again;
(f) ``--big`` stores (default 10,000) as 5 shards (five processes);
(g) ``redis-benchmark --cluster -P 64`` XADD against the same cluster.

For each run: start to "on the clock" (wall seconds from starting the
processes to the last one's line), the events per wall second written, the
lateness p99 (of the worst process: each prints its own), the CPU share of
a core and the RSS over the steady part (``/proc``, summed over the
processes), and for a restart: start to back on schedule (the "caught up"
line, or "on the clock" if it never fell behind), how far behind it was when
the model began, and the backfill rate (entries of all processes over the
longest one's backfill) as a share of ``redis-benchmark``. Ratios are to
figures measured in the same run: the machine's other load shows in every
figure (the load average is printed beside each part), the ratios are what
to compare between two trees.

Run from the repository root::

    .venv/bin/python bench/bench_chain.py               # everything (about 8 minutes)
    .venv/bin/python bench/bench_chain.py --quick       # shorter steady parts, a 5,000-store big run (~4 minutes)
    .venv/bin/python bench/bench_chain.py --only redis  # one Redis only (or: --only cluster)
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_cluster import RedisClusterServers  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

SIM_START = "2025-11-03T12:00:00"  # a Monday noon: every store open and busy
SPEED = "60"
FINAL = re.compile(r"(?:stopped|finished) at .*?: .*?, ([\d,]+) sessions? and ([\d,]+) door events? written.*"
                   r"lateness p50 ([\d.]+) ms p99 ([\d.]+) ms max ([\d.]+) ms")
BEHIND = re.compile(r"behind schedule by ([\d.]+) s")
BACKFILLED = re.compile(r"backfilled (\d+) entries in ([\d.]+) s \((\d+) entries/s\)")
TICKS = os.sysconf("SC_CLK_TCK")
NAN = float("nan")
#: ``python -c`` of a traced producer: ``tracemalloc`` from the first import; SIGUSR1 writes the bytes traced
#: (and a snapshot beside them, for where they were allocated).
TRACED = """
import gc, os, runpy, signal, sys, tracemalloc
tracemalloc.start(4)
def report(*_):
    gc.collect()
    out = os.environ["BENCH_TRACE_OUT"]
    tracemalloc.take_snapshot().dump(out + ".snapshot")
    with open(out + ".tmp", "w") as f:
        f.write(str(tracemalloc.get_traced_memory()[0]))
    os.replace(out + ".tmp", out)
signal.signal(signal.SIGUSR1, report)
sys.argv = ["python -m producer", *sys.argv[1:]]
runpy.run_module("producer", run_name="__main__", alter_sys=True)
"""


@dataclass
class Figures:
    """What one producer process (or a group of them, combined) showed."""

    to_clock: float = NAN  # wall seconds from its start to "on the clock"
    events: int = 0
    events_per_s: float = NAN
    p99_ms: float = NAN
    max_ms: float = NAN
    cpu_share: float = NAN
    rss_mb: float = NAN
    backfill_rate: float = NAN
    backfilled: int = 0
    backfill_wall: float = 0.0
    behind: float = 0.0  # seconds behind schedule when the model started (its warning), 0 if never
    to_schedule: float = NAN  # wall seconds from its start to back on schedule
    traced: int = 0  # bytes traced by tracemalloc on the clock (a traced run)
    snapshot: Path | None = None  # where its tracemalloc snapshot is
    lines: list[str] = field(default_factory=list)


def stores_file(folder: Path, stores: int, daily: int) -> Path:
    path = folder / f"stores-{stores}x{daily}.toml"
    path.write_text("".join(f'[[stores]]\nid = "s{i:05d}"\ndaily_customers = {daily}\n\n' for i in range(stores)),
                    encoding="utf-8")
    return path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return NAN


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Producer:
    """One ``python -m producer`` process, its log read by a thread."""

    def __init__(self, env: dict[str, str], fresh: bool, trace: Path | None = None) -> None:
        self.fig = Figures()
        self.trace = trace
        self.began = time.monotonic()
        cmd = [sys.executable, "-c", TRACED] if trace else [sys.executable, "-m", "producer"]
        env = dict(env, BENCH_TRACE_OUT=str(trace)) if trace else env
        self.proc = subprocess.Popen([*cmd, *(["--fresh"] if fresh else [])], env=env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.on_clock, self.on_time = threading.Event(), threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        fig, proc = self.fig, self.proc
        assert proc.stderr is not None
        for line in proc.stderr:
            fig.lines.append(line.rstrip("\n"))
            if "on the clock from" in line and not self.on_clock.is_set():
                fig.to_clock = time.monotonic() - self.began
                self.on_clock.set()
            found = BEHIND.search(line)
            if found and not fig.behind:
                fig.behind = float(found.group(1))
            if "back on schedule" in line and not self.on_time.is_set():
                fig.to_schedule = time.monotonic() - self.began
                self.on_time.set()

    def wait_on_clock(self, bound: float) -> None:
        if not self.on_clock.wait(bound) or self.proc.poll() is not None:
            self.proc.kill()
            raise SystemExit(f"a producer did not reach the clock in {bound:g} s:\n" + "\n".join(self.fig.lines[-20:]))

    def traced_bytes(self, bound: float = 60.0) -> int:
        """Ask a traced producer for its bytes traced (SIGUSR1), waiting for its answer up to ``bound`` s."""
        assert self.trace is not None
        self.trace.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            if self.trace.exists():
                return int(self.trace.read_text())
            time.sleep(0.05)
        raise SystemExit("a traced producer did not report its memory")

    def stop(self, stopped: float) -> Figures:
        """SIGTERM, then the figures of its final line (events per second up to ``stopped``)."""
        fig, proc = self.fig, self.proc
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        self.reader.join(timeout=10)
        final = next((FINAL.search(ln) for ln in reversed(fig.lines) if FINAL.search(ln)), None)
        if final is None:
            raise SystemExit("no final line:\n" + "\n".join(fig.lines[-20:]))
        sessions, doors, _, p99, most = final.groups()
        fig.events = int(sessions.replace(",", "")) + int(doors.replace(",", ""))
        if not fig.events:  # nothing written on the clock: show why (its last lines)
            print("a producer wrote nothing; its last lines:\n  " + "\n  ".join(fig.lines[-8:]), flush=True)
        fig.p99_ms, fig.max_ms = float(p99), float(most)
        filled = next((BACKFILLED.search(ln) for ln in fig.lines if BACKFILLED.search(ln)), None)
        if filled is not None:
            fig.backfilled, fig.backfill_wall = int(filled.group(1)), float(filled.group(2))
            fig.backfill_rate = float(filled.group(3))
        fig.events_per_s = (fig.events - fig.backfilled) / (stopped - self.began - fig.to_clock)
        if not fig.behind:
            fig.to_schedule = fig.to_clock  # never behind: on schedule from the start of the clock
        return fig


def _env(url: str, stores: Path, per_store: bool, cluster: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SIM_", "SEED", "SPEED", "SHARD"))}
    env.update({"REDIS_URL": url, "STREAM_PER_STORE": "1" if per_store else "0", "STORES": str(stores),
                "SEED": "1", "SIM_START": SIM_START, "SPEED": SPEED, "STREAM_MAXLEN": "1000000",
                "LOG_LEVEL": "INFO", "REDIS_STREAM": "chain" if per_store else "pair"})
    if cluster:
        env["REDIS_CLUSTER"] = "1"
    return env


def produce(url: str, stores: Path, per_store: bool, steady: float, fresh: bool, patience: float = 5.0,
            shards: int = 1, cluster: bool = False, trace: Path | None = None) -> Figures:
    """Run ``shards`` producer processes until ``steady`` wall seconds after all are on schedule, then SIGTERM.

    On schedule: "on the clock", and if one says within ``patience`` seconds that it is behind (a
    restart: after replaying what the streams hold), its "caught up" line (waited for up to 120 s).
    The figures of the processes combined (see :func:`combine`); ``trace``: one process, traced.
    """
    env = _env(url, stores, per_store, cluster)
    procs = [Producer(dict(env, SHARD=f"{i}/{shards}") if shards > 1 else env, fresh, trace) for i in range(shards)]
    try:
        for p in procs:
            p.wait_on_clock(300)
        # A model replaying the streams' past says so once the replay is over: then the steady
        # part begins when it is back on schedule (nan: not within 120 s).
        look = time.monotonic() + patience
        while not all(p.fig.behind for p in procs) and time.monotonic() < look:
            time.sleep(0.05)
        for p in procs:
            if p.fig.behind:
                p.on_time.wait(120)
        time.sleep(min(3.0, steady / 4))  # settle: the first hand-outs, the collector's first rounds
        traced = procs[0].traced_bytes() if trace else 0
        cpu0, wall0 = [_cpu_seconds(p.proc.pid) for p in procs], time.monotonic()
        time.sleep(steady)
        wall = time.monotonic() - wall0
        for p, c0 in zip(procs, cpu0, strict=True):
            p.fig.cpu_share = (_cpu_seconds(p.proc.pid) - c0) / wall
            p.fig.rss_mb = _rss_mb(p.proc.pid)
        stopped = time.monotonic()
        figs = [p.stop(stopped) for p in procs]
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.kill()
    fig = combine(figs)
    fig.traced = traced
    if trace:
        fig.snapshot = trace.with_name(f"{trace.name}-{stores.stem}.snapshot")
        Path(f"{trace}.snapshot").replace(fig.snapshot)
    return fig


def combine(figs: Sequence[Figures]) -> Figures:
    """A group of processes as one: the last to the clock and to schedule, the worst lateness, summed
    rates, CPU and RSS, the backfill's entries over the longest backfill's wall time."""
    if len(figs) == 1:
        return figs[0]
    walls = [f.backfill_wall for f in figs if f.backfilled]
    backfilled = sum(f.backfilled for f in figs)
    return Figures(
        to_clock=max(f.to_clock for f in figs), events=sum(f.events for f in figs),
        events_per_s=sum(f.events_per_s for f in figs), p99_ms=max(f.p99_ms for f in figs),
        max_ms=max(f.max_ms for f in figs), cpu_share=sum(f.cpu_share for f in figs),
        rss_mb=sum(f.rss_mb for f in figs), backfilled=backfilled,
        backfill_rate=backfilled / max(walls) if walls and max(walls) > 0 else NAN,
        backfill_wall=max(walls) if walls else 0.0, behind=max(f.behind for f in figs),
        to_schedule=max(f.to_schedule for f in figs))


def redis_benchmark(port: int, n: int, cluster: bool = False) -> float:
    """``redis-benchmark -P 64`` XADD of a door event's payload (``--cluster``: keys on every primary)."""
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return NAN
    data = '{"event_type":"entry","store_id":"s00001","time":"2025-11-03T12:00:00+00:00","customer_id":"c1"}'
    where = ["--cluster", "-h", "127.0.0.1", "-c", "4", "-r", "1000"] if cluster else ["-c", "1"]
    key = "rb:{tag}:__rand_int__" if cluster else "rb"
    out = subprocess.run([exe, *where, "-p", str(port), "-P", "64", "-n", str(n), "-q",
                          "XADD", key, "MAXLEN", "~", "20000", "*", "data", data, "key", "c1"],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    found = re.findall(r"([\d.]+) requests per second", out)
    return float(found[-1]) if found else NAN


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else NAN


def row(name: str, chain: float, pair: float, unit: str, fmt: str = ".1f") -> None:
    print(f"{name:<44} {chain:>12{fmt}} {pair:>12{fmt}} {_ratio(chain, pair):>8.2f}  {unit}")


def table(title: str, chain: Figures, pair: Figures, again: Figures | None, rb: float, down: float,
          stores: int, reference: str = "one pair") -> None:
    """The issue's rows: the chain beside one stream pair (and, for the restart, ``redis-benchmark``)."""
    print(f"\n{title}")
    print(f"{'':<44} {'chain':>12} {reference:>12} {'ratio':>8}")
    row("start to 'on the clock'", chain.to_clock, pair.to_clock, "s", ".2f")
    row("events written per wall second", chain.events_per_s, pair.events_per_s, "events/s", ",.0f")
    row("lateness p99", chain.p99_ms, pair.p99_ms, "ms")
    row("lateness max", chain.max_ms, pair.max_ms, "ms")
    row("CPU share of a core", 100 * chain.cpu_share, 100 * pair.cpu_share, "%")
    row("CPU per event", 1e6 * _ratio(chain.cpu_share, chain.events_per_s), 1e6 * _ratio(pair.cpu_share,
        pair.events_per_s), "us")
    row("RSS", chain.rss_mb, pair.rss_mb, "MB")
    print(f"{'RSS per store':<44} {chain.rss_mb * 2**20 / stores:>12,.0f} {'':>12} {'':>8}  bytes (all of it)")
    if again is None:
        return
    print(f"restart of the chain after {down:g} s down:")
    print(f"{'  start to on the clock':<44} {again.to_clock:>12.2f} {pair.to_clock:>12.2f} "
          f"{_ratio(again.to_clock, pair.to_clock):>8.2f}  s (ratio to the pair's first start)")
    print(f"{'  start to back on schedule':<44} {again.to_schedule:>12.2f} {pair.to_clock:>12.2f} "
          f"{_ratio(again.to_schedule, pair.to_clock):>8.2f}  s (behind by {again.behind:.1f} s when the model began)")
    print(f"{'  lateness p99 of the restarted run':<44} {again.p99_ms:>12.1f} {pair.p99_ms:>12.1f} "
          f"{_ratio(again.p99_ms, pair.p99_ms):>8.2f}  ms")
    print(f"{'  backfill':<44} {again.backfill_rate:>12,.0f} {rb:>12,.0f} {_ratio(again.backfill_rate, rb):>8.2f}  "
          f"entries/s ({again.backfilled:,} entries; second column: redis-benchmark -P 64 XADD)")


def one_redis(args: argparse.Namespace, folder: Path) -> Figures:
    """Parts (a) to (d): their table; returns the one-pair run (the cluster's reference)."""
    server = RedisServer().start()
    try:
        print(f"\none Redis (port {server.port}), {load()}")
        chain_file = stores_file(folder, args.stores, args.daily)
        one = produce(server.url, stores_file(folder, 1, args.daily), False, min(args.steady, 5.0), True)
        pair = produce(server.url, stores_file(folder, 1, args.daily * args.stores), False, args.steady, True)
        chain = produce(server.url, chain_file, True, args.steady, True)
        time.sleep(args.down)
        again = produce(server.url, chain_file, True, args.steady, False, patience=120.0)
        rb = redis_benchmark(server.port, 500_000)
        print(f"measured; {load()}")
        half = args.stores // 2
        small = produce(server.url, stores_file(folder, half, args.daily), True, 1.0, True, trace=folder / "traced")
        large = produce(server.url, chain_file, True, 1.0, True, trace=folder / "traced")
        print(f"traced; {load()}")
    finally:
        server.close()
    table(f"{args.stores:,} stores (STREAM_PER_STORE=1) vs one stream pair of the same traffic, SPEED={SPEED}, "
          f"one Redis; {args.steady:g} s measured on the clock", chain, pair, again, rb, args.down, args.stores)
    per_store = (chain.rss_mb - one.rss_mb) * 2**20 / max(1, args.stores - 1)
    print(f"{'RSS per store beyond a one-store run':<44} {per_store:>12,.0f} {'':>12} {'':>8}  bytes "
          f"(one store: {one.rss_mb:.1f} MB)")
    traced = (large.traced - small.traced) / max(1, args.stores - half)
    print(f"{'Python state per store (tracemalloc)':<44} {traced:>12,.0f} {'':>12} {'':>8}  bytes "
          f"({half:,} stores: {small.traced / 2**20:.1f} MB traced, {args.stores:,}: {large.traced / 2**20:.1f} MB)")
    if small.snapshot and large.snapshot:
        where_per_store(small.snapshot, large.snapshot, args.stores - half)
    return pair


def where_per_store(small: Path, large: Path, added: int, top: int = 8) -> None:
    """The allocation sites (file:line, the innermost frame of the project, else the innermost) that grow most
    per store added, in bytes per store."""
    diff = tracemalloc.Snapshot.load(str(large)).compare_to(tracemalloc.Snapshot.load(str(small)), "traceback")
    sites: dict[str, float] = {}
    for stat in diff:
        frames = list(stat.traceback)
        ours = next((fr for fr in reversed(frames) if "/sim/" in fr.filename or "/producer/" in fr.filename),
                    frames[-1])  # frames run from the oldest call to the allocation
        name = f"{Path(ours.filename).parent.name}/{Path(ours.filename).name}:{ours.lineno}"
        sites[name] = sites.get(name, 0.0) + stat.size_diff / added
    print("  of which (bytes per store, where allocated):")
    for name, size in sorted(sites.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {size:>10,.0f}  {name}")


def on_cluster(args: argparse.Namespace, folder: Path, pair: Figures | None) -> None:
    """Parts (e) to (g): the chain as 2 shards (with a restart) and ``--big`` stores as 5 shards."""
    cluster = RedisClusterServers().start()
    try:
        print(f"\nRedis Cluster: primaries on ports {cluster.primaries()}, 3 replicas; {load()}")
        chain_file = stores_file(folder, args.stores, args.daily)
        if pair is None:  # --only cluster: the pair on the cluster itself
            pair = produce(cluster.url, stores_file(folder, 1, args.daily * args.stores), False, args.steady, True,
                           cluster=True)
        two = produce(cluster.url, chain_file, True, args.steady, True, shards=2, cluster=True)
        time.sleep(args.down)
        again = produce(cluster.url, chain_file, True, args.steady, False, patience=120.0, shards=2, cluster=True)
        print(f"2 shards measured; {load()}")
        big = produce(cluster.url, stores_file(folder, args.big, args.daily), True, args.steady, True, shards=5,
                      cluster=True)
        print(f"5 shards measured; {load()}")
        rb = redis_benchmark(cluster.ports[0], 500_000, cluster=True)
    finally:
        cluster.close()
    table(f"{args.stores:,} stores as 2 shards (2 processes) on a Redis Cluster of 3+3; the pair: one process on "
          f"one Redis", two, pair, again, rb, args.down, args.stores)
    print("  (redis-benchmark here: --cluster -c 4 -P 64 XADD)")
    table(f"{args.big:,} stores as 5 shards (5 processes) on the same cluster", big, pair, None, rb, args.down,
          args.big)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--big", type=int, default=None, help="stores of the 5-shard run [10,000; 5,000 with --quick]")
    ap.add_argument("--daily", type=int, default=1200, help="daily customers of each store")
    ap.add_argument("--steady", type=float, default=None, help="wall seconds measured on the clock [20; 5 --quick]")
    ap.add_argument("--down", type=float, default=10.0, help="wall seconds the chain's producer is down")
    ap.add_argument("--quick", action="store_true", help="shorter steady parts, a smaller big run")
    ap.add_argument("--only", choices=("redis", "cluster"), help="one Redis only, or the cluster only")
    args = ap.parse_args()
    args.steady = args.steady if args.steady is not None else (5.0 if args.quick else 20.0)
    args.big = args.big if args.big is not None else (5000 if args.quick else 10_000)
    folder = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    began = time.monotonic()
    print(f"bench_chain: SPEED={SPEED}, {args.daily:,} customers a day per store, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, {load()}")
    try:
        pair = one_redis(args, folder) if args.only != "cluster" else None
        if args.only != "redis":
            on_cluster(args, folder, pair)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{time.monotonic() - began:.0f} s in all; {load()}")


if __name__ == "__main__":
    main()
