# Sourced by tests/browser/run.sh and tests/fuzz/run.sh: runs the demo on a database file and
# serves it on a loopback port with a token. Needs `bin` (the asyncapex binary), `work` (a
# scratch folder) and `token`; sets `server` (its pid) and `url`.
serve_demo() {
  local db="$1"
  if ! "$bin" --database "$db" demo >"$work/demo.log" 2>&1; then
    cat "$work/demo.log"; echo "the demo failed"; exit 1
  fi
  "$bin" --database "$db" serve --addr 127.0.0.1:0 --token "$token" >"$work/serve.log" 2>&1 &
  server=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(sed -n 's/^asyncapex dashboard on \(http:[^ ]*\) .*/\1/p' "$work/serve.log")"
    [ -n "$url" ] && break
    if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log"; echo "the server exited"; exit 1; fi
    sleep 0.1
  done
  if [ -z "$url" ]; then cat "$work/serve.log"; echo "the server did not start"; exit 1; fi
}
