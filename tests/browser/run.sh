#!/usr/bin/env bash
# Browser tests of the dashboard in headless Chromium (Playwright), self-contained:
# installs Chromium (apt) and playwright-core (npm ci) when missing, builds the CLI, runs the
# demo on a temporary database, serves it on a free loopback port with a known token, and
# drives every page. Screenshots (desktop 1280x800, phone 390x844) go to screenshots/.
# Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
token="test-token"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

cargo build -q -p asyncapex-cli --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/debug/asyncapex"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "running the demo on $work/demo.db"
# shellcheck source=../support/serve-demo.sh
. "$here/../support/serve-demo.sh"
serve_demo "$work/demo.db"
echo "serving on $url"

mkdir -p "$here/screenshots"
node "$here/test.mjs" "$url" "$token" "$here/screenshots"
