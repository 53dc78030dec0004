#!/usr/bin/env bash
# Install everything the tests need on a fresh machine and run them all:
# redis-server (the tests start their own on free ports), a Java runtime
# (for Spark), a venv with the project and its test extra, then ruff, mypy, the docs' build and pytest. Fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

# need COMMAND DEBIAN-PACKAGE WHY: install the package from apt when the command is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "test.sh: installing $2 ($3)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
    command -v "$1" >/dev/null || { echo "test.sh: $1 is still missing after installing $2" >&2; exit 1; }
}
need redis-server redis-server "the tests start their own servers"
need java default-jre-headless "Spark, in the test that reads the partitioned data sets"
need chromium chromium "headless browser for the report test"

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "test.sh: Python 3.11 or newer is needed")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check sim producer tests bench examples
.venv/bin/mypy sim producer
# The documentation site: a broken link, a missing anchor or a page left out of the nav fails here.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$(mktemp -d)"
.venv/bin/python -m pytest -n 2 -q "$@"
