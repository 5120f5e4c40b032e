#!/usr/bin/env bash
# The whole speed comparison of BENCHMARKS.md, in one command:
#
#   tools/bench-compare/run.sh [compare.py options, e.g. --reps 3 --sections side,w3]
#
# 1. builds asyncapex (release, `--features bench`) and the limits probe program (a copy of
#    ../shared/limits in $BENCH_WORK/limits), before anything is timed;
# 2. copies the peer harness (../shared/peerbench) to $BENCH_WORK/peerbench unless a copy is
#    there (peers run only once their dependencies are installed there: `npm ci` in
#    peers/bullmq, `./run.sh setup` for all of them);
# 3. makes sure PostgreSQL runs and has the role and databases the harness and probes use;
# 4. runs compare.py (ceiling probes, asyncapex, peers; interleaved, repeated), appending to
#    docs/bench/compare.jsonl;
# 5. renders docs/bench/compare.png and the generated section of BENCHMARKS.md (report.py).
#
# env: BENCH_WORK (default /tmp/asyncapex-compare), LIMITS_SRC, PEERBENCH_SRC,
#      BENCH_OUT (default docs/bench/compare.jsonl), BENCH_RUN_ID.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="${BENCH_WORK:-/tmp/asyncapex-compare}"
limits_src="${LIMITS_SRC:-$root/../shared/limits}"
peer_src="${PEERBENCH_SRC:-$root/../shared/peerbench}"
out="${BENCH_OUT:-$root/docs/bench/compare.jsonl}"
run_id="${BENCH_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$work"

step() { echo "[run.sh] $(date -u +%H:%M:%S) $*" >&2; }

step "build asyncapex (release, features bench)"
cargo build --release --locked -p asyncapex-cli --features bench
step "build the limits probe from $limits_src"
mkdir -p "$work/limits"
cp -r "$limits_src/Cargo.toml" "$limits_src/Cargo.lock" "$limits_src/src" "$work/limits/"
cargo build --release --locked --manifest-path "$work/limits/Cargo.toml"
if [ ! -d "$work/peerbench" ]; then
  step "copy the peer harness from $peer_src"
  cp -r "$peer_src" "$work/peerbench"
fi

step "PostgreSQL: server, role bench, databases bench and limits"
psql_admin() {
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -Atqc "$1"
  else
    su postgres -c "psql -Atqc \"$1\""
  fi
}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
psql_admin "select 1 from pg_roles where rolname='bench'" | grep -q 1 ||
  psql_admin "create role bench login password 'bench'"
for db in bench limits; do
  psql_admin "select 1 from pg_database where datname='$db'" | grep -q 1 ||
    psql_admin "create database $db owner bench"
done

step "run the comparison (run id $run_id)"
BENCH_RUN_ID="$run_id" ASYNCAPEX_BIN="$root/target/release/asyncapex" \
  python3 "$root/tools/bench-compare/compare.py" --work "$work" \
  --bin "$root/target/release/asyncapex" --out "$out" --run-id "$run_id" "$@"

step "render the chart and BENCHMARKS.md"
"$root/tools/bench-compare/render.sh" "$out" "$run_id"
step "done"
