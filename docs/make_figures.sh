#!/usr/bin/env sh
# Regenerates the figures in docs/ (docs/arrivals.png is the one the README shows):
# four simulated weeks of the default profile, drawn by `foot-traffic report`.
# Run from the repository root with the project and its report extra installed
# (pip install '.[report]'): sh docs/make_figures.sh
set -eu
data=$(mktemp -d)
foot-traffic simulate --start 2025-11-03 --days 28 --seed 42 --out "$data" --quiet
foot-traffic report "$data" --out "$data/report.html" --figures docs
rm -rf "$data"
