#!/usr/bin/env sh
# Regenerates the figures of the documentation (docs/arrivals.png, occupancy, dwell, daily):
# four simulated weeks of the default profile, drawn by `foot-traffic report`.
# Run from the repository root with the project and its report extra installed
# (pip install '.[report]'): sh docs/make_figures.sh [FOLDER]   (default: docs)
# tests/test_docs_site.py runs it into a temporary folder.
set -eu
figures="${1:-docs}"
data=$(mktemp -d)
foot-traffic simulate --start 2025-11-03 --days 28 --seed 42 --out "$data" --quiet
foot-traffic report "$data" --out "$data/report.html" --figures "$figures"
rm -rf "$data"
