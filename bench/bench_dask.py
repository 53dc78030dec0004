"""Benchmark of ``simulate`` on Dask: one process, and local clusters of 1 and 2 workers.

    python bench/bench_dask.py                          # 500 stores x 30 days, Parquet
    python bench/bench_dask.py --stores 100 --days 7 --format jsonl
    python bench/bench_dask.py --stores 100 --days 14 --sensor   # every store with a door sensor

Runs the real command line in child processes, on the same stores and seed:
the plain run (two files), ``--partition`` (the partitioned layout, one
process) and ``--workers N`` for each N. Prints events/s, the speed-up of
each against one worker, and peak memory: of the child for the one-process
runs, of the busiest worker for Dask runs (each worker's own peak, as the
command reports it). Targets: 2 workers >= 1.7x 1 worker; < 300 MB per
worker. The machines these run on are shared and have 2 cores: compare
ratios, and expect them to suffer when others are busy. With ``--sensor``
"events" still counts sessions and true door events (the sensor's records
and counts are written on top), so compare its events/s with a run without.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SUMMARY = re.compile(r"([\d,]+) events in ([\d.]+) s")
_WORKER_PEAK = re.compile(r"peak memory per worker ([\d,]+) MB")


#: With --sensor: the example sensor of docs/sensors.md (outages held), on the default weekly table.
SENSOR = """
[sensor]
miss_in = 0.02
miss_out = 0.04
double_in = 0.01
double_out = 0.01
delay_median = 2
delay_sigma = 1.2
duplicate = 0.005
outages_per_day = 0.5
outage_minutes = 30
outage_mode = "hold"
"""


def sensor_profile(folder: Path) -> Path:
    """The default profile with :data:`SENSOR`."""
    from sim.profile import DEFAULT_SLOTS, DEFAULT_WEIGHTS, WEEKDAYS

    slots = ", ".join(f'"{s}"' for s in DEFAULT_SLOTS)
    rows = "\n".join(f"{d} = {list(DEFAULT_WEIGHTS[d])}" for d in WEEKDAYS)
    path = folder / "sensor.toml"
    path.write_text(f"slots = [{slots}]\n\n[weights]\n{rows}\n{SENSOR}", encoding="utf-8")
    return path


def stores_file(folder: Path, n: int, sensor: bool = False) -> Path:
    """``n`` stores on the default profile (with ``sensor``: and :data:`SENSOR`), in four time zones."""
    zones = ("UTC", "Europe/Rome", "America/New_York", "Asia/Tokyo")
    profile = f'profile = "{sensor_profile(folder).name}"\n' if sensor else ""
    path = folder / "stores.toml"
    path.write_text("".join(f'[[stores]]\nid = "store-{i:04d}"\ntimezone = "{zones[i % 4]}"\n{profile}\n'
                            for i in range(n)))
    return path


def run(args: list[str]) -> tuple[int, float, float, float]:
    """Events, seconds (as the command measured them), CPU seconds of the command and every process it
    started, its peak memory in MB (Dask: the busiest worker's, as the command reports it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "producer.cli", "simulate", *args],
                                 stdout=out, stderr=err, cwd=ROOT)
        # wait4: this child's own usage, with that of the processes it waited for (Dask's workers).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        sys.exit(f"simulate failed: {stderr.strip()}")
    found = _SUMMARY.search(stdout)
    assert found, stdout
    peak = _WORKER_PEAK.search(stdout)
    return (int(found.group(1).replace(",", "")), float(found.group(2)), usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024 if peak is None else float(peak.group(1).replace(",", "")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--format", default="parquet", choices=("parquet", "jsonl", "csv"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sensor", action="store_true", help="every store with a door sensor (four outputs)")
    opts = parser.parse_args()
    print(f"{opts.stores} stores, {opts.days} days, {opts.format}{', door sensor' if opts.sensor else ''}; "
          f"python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        folder = Path(tmp)
        common = ["--stores", str(stores_file(folder, opts.stores, opts.sensor)), "--start", "2025-11-03",
                  "--days", str(opts.days), "--seed", "42", "--format", opts.format]
        rows: list[tuple[str, int, float, float, float]] = []
        for label, extra in [("one process, two files", []), ("one process, --partition", ["--partition"])]:
            events, secs, cpu, peak = run([*common, "--out", str(folder / label.split()[-1]), *extra])
            rows.append((label, events, secs, cpu, peak))
        by_workers: dict[int, float] = {}
        for n in opts.workers:
            events, secs, cpu, peak = run([*common, "--out", str(folder / f"w{n}"), "--workers", str(n)])
            rows.append((f"Dask LocalCluster, {n} worker(s)", events, secs, cpu, peak))
            by_workers[n] = events / secs
        print(f"  {'':34}{'events':>12}{'run s':>9}{'CPU s':>9}{'events/s':>13}{'peak MB':>9}")
        for label, events, secs, cpu, peak in rows:
            print(f"  {label:34}{events:>12,}{secs:>9.2f}{cpu:>9.2f}{events / secs:>13,.0f}{peak:>9,.0f}")
        if 1 in by_workers:
            for n, rate in sorted(by_workers.items()):
                if n != 1:
                    print(f"  speed-up, {n} workers / 1 worker = {rate / by_workers[1]:.2f}  (target >= 1.7 for 2)")
        print("  'run s': the command's own figure (for Dask, cluster start-up included); 'CPU s': user + system"
              " of the command and its workers; 'peak MB': the command for one process, the busiest worker for"
              f" Dask (target < 300); load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
