#!/usr/bin/env bash
# API fuzzing against the server's own OpenAPI document (schemathesis), self-contained:
# installs schemathesis in a virtualenv (pip, PyPI) when missing, builds the CLI, runs the
# demo on a temporary database so the lists have rows, serves it on a free loopback port with
# a known token, and runs a time-bounded schemathesis run with every check that holds for
# this API. Exits non-zero on any 5xx, response that breaks the document, undocumented
# status code, schema-valid request refused, or crash.
#
# Environment: ASYNCAPEX_FUZZ_VENV (default target/fuzz-venv), ASYNCAPEX_FUZZ_EXAMPLES
# (per operation, default 40), ASYNCAPEX_FUZZ_SECONDS (time budget of the run, default 120;
# with the install and the build the step stays within about 3 minutes),
# ASYNCAPEX_FUZZ_SEED (default: random; schemathesis prints it to reproduce a failure).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="${ASYNCAPEX_FUZZ_VENV:-$CARGO_TARGET_DIR/fuzz-venv}"
examples="${ASYNCAPEX_FUZZ_EXAMPLES:-40}"
seconds="${ASYNCAPEX_FUZZ_SECONDS:-120}"
token="fuzz-token-123"
# Pinned so a new schemathesis release cannot turn CI red on its own; bump on purpose.
schemathesis_version="4.32.5"

if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$schemathesis_version"; then
  echo "installing schemathesis $schemathesis_version in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$schemathesis_version"
fi

cargo build -q -p asyncapex-cli --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/debug/asyncapex"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../support/serve-demo.sh
. "$here/../support/serve-demo.sh"
serve_demo "$work/fuzz.db"
url="${url%/}"
echo "fuzzing $url"

# Every check runs, except those schemathesis.toml beside this script turns off, each with its
# reason there. (Checks are chosen in that file, not with --checks: a check named on the
# command line would override the file's per-operation exceptions.)
args=(
  --config-file "$here/schemathesis.toml"
  run "$url/api/openapi.json"
  --url "$url"
  --header "Authorization: Bearer $token"
  --max-examples "$examples"
  --max-time "$seconds"
  --workers 1
  --request-timeout 30
  --generation-database none
  --no-color
)
if [ -n "${ASYNCAPEX_FUZZ_SEED:-}" ]; then args+=(--seed "$ASYNCAPEX_FUZZ_SEED"); fi
status=0
# From the temporary directory: schemathesis writes its replay cassettes (.schemathesis/)
# to the current one.
(cd "$work" && "$venv/bin/schemathesis" "${args[@]}") || status=$?

if ! kill -0 "$server" 2>/dev/null; then
  echo "the server crashed during the run:"; cat "$work/serve.log"; exit 1
fi
if grep -q "panicked" "$work/serve.log"; then
  echo "the server panicked during the run:"; grep -A5 "panicked" "$work/serve.log"; exit 1
fi
exit "$status"
