"""A retail chain on one producer: many stores on per-store streams, beside one stream pair.

Against a redis-server this script starts itself, ``python -m producer`` runs

(a) the chain: ``--stores`` stores (default 2,000) with ``STREAM_PER_STORE=1``
    at ``SPEED=60``, each store's traffic about the same, from a fixed Monday
    noon (``SIM_START``), then stopped (SIGTERM), left down ``--down``
    seconds (default 10) and started again on the same Redis;
(b) one stream pair: one store carrying the whole chain's traffic
    (``daily_customers`` times the number of stores), the same speed and start;
    and one store of the chain's on its own (for the memory per store);
(c) ``redis-benchmark -P 64`` XADD, Redis's own ceiling for the command.

For each producer run it prints: start to "on the clock" (wall seconds from
starting the process to that log line), the events per wall second it wrote,
the lateness p99 of the run (the producer's last line), the CPU share of a
core and the RSS over the steady part (``/proc``), the RSS per store beyond
a one-store run's, and for the chain's restart: start to "on the clock",
start to back on schedule (the producer's "caught up" line, or "on the
clock" if it never fell behind), how far behind it was when the model began
(its "behind schedule by" line), the backfill rate (its log line) and that as a
share of ``redis-benchmark``. Ratios are to figures measured in the same run:
the machine's other load shows in every figure, the ratios are what to
compare between two trees.

Run from the repository root::

    .venv/bin/python bench/bench_chain.py                  # 2,000 stores (about 2 minutes)
    .venv/bin/python bench/bench_chain.py --stores 500     # a smaller chain
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer  # noqa: E402

SIM_START = "2025-11-03T12:00:00"  # a Monday noon: every store open and busy
SPEED = "60"
FINAL = re.compile(r"(?:stopped|finished) at .*?: .*?, ([\d,]+) sessions? and ([\d,]+) door events? written.*"
                   r"lateness p50 ([\d.]+) ms p99 ([\d.]+) ms max ([\d.]+) ms")
BEHIND = re.compile(r"behind schedule by ([\d.]+) s")
BACKFILLED = re.compile(r"backfilled (\d+) entries in ([\d.]+) s \((\d+) entries/s\)")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    """What one producer process showed."""

    to_clock: float = float("nan")  # wall seconds from its start to "on the clock"
    events: int = 0
    events_per_s: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    cpu_share: float = float("nan")
    rss_mb: float = float("nan")
    backfill_rate: float = float("nan")
    backfilled: int = 0
    behind: float = 0.0  # seconds behind schedule when the model started (its warning), 0 if never
    to_schedule: float = float("nan")  # wall seconds from its start to back on schedule
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
    return float("nan")


def produce(url: str, stores: Path, per_store: bool, steady: float, fresh: bool, patience: float = 5.0) -> Figures:
    """Run the producer until ``steady`` wall seconds after it is on schedule, then SIGTERM it.

    On schedule: "on the clock", and if it says within ``patience`` seconds that it is behind (a
    restart: after replaying what the streams hold), its "caught up" line (waited for up to 120 s).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SIM_", "SEED", "SPEED", "SHARD"))}
    env.update({"REDIS_URL": url, "STREAM_PER_STORE": "1" if per_store else "0", "STORES": str(stores),
                "SEED": "1", "SIM_START": SIM_START, "SPEED": SPEED, "STREAM_MAXLEN": "1000000",
                "LOG_LEVEL": "INFO", "REDIS_STREAM": "chain" if per_store else "pair"})
    fig = Figures()
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "producer", *(["--fresh"] if fresh else [])], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    on_clock = threading.Event()
    on_time = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            fig.lines.append(line.rstrip("\n"))
            if "on the clock from" in line and not on_clock.is_set():
                fig.to_clock = time.monotonic() - began
                on_clock.set()
            found = BEHIND.search(line)
            if found and not fig.behind:
                fig.behind = float(found.group(1))
            if "back on schedule" in line and not on_time.is_set():
                fig.to_schedule = time.monotonic() - began
                on_time.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not on_clock.wait(300):
        proc.kill()
        raise SystemExit("the producer did not reach the clock in 300 s:\n" + "\n".join(fig.lines[-20:]))
    # A model replaying the streams' past says so once the replay is over: then the steady
    # part begins when it is back on schedule (nan: not within 120 s).
    look = time.monotonic() + patience
    while not fig.behind and time.monotonic() < look:
        time.sleep(0.05)
    if fig.behind:
        on_time.wait(120)
    time.sleep(min(3.0, steady / 4))  # settle: the first hand-outs, the collector's first rounds
    cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
    time.sleep(steady)
    fig.cpu_share = (_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
    fig.rss_mb = _rss_mb(proc.pid)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    final = next((FINAL.search(ln) for ln in reversed(fig.lines) if FINAL.search(ln)), None)
    if final is None:
        raise SystemExit("no final line:\n" + "\n".join(fig.lines[-20:]))
    sessions, doors, _, p99, most = final.groups()
    fig.events = int(sessions.replace(",", "")) + int(doors.replace(",", ""))
    fig.p99_ms, fig.max_ms = float(p99), float(most)
    filled = next((BACKFILLED.search(ln) for ln in fig.lines if BACKFILLED.search(ln)), None)
    if filled is not None:
        fig.backfilled, fig.backfill_rate = int(filled.group(1)), float(filled.group(3))
    fig.events_per_s = (fig.events - fig.backfilled) / (stopped - began - fig.to_clock)
    if not fig.behind:
        fig.to_schedule = fig.to_clock  # never behind: on schedule from the start of the clock
    return fig


def redis_benchmark(port: int, n: int) -> float:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return float("nan")
    data = '{"event_type":"entry","store_id":"s00001","time":"2025-11-03T12:00:00+00:00","customer_id":"c1"}'
    out = subprocess.run([exe, "-p", str(port), "-P", "64", "-n", str(n), "-c", "1", "-q",
                          "XADD", "rb", "MAXLEN", "~", "20000", "*", "data", data, "key", "c1"],
                         capture_output=True, text=True, check=True).stdout
    found = re.findall(r"([\d.]+) requests per second", out)
    return float(found[-1]) if found else float("nan")


def row(name: str, chain: float, pair: float, unit: str, fmt: str = ".1f") -> None:
    ratio = chain / pair if pair else float("nan")
    print(f"{name:<44} {chain:>12{fmt}} {pair:>12{fmt}} {ratio:>8.2f}  {unit}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", type=int, default=2000)
    ap.add_argument("--daily", type=int, default=1200, help="daily customers of each store")
    ap.add_argument("--steady", type=float, default=20.0, help="wall seconds measured on the clock")
    ap.add_argument("--down", type=float, default=10.0, help="wall seconds the chain's producer is down")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    server = RedisServer().start()
    try:
        chain_file = stores_file(folder, args.stores, args.daily)
        pair_file = stores_file(folder, 1, args.daily * args.stores)
        one_file = stores_file(folder, 1, args.daily)
        one = produce(server.url, one_file, False, min(args.steady, 5.0), True)
        pair = produce(server.url, pair_file, False, args.steady, True)
        chain = produce(server.url, chain_file, True, args.steady, True)
        time.sleep(args.down)
        again = produce(server.url, chain_file, True, args.steady, False, patience=120.0)
        rb = redis_benchmark(server.port, 500_000)
        print(f"{args.stores} stores (STREAM_PER_STORE=1) vs one stream pair of the same traffic, SPEED={SPEED}, "
              f"one Redis; {args.steady:g} s measured on the clock")
        print(f"{'':<44} {'chain':>12} {'one pair':>12} {'ratio':>8}")
        row("start to 'on the clock'", chain.to_clock, pair.to_clock, "s", ".2f")
        row("events written per wall second", chain.events_per_s, pair.events_per_s, "events/s", ",.0f")
        row("lateness p99", chain.p99_ms, pair.p99_ms, "ms")
        row("lateness max", chain.max_ms, pair.max_ms, "ms")
        row("CPU share of a core", 100 * chain.cpu_share, 100 * pair.cpu_share, "%")
        row("CPU per event", 1e6 * chain.cpu_share / chain.events_per_s, 1e6 * pair.cpu_share / pair.events_per_s,
            "us")
        row("RSS", chain.rss_mb, pair.rss_mb, "MB")
        per_store = (chain.rss_mb - one.rss_mb) * 2**20 / max(1, args.stores - 1)
        print(f"{'RSS per store beyond a one-store run':<44} {per_store:>12,.0f} {'':>12} {'':>8}  bytes "
              f"(one store: {one.rss_mb:.1f} MB)")
        print(f"restart of the chain after {args.down:g} s down:")
        print(f"{'  start to on the clock':<44} {again.to_clock:>12.2f} {pair.to_clock:>12.2f} "
              f"{again.to_clock / pair.to_clock:>8.2f}  s (ratio to the pair's first start)")
        print(f"{'  start to back on schedule':<44} {again.to_schedule:>12.2f} {pair.to_clock:>12.2f} "
              f"{again.to_schedule / pair.to_clock:>8.2f}  s (behind by {again.behind:.1f} s when the model began)")
        print(f"{'  lateness p99 of the restarted run':<44} {again.p99_ms:>12.1f} {pair.p99_ms:>12.1f} "
              f"{again.p99_ms / pair.p99_ms:>8.2f}  ms")
        print(f"{'  backfill':<44} {again.backfill_rate:>12,.0f} {rb:>12,.0f} {again.backfill_rate / rb:>8.2f}  "
              f"entries/s ({again.backfilled:,} entries; second column: redis-benchmark -P 64 XADD)")
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
