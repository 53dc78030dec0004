"""Benchmark of ``foot-traffic report`` at chain scale: the chain report beside the static one, in one run.

    python bench/bench_report.py                                  # 100 stores x 15 days, Parquet, both reports
    python bench/bench_report.py --stores 1000 --days 30 --partition --no-static   # about 250 M events
    python bench/bench_report.py --data DIR                        # an existing data set (kept)
    python bench/bench_report.py --stores 10 --format avro         # Avro: read through the format registry

Simulates the stores (the default profile, 2,900 customers a day at baseline: the
issue's 13 M events for 100 x 15 days, in four time zones, one in ten
with a capacity of 60 in loss mode and its turned-away customers written)
with the real command line, then runs each report in a child process and
reads the child's own peak memory (``os.wait4``). Prints the wall time, the
peak RSS and the page's size of each, and the chain report's ratios to the
static one measured in the same run. Targets (issue 22): 100 x 15 in <= 10 s
and <= 500 MB, 1,000 x 30 partitioned in <= 2 minutes and <= 1 GB, a page
<= 8 MB for the 100-store run. The machines these run on are shared: compare
the ratios, and expect them to suffer when others are busy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZONES = ("UTC", "Europe/Rome", "America/New_York", "Asia/Tokyo")


def stores_file(folder: Path, n: int, baseline: float) -> Path:
    """``n`` stores on the default profile in four time zones; every tenth capped at 60 (loss mode)."""
    path = folder / "stores.toml"
    path.write_text("".join(
        f'[[stores]]\nid = "store-{i:04d}"\ntimezone = "{ZONES[i % 4]}"\nbaseline = {baseline:g}\n'
        + ('capacity = 60\ncapacity_mode = "loss"\n' if i % 10 == 3 else "") + "\n"
        for i in range(n)))
    return path


def measure(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds and peak RSS (MB) of one child process; its exit code."""
    t0 = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    if child.stderr is not None:
        err = child.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            print(err, file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def simulate(folder: Path, stores: int, days: int, partition: bool, baseline: float, fmt: str) -> None:
    args = [sys.executable, "-m", "producer.cli", "simulate", "--stores", str(stores_file(folder.parent, stores, baseline)),
            "--start", "2025-11-03", "--days", str(days), "--seed", "7", "--out", str(folder),
            "--format", fmt, "--write-rejected", "--quiet"]
    if partition:
        args.append("--partition")
    seconds, peak, code = measure(args)
    if code != 0:
        raise SystemExit(f"simulate failed (exit {code})")
    print(f"simulated {stores} stores x {days} days{' (partitioned)' if partition else ''} in {seconds:.1f} s")


def events(folder: Path) -> tuple[int, str]:
    """The data set's sessions and door events, counted as the report reads them; and its format."""
    import duckdb

    from producer import formats
    from producer.dataset import data_files
    from producer.report_scan import Scans

    files = data_files(folder)
    total = 0
    con = duckdb.connect()
    scans = Scans(con, formats.get(files.fmt))
    for where in (files.sessions, files.doors):
        source = scans.source(where, {"store_id": "VARCHAR"})
        total += int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]) if source else 0
    return total, files.fmt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--baseline", type=float, default=2900,
                        help="each store's baseline customers per day (2900: the issue's 13 M events for 100 x 15)")
    parser.add_argument("--partition", action="store_true", help="simulate --partition (store_id=/date= folders)")
    parser.add_argument("--format", default="parquet", help="the simulated data set's format (default parquet)")
    parser.add_argument("--no-static", action="store_true", help="skip the static report (slow at scale)")
    parser.add_argument("--data", type=Path, default=None, help="report on this data set (simulated if missing)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = opts.data or Path(tmp) / "data"
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            simulate(folder, opts.stores, opts.days, opts.partition, opts.baseline, opts.format)
        n, fmt = events(folder)
        print(f"{n:,} events (sessions and door events, {fmt}) in {folder}")
        runs = [("chain", [])] + ([] if opts.no_static else [("static", ["--static"])])
        results = {}
        for name, extra in runs:
            page = Path(tmp) / f"{name}.html"
            seconds, peak, code = measure([sys.executable, "-m", "producer.cli", "report", str(folder),
                                           "--out", str(page), *extra])
            if code != 0:
                raise SystemExit(f"report ({name}) failed (exit {code})")
            size = page.stat().st_size / 1e6
            results[name] = (seconds, peak)
            print(f"{name:>6}: {seconds:7.1f} s  peak {peak:7.0f} MB  page {size:5.1f} MB")
        if "static" in results:
            (cs, cp), (ss, sp) = results["chain"], results["static"]
            print(f" ratio chain/static: time {cs / ss:.3f}, peak memory {cp / sp:.3f}")


if __name__ == "__main__":
    main()
