#!/usr/bin/env bash
# Start-up time of `aerie serve` on an existing data folder, its idle RSS, and the size of the
# release wasm bundle. Prints figures; asserts nothing. Needs `cargo leptos build --release`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/aerie/target}"
BIN="${AERIE_BIN:-$TARGET/release/aerie}"
PORT="${PORT:-3977}"
RUNS="${RUNS:-10}"
DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT
export AERIE_DATA_DIR="$DATA" AERIE_SITE_ROOT="$ROOT/target/site" AERIE_LOG_LEVEL=warn

wait_ready() {
  until curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; do sleep 0.002; done
}

# First start: creates the database, runs migrations, generates secrets.
"$BIN" serve --listen "127.0.0.1:$PORT" >/dev/null & pid=$!
wait_ready; kill -TERM "$pid"; wait "$pid" || true

times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  "$BIN" serve --listen "127.0.0.1:$PORT" >/dev/null & pid=$!
  wait_ready
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
  kill -TERM "$pid"; wait "$pid" || true
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "start-up to first healthy answer, existing data folder ($RUNS runs):"
echo "  median $(( sorted[RUNS / 2] / 1000 )).$(( (sorted[RUNS / 2] % 1000) / 100 )) ms, min $(( sorted[0] / 1000 )) ms, max $(( sorted[RUNS - 1] / 1000 )) ms"

"$BIN" serve --listen "127.0.0.1:$PORT" >/dev/null & pid=$!
wait_ready
for _ in $(seq 20); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null; curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null; done
sleep 1
echo "idle RSS after 40 requests: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"
kill -TERM "$pid"; wait "$pid" || true

wasm="$ROOT/target/site/pkg/aerie.wasm"
js="$ROOT/target/site/pkg/aerie.js"
if [ -f "$wasm" ]; then
  echo "wasm bundle: raw $(( $(stat -c %s "$wasm") / 1024 )) KiB, gzip -9 $(( $(gzip -9c "$wasm" | wc -c) / 1024 )) KiB"
  echo "js glue:     raw $(( $(stat -c %s "$js") / 1024 )) KiB, gzip -9 $(( $(gzip -9c "$js" | wc -c) / 1024 )) KiB"
fi
echo "binary: $(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB ($BIN)"
