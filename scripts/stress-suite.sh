#!/usr/bin/env bash
# The whole suite, N times in a row (default 3), under `pytest -n 2` while two CPU-bound
# processes run beside it: the busy 2-core machine the suite must pass on. First, the
# timing tests of the live producer's start (nothing written before its time at SPEED=1)
# ten times in a row under the same load, two at a time; then the refusals that once left a gap
# in a stream (a replica promoted, memory freed mid-pipeline) five times. Stops at the first failing run
# (exit 1) and always stops the CPU hogs. Run `bash scripts/test.sh` once first (it makes .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
[ -x .venv/bin/python ] || { echo "stress-suite.sh: run 'bash scripts/test.sh' first (it makes .venv)" >&2; exit 1; }
hogs=()
cleanup() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in 1 2; do
    python3 -c 'while True: pass' &
    hogs+=("$!")
done
timing=(tests/test_producer_starts_now.py tests/test_first_instant_on_time.py tests/test_wall_clock_anchor.py)
for i in $(seq 1 10); do
    echo "stress-suite.sh: start timing, round $i of 10 (two CPU-bound processes beside it)" >&2
    .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "${timing[@]}"
done
refusals=(tests/test_appends_leave_no_gap.py "tests/test_producer_faults.py::test_a_refusal_for_now_is_waited_out")
for i in $(seq 1 5); do
    echo "stress-suite.sh: refusals, round $i of 5 (two CPU-bound processes beside it)" >&2
    .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "${refusals[@]}"
done
for i in $(seq 1 "$runs"); do
    echo "stress-suite.sh: run $i of $runs (two CPU-bound processes beside it)" >&2
    .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider
done
echo "stress-suite.sh: $runs runs in a row passed" >&2
