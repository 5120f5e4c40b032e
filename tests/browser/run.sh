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
if ! "$bin" --database "$work/demo.db" demo >"$work/demo.log" 2>&1; then
  cat "$work/demo.log"; echo "the demo failed"; exit 1
fi

"$bin" --database "$work/demo.db" serve --addr 127.0.0.1:0 --token "$token" >"$work/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^asyncapex dashboard on \(http:[^ ]*\) .*/\1/p' "$work/serve.log")"
  [ -n "$url" ] && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log"; echo "the server exited"; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then cat "$work/serve.log"; echo "the server did not start"; exit 1; fi
echo "serving on $url"

mkdir -p "$here/screenshots"
node "$here/test.mjs" "$url" "$token" "$here/screenshots"
