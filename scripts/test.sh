#!/usr/bin/env bash
# Set up if needed, then run lint, type checks and the whole test suite (unit + integration).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/ruff check . || exit 1
.venv/bin/mypy sociallearn graphs nodes stores benchmarks || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
