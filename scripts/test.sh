#!/usr/bin/env bash
# Install everything the tests need on a fresh machine and run them all:
# redis-server (the tests start their own on free ports), a venv with the
# project and its test extra, then ruff, mypy and pytest. Fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    echo "test.sh: installing redis-server (the tests start their own servers)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
command -v redis-server >/dev/null || { echo "test.sh: redis-server is still missing" >&2; exit 1; }

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "test.sh: Python 3.11 or newer is needed")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check sim producer tests bench
.venv/bin/mypy sim producer
.venv/bin/python -m pytest -n 2 -q "$@"
