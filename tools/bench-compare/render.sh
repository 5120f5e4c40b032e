#!/usr/bin/env bash
# Renders one run of compare.py: docs/bench/compare.png and the generated section of
# BENCHMARKS.md. Installs matplotlib (pinned) in a virtualenv when missing (shared with
# tools/scale-chart).
#   tools/bench-compare/render.sh RESULTS.jsonl [RUN_ID|latest]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${ASYNCAPEX_CHART_VENV:-$HOME/.cache/asyncapex-chart-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "matplotlib==3.10.7"
fi
exec "$venv/bin/python" "$here/report.py" "$1" "${2:-latest}" \
  --md "$root/BENCHMARKS.md" --png "$root/docs/bench/compare.png"
