#!/usr/bin/env bash
# Draws the scale benchmark's chart (BENCHMARKS.md) from the JSON lines `asyncapex bench scale
# --out FILE` appends: operator views' median time and W2 throughput against the row count,
# one panel per store. Installs matplotlib (pinned) in a virtualenv when missing.
#   tools/scale-chart/chart.sh RESULTS.jsonl OUT.png
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${ASYNCAPEX_CHART_VENV:-$HOME/.cache/asyncapex-chart-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "matplotlib==3.10.7"
fi
exec "$venv/bin/python" "$here/chart.py" "$@"
