#!/usr/bin/env bash
# Start-up time of `aerie serve` on an existing data folder, its idle RSS, the size of the
# release wasm bundle, and what a fresh load of /login and of /chat (signed in) transfers:
# the brotli bytes of every wasm and JS file the page tells the browser to fetch. Prints
# figures; asserts nothing (end2end/tests/budget.spec.ts asserts the per-page budget).
# Needs `cargo leptos build --release --precompress --split`.
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

# Per-page transfer. A page's wasm and JS are the files its HTML preloads: the main module
# (`aerie.js`, `aerie.wasm`) and, for the lazy route it shows, the split loader
# (`__wasm_split.*.js`) and the route's `split_*.wasm` and shared `chunk_*.wasm` files
# (leptos adds those links from `pkg/__wasm_split_manifest.json`). Each is fetched as a browser
# would over HTTPS (`Accept-Encoding: br`); the answer's bytes are the transfer.
BASE="http://127.0.0.1:$PORT"
JAR="$DATA/cookies"
"$BIN" serve --listen "127.0.0.1:$PORT" >/dev/null & pid=$!
wait_ready
EMAIL=bench@example.com PASSWORD=quartz-meadow-lantern-58
curl -fsS -o /dev/null -H 'content-type: application/json' -H "Origin: $BASE" "$BASE/auth/setup" \
  --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"name\":\"Bench\",\"organization\":\"Bench\"}"
curl -fsS -o /dev/null -c "$JAR" -H 'content-type: application/json' -H "Origin: $BASE" \
  "$BASE/auth/admin-login" --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
page_assets() { # PATH [COOKIE JAR]: the /pkg wasm and JS files the page's HTML preloads
  curl -fsS ${2:+-b "$2"} -H 'accept: text/html' "$BASE$1" | python3 -c '
import re, sys
html = sys.stdin.read()
seen = []
for tag in re.findall(r"<(?:link|script)\b[^>]*>", html):
    m = re.search(r"(?:href|src)=\"(/pkg/[^\"]+\.(?:js|wasm))\"", tag)
    if m and m.group(1) not in seen:
        seen.append(m.group(1))
print("\n".join(seen))'
}
echo "per-page transfer of a fresh load (wasm + JS, brotli as served; the largest files listed):"
for spec in "/login" "/chat $JAR"; do
  read -r path jar <<<"$spec"
  sizes="$DATA/sizes"
  : >"$sizes"
  while read -r asset; do
    [ -n "$asset" ] || continue
    out="$(curl -fsS -o /dev/null -H 'Accept-Encoding: br' -w '%{size_download} %header{content-encoding}' "$BASE$asset")"
    [ "${out#* }" = br ] || echo "  warning: $asset was not served with brotli (${out#* })"
    echo "${out%% *} ${asset#/pkg/}" >>"$sizes"
  done < <(page_assets "$path" "$jar")
  total=$(awk '{ s += $1 } END { print s + 0 }' "$sizes")
  files=$(wc -l <"$sizes")
  printf '  %-7s %4d.%d kB in %d files (%d bytes; budget 250 kB = 250000 bytes)\n' "$path" \
    $((total / 1000)) $(((total % 1000) / 100)) "$files" "$total"
  sort -rn "$sizes" | awk 'NR <= 5 { printf "    %8d  %s\n", $1, $2; next }
    { n++; s += $1 } END { if (n) printf "    %8d  in %d smaller files\n", s, n }'
done
kill -TERM "$pid"; wait "$pid" || true

pkg="$ROOT/target/site/pkg"
wasm="$pkg/aerie.wasm"
js="$pkg/aerie.js"
if [ -f "$wasm" ]; then
  echo "main wasm module: raw $(( $(stat -c %s "$wasm") / 1024 )) KiB, gzip -9 $(( $(gzip -9c "$wasm" | wc -c) / 1024 )) KiB"
  echo "js glue:          raw $(( $(stat -c %s "$js") / 1024 )) KiB, gzip -9 $(( $(gzip -9c "$js" | wc -c) / 1024 )) KiB"
  n=0 raw=0
  for f in "$pkg"/split_*.wasm "$pkg"/chunk_*.wasm; do
    [ -f "$f" ] || continue
    n=$((n + 1)) raw=$((raw + $(stat -c %s "$f")))
  done
  echo "lazy-loaded wasm: $n files (split_*, chunk_*), raw $((raw / 1024)) KiB in all"
fi
echo "binary: $(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB ($BIN)"
