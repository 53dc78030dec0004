"""Installed size of an environment and start-up times of `foot-traffic --help` and `produce`.

    python bench/bench_startup.py                          # this interpreter's environment
    python bench/bench_startup.py --python .venv-base/bin/python   # another one (the base install)

Size: the files of every installed distribution but pip, setuptools and wheel
(what `pip install` added to an empty venv), largest first.
`--help`: wall time of `foot-traffic --help`, best of N.
`produce`: wall time from starting `foot-traffic produce` (against a
redis-server started here on a free port, no persistence) to its first log
line, best of N; the producer is then stopped with SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = r"""
import importlib.metadata as md, json, os
sizes = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if name.lower() in ("pip", "setuptools", "wheel"):
        continue
    total = 0
    for f in dist.files or []:
        p = f.locate()
        if os.path.isfile(p):
            total += os.path.getsize(p)
    sizes[name] = sizes.get(name, 0) + total
print(json.dumps(sizes))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def best_of(n: int, run: object) -> float:
    return min(run() for _ in range(n))  # type: ignore[operator]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="the environment's interpreter")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    python = Path(args.python)
    command = python.parent / "foot-traffic"

    sizes = json.loads(subprocess.run([str(python), "-c", SIZES], capture_output=True, text=True,
                                      check=True).stdout)
    total = sum(sizes.values())
    top = sorted(sizes.items(), key=lambda kv: -kv[1])
    print(f"{python}: {len(sizes)} distributions, {total / 1e6:.0f} MB installed "
          f"(without pip, setuptools, wheel)")
    print("  " + ", ".join(f"{name} {size / 1e6:.0f}" for name, size in top[:8] if size >= 1e6) + " (MB)")

    def help_time() -> float:
        began = time.perf_counter()
        subprocess.run([str(command), "--help"], capture_output=True, check=True)
        return time.perf_counter() - began

    print(f"foot-traffic --help: {best_of(args.repeat, help_time):.2f} s (best of {args.repeat})")

    binary = shutil.which("redis-server")
    if binary is None:
        print("produce: skipped (no redis-server on PATH)")
        return
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-startup-")
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", folder],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)

        def produce_time() -> float:
            began = time.perf_counter()
            proc = subprocess.Popen([str(command), "produce", "--redis-url", url, "--fresh", "--seed", "1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None
            first = proc.stderr.readline()
            elapsed = time.perf_counter() - began
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
            assert first, "produce printed nothing"
            return elapsed

        best = best_of(args.repeat, produce_time)
        print(f"foot-traffic produce, to its first log line: {best:.2f} s (best of {args.repeat})")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
