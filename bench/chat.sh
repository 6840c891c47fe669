#!/usr/bin/env bash
# Chat benchmark: POST /v1/chat/completions through Aerie versus straight to the fake
# OpenAI-compatible upstream (bench/src/bin/fake-upstream.rs), on one machine.
#
# Measures, and prints (asserts nothing):
#   1. Aerie's idle RSS after start-up.
#   2. Latency (p50/p90/p99) direct vs via Aerie at 25 req/s and 500 req/s (open loop, with
#      latency correction), and closed loop with 64 connections; the difference is what Aerie
#      adds (auth, agent lookup, quotas, the proxy hop).
#   3. Aerie's CPU time per request during the closed-loop run.
#   4. Streaming time to first token, direct vs via Aerie (200 sequential requests each).
#   5. 1,000 concurrent slow streams (~10 s each) through Aerie: peak RSS, completions, wall time.
#
# Knobs (environment): SKIP_BUILD=1, DURATION=10s, UPSTREAM_PORT=9100, AERIE_PORT=9101,
# SLOW_PORT=9102, STREAMS=1000, TTFT_N=200;
#   BENCH_PLAN=unlimited (default: the enterprise plan, credits metered without a limit) or
#     limited (a plan with credits and request/token rate limits far above the run, so every
#     request also takes the limited reservation and the two rate-limit checks);
#   BENCH_DATABASE=sqlite (default, a temporary folder) or postgres (a fresh database
#     `aerie_bench` on 127.0.0.1:5432, user postgres).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

DURATION="${DURATION:-10s}"
UPSTREAM_PORT="${UPSTREAM_PORT:-9100}"
AERIE_PORT="${AERIE_PORT:-9101}"
SLOW_PORT="${SLOW_PORT:-9102}"
STREAMS="${STREAMS:-1000}"
TTFT_N="${TTFT_N:-200}"
BIN="$CARGO_TARGET_DIR/release/aerie"
FAKE="$CARGO_TARGET_DIR/release/fake-upstream"
UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"
AERIE="http://127.0.0.1:$AERIE_PORT"

# --- setup ------------------------------------------------------------------------------------

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building aerie and fake-upstream (release)"
  (cd "$ROOT" && cargo build --release -p aerie-server -p aerie-bench)
fi
if ! command -v oha >/dev/null; then
  log "building oha from crates.io (once)"
  cargo install oha --locked
fi
# Recent oha spells JSON output `--output-format json`, older ones `-j`.
if oha --help 2>&1 | grep -q -- '--output-format'; then OHA_JSON=(--output-format json); else OHA_JSON=(-j); fi
# Closed-loop runs: let requests in flight at the deadline finish instead of counting as errors.
OHA_WAIT=()
if oha --help 2>&1 | grep -q -- '--wait-ongoing-requests-after-deadline'; then OHA_WAIT=(-w); fi

# 1,000 streams through Aerie hold ~2,000 sockets (client side and upstream side).
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Pin the upstream to core 1 so it does not compete with Aerie for core 0 (oha floats).
PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN=(taskset -c 1); fi

wait_http() { # URL PID LOG: wait up to 30 s for a 2xx while PID lives; else show LOG, exit
  for _ in $(seq 3000); do
    curl -fs -o /dev/null "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      echo "error: the process behind $1 exited:" >&2; tail -20 "$3" >&2; exit 1
    fi
    sleep 0.01
  done
  echo "error: $1 did not answer in 30 s" >&2; tail -20 "$3" >&2; exit 1
}
port_free() {
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then
    echo "error: something already listens on 127.0.0.1:$1" >&2; exit 1
  fi
}
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; } # utime + stime

for p in "$UPSTREAM_PORT" "$AERIE_PORT" "$SLOW_PORT"; do port_free "$p"; done

log "starting fake-upstream on :$UPSTREAM_PORT and a slow one on :$SLOW_PORT"
"${PIN[@]}" "$FAKE" --listen "127.0.0.1:$UPSTREAM_PORT" --threads 1 >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
# ~10 s per stream: 20 pieces, 500 ms apart.
"${PIN[@]}" "$FAKE" --listen "127.0.0.1:$SLOW_PORT" --threads 1 --stream-chunks 20 \
  --chunk-interval-ms 500 >"$WORK/fake-slow.log" 2>&1 &
SLOW_PID=$!
PIDS+=("$SLOW_PID")
wait_http "$UPSTREAM/v1/models" "$FAKE_PID" "$WORK/fake.log"
wait_http "http://127.0.0.1:$SLOW_PORT/v1/models" "$SLOW_PID" "$WORK/fake-slow.log"

BENCH_PLAN="${BENCH_PLAN:-unlimited}"
BENCH_DATABASE="${BENCH_DATABASE:-sqlite}"
mkdir "$WORK/data"
DB_ENV=()
if [ "$BENCH_DATABASE" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS aerie_bench' -c 'CREATE DATABASE aerie_bench'
  DB_ENV=(DATABASE_URL=postgres://postgres@127.0.0.1:5432/aerie_bench AERIE_AUTO_MIGRATE=true)
fi
log "starting aerie on :$AERIE_PORT ($BENCH_DATABASE, $BENCH_PLAN plan)"
env "${DB_ENV[@]}" AERIE_DATA_DIR="$WORK/data" AERIE_LISTEN="127.0.0.1:$AERIE_PORT" AERIE_LOG_LEVEL=warn \
  AERIE_ALLOW_PRIVATE_PROVIDER_URLS=true "$BIN" serve >"$WORK/aerie.log" 2>&1 &
AERIE_PID=$!
PIDS+=("$AERIE_PID")
wait_http "$AERIE/api/health" "$AERIE_PID" "$WORK/aerie.log"
sleep 1
START_RSS="$(rss_mib "$AERIE_PID")"

# --- bootstrap over the API -------------------------------------------------------------------

JWT=""
api() { # METHOD PATH [JSON]: prints the body; exits on a non-2xx answer
  local out status auth=() data=()
  if [ -n "$JWT" ]; then auth=(-H "Authorization: Bearer $JWT"); fi
  if [ $# -ge 3 ]; then data=(--data "$3"); fi
  out="$(curl -sS -X "$1" "$AERIE$2" -H 'content-type: application/json' "${auth[@]}" \
    "${data[@]}" -w '\n%{http_code}')"
  status="${out##*$'\n'}"
  if [[ "$status" != 2* ]]; then
    echo "error: $1 $2 answered $status: ${out%$'\n'*}" >&2
    exit 1
  fi
  printf '%s' "${out%$'\n'*}"
}
field() { # NAME [--json] < JSON: prints that top-level field (JSON-encoded with --json);
  # exits, showing the body, when it is missing
  python3 -c '
import json, sys
body = sys.stdin.read()
try:
    value = json.loads(body).get(sys.argv[1])
except Exception:
    value = None
if value is None:
    sys.exit(f"error: no field {sys.argv[1]!r} in: {body}")
print(json.dumps(value) if "--json" in sys.argv[2:] else value)' "$@"
}

log "bootstrapping: admin, provider, agents, API key"
EMAIL=bench@example.com
PASSWORD=quartz-meadow-lantern-58
api POST /auth/setup "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"name\":\"Bench\",\"organization\":\"Bench\"}" >/dev/null
JWT="$(api POST /auth/jwt/create/ "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | field access)"
# Credits are metered on every call (docs/BILLING.md); the benchmark's organisation is on the
# unlimited plan so that no rate limit or quota cuts a run short (the metering still runs).
ORG_SLUG="$(api GET /api/organisation | field slug)"
if [ "$BENCH_PLAN" = limited ]; then
  env "${DB_ENV[@]}" AERIE_DATA_DIR="$WORK/data" "$BIN" plans set bench-limited --name "Bench (limited)" \
    --credits 1000000000000 --requests-per-minute 100000000 --tokens-per-minute 1000000000000 >/dev/null
  env "${DB_ENV[@]}" AERIE_DATA_DIR="$WORK/data" "$BIN" org plan "$ORG_SLUG" bench-limited >/dev/null
else
  env "${DB_ENV[@]}" AERIE_DATA_DIR="$WORK/data" "$BIN" org plan "$ORG_SLUG" enterprise >/dev/null
fi
# Provider ids are embedded JSON-encoded (whatever their type).
PROVIDER_ID="$(api POST /api/providers "{\"name\":\"fake\",\"base_url\":\"$UPSTREAM/v1\",\"api_key\":\"sk-fake\",\"models\":[{\"id\":\"fake-model\"}]}" | field id --json)"
api POST /api/agents "{\"name\":\"bench-agent\",\"model\":\"fake-model\",\"provider_id\":$PROVIDER_ID,\"system_prompt\":\"You are terse.\"}" >/dev/null
# A second provider and agent on the slow upstream, for the concurrent-streams run.
SLOW_PROVIDER_ID="$(api POST /api/providers "{\"name\":\"fake-slow\",\"base_url\":\"http://127.0.0.1:$SLOW_PORT/v1\",\"api_key\":\"sk-fake\",\"models\":[{\"id\":\"fake-model\"}]}" | field id --json)"
api POST /api/agents "{\"name\":\"bench-slow-agent\",\"model\":\"fake-model\",\"provider_id\":$SLOW_PROVIDER_ID,\"system_prompt\":\"You are terse.\"}" >/dev/null
KEY="$(api POST /v1/billings/api-keys/ '{"name":"bench"}' | field key)"
JWT=""

# Request bodies: the same conversation, addressed to the agent (Aerie) or the model (direct).
echo '{"model":"bench-agent","messages":[{"role":"user","content":"Say hi"}],"max_tokens":16}' >"$WORK/aerie.json"
echo '{"model":"fake-model","messages":[{"role":"user","content":"Say hi"}],"max_tokens":16}' >"$WORK/direct.json"

# One request each way; a failure here prints the answer and stops.
for target in direct aerie; do
  if [ "$target" = direct ]; then url="$UPSTREAM"; auth="Bearer sk-fake"; else url="$AERIE"; auth="Bearer $KEY"; fi
  out="$(curl -sS "$url/v1/chat/completions" -H "Authorization: $auth" \
    -H 'content-type: application/json' --data @"$WORK/$target.json" -w '\n%{http_code}')"
  if [ "${out##*$'\n'}" != 200 ]; then
    echo "error: $target chat request answered ${out##*$'\n'}: ${out%$'\n'*}" >&2
    exit 1
  fi
done

# --- 1. idle memory ---------------------------------------------------------------------------

sleep 1
IDLE_RSS="$(rss_mib "$AERIE_PID")"
echo
echo "aerie idle RSS after start-up: $START_RSS MiB; after bootstrap (2 argon2id logins): $IDLE_RSS MiB"

# --- 2 + 3. latency and throughput (oha) ------------------------------------------------------

run_oha() { # NAME TARGET(direct|aerie) ARGS...: writes $WORK/oha-NAME-TARGET.json
  local name=$1 target=$2 url auth
  shift 2
  if [ "$target" = direct ]; then url="$UPSTREAM"; auth="Bearer sk-fake"; else url="$AERIE"; auth="Bearer $KEY"; fi
  oha --no-tui "${OHA_JSON[@]}" "$@" -m POST -D "$WORK/$target.json" \
    -H "Authorization: $auth" -H 'content-type: application/json' \
    "$url/v1/chat/completions" >"$WORK/oha-$name-$target.json"
}

CPU_BEFORE=0 CPU_AFTER=0
log "warming up (2 s each way)"
run_oha warmup direct -c 8 -z 2s
run_oha warmup aerie -c 8 -z 2s

for target in direct aerie; do
  log "$target: 25 req/s for $DURATION"
  run_oha q25 "$target" -q 25 -z "$DURATION" --latency-correction
  log "$target: 500 req/s for $DURATION"
  run_oha q500 "$target" -q 500 -z "$DURATION" --latency-correction
  # Aerie's CPU time (utime + stime, in clock ticks) over the closed-loop run only.
  if [ "$target" = aerie ]; then CPU_BEFORE="$(cpu_ticks "$AERIE_PID")"; fi
  log "$target: closed loop, 64 connections, $DURATION"
  run_oha c64 "$target" -c 64 -z "$DURATION" "${OHA_WAIT[@]}"
  if [ "$target" = aerie ]; then CPU_AFTER="$(cpu_ticks "$AERIE_PID")"; fi
done

echo
python3 - "$WORK" "$CPU_BEFORE" "$CPU_AFTER" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys

work, cpu_before, cpu_after, clk_tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def load(name, target):
    with open(os.path.join(work, f"oha-{name}-{target}.json")) as f:
        r = json.load(f)
    lat = r.get("latencyPercentiles", {})
    ms = lambda k: (lat.get(k) or 0.0) * 1000.0
    codes = r.get("statusCodeDistribution", {})
    return {
        "p50": ms("p50"), "p90": ms("p90"), "p99": ms("p99"),
        "rps": r["summary"].get("requestsPerSec") or 0.0,
        "ok": codes.get("200", 0),
        "answered": sum(codes.values()),
        "codes": codes,
        "errors": r.get("errorDistribution", {}),
    }

rows = [("25 req/s", "q25"), ("500 req/s", "q500"), ("closed c=64", "c64")]
print("POST /v1/chat/completions (latency in ms, p50/p90/p99)")
head = f"{'load':<12} | {'direct':>20} | {'via aerie':>20} | {'added by aerie':>20} | {'req/s direct / aerie':>21}"
print(head)
print("-" * len(head))
results = {}
for label, name in rows:
    d, a = load(name, "direct"), load(name, "aerie")
    results[name] = (d, a)
    trip = lambda x: f"{x['p50']:.2f}/{x['p90']:.2f}/{x['p99']:.2f}"
    added = f"{a['p50'] - d['p50']:.2f}/{a['p90'] - d['p90']:.2f}/{a['p99'] - d['p99']:.2f}"
    print(f"{label:<12} | {trip(d):>20} | {trip(a):>20} | {added:>20} | {d['rps']:>9.0f} / {a['rps']:<9.0f}")
for name, (d, a) in results.items():
    for target, x in (("direct", d), ("aerie", a)):
        if x["ok"] != x["answered"] or x["errors"]:
            print(f"  note: {name} {target}: status codes {x['codes']}, errors {x['errors']}")

a = results["c64"][1]
ticks = cpu_after - cpu_before
if a["answered"]:
    per_req = ticks / clk_tck / a["answered"] * 1000.0
    print(f"\naerie CPU during the closed-loop run: {ticks / clk_tck:.2f} s for {a['answered']} requests "
          f"= {per_req:.3f} ms CPU/request")
PY

# --- 4. streaming time to first token ---------------------------------------------------------

log "streaming time to first token ($TTFT_N sequential requests each way)"
echo
python3 - "$UPSTREAM_PORT" "$AERIE_PORT" "$KEY" "$TTFT_N" <<'PY'
import http.client, json, statistics, sys, time

up_port, aerie_port, key, n = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def ttft_samples(port, model, auth, n):
    """Seconds from sending the request to the first SSE chunk with non-empty content."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"model": model, "stream": True,
                       "messages": [{"role": "user", "content": "Say hi"}]})
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    samples = []
    for i in range(n + 10):  # the first 10 warm up
        t0 = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            sys.exit(f"error: streaming request to :{port} answered {resp.status}: {resp.read()[:500]!r}")
        first = None
        while True:
            line = resp.readline()
            if not line:
                break
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            if first is None:
                choices = json.loads(data).get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    first = time.perf_counter() - t0
        resp.read()  # the end of the chunked body, so the connection can be reused
        if first is None:
            sys.exit(f"error: a stream from :{port} had no content")
        if i >= 10:
            samples.append(first)
    conn.close()
    return samples

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000

direct = ttft_samples(up_port, "fake-model", "Bearer sk-fake", n)
aerie = ttft_samples(aerie_port, "bench-agent", f"Bearer {key}", n)
print("streaming time to first token (ms)")
print(f"  direct: p50 {pct(direct, 50):.2f}  p99 {pct(direct, 99):.2f}")
print(f"  aerie:  p50 {pct(aerie, 50):.2f}  p99 {pct(aerie, 99):.2f}")
print(f"  added:  p50 {pct(aerie, 50) - pct(direct, 50):.2f}  p99 {pct(aerie, 99) - pct(direct, 99):.2f}")
PY

# --- 5. many concurrent slow streams ----------------------------------------------------------

log "$STREAMS concurrent slow streams through aerie (~10 s each)"
echo
python3 - "$AERIE_PORT" "$KEY" "$STREAMS" "$AERIE_PID" <<'PY'
import asyncio, json, sys, time

port, key, count, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"model": "bench-slow-agent", "stream": True,
                   "messages": [{"role": "user", "content": " ".join(f"word{i}" for i in range(24))}]}).encode()
request = (
    f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
).encode() + body

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

async def one_stream():
    """True when the stream answered 200 and ended with data: [DONE]."""
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        head, tail = b"", b""
        while True:
            data = await reader.read(65536)
            if not data:
                return "closed before [DONE]"
            if len(head) < 12:  # the status line: "HTTP/1.1 200"
                head += data[: 12 - len(head)]
                if len(head) == 12 and head != b"HTTP/1.1 200":
                    return f"status {head.decode(errors='replace')}"
            window = tail + data  # a marker may straddle two reads
            if b"[DONE]" in window:
                return None
            tail = window[-16:]
    except Exception as e:  # noqa: BLE001 - reported as a failure reason
        return type(e).__name__
    finally:
        if writer is not None:
            writer.close()

async def main():
    peak = rss_kib()
    done = asyncio.Event()

    async def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib())
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    t0 = time.perf_counter()
    results = await asyncio.wait_for(asyncio.gather(*(one_stream() for _ in range(count))), 300)
    wall = time.perf_counter() - t0
    done.set()
    await sampler
    peak = max(peak, rss_kib())
    failures = {}
    for r in results:
        if r is not None:
            failures[r] = failures.get(r, 0) + 1
    ok = count - sum(failures.values())
    print(f"{count} concurrent slow streams through aerie")
    print(f"  completed OK: {ok}/{count}, wall time {wall:.1f} s, peak aerie RSS {peak / 1024:.1f} MiB")
    if failures:
        print(f"  failures: {failures}")

asyncio.run(main())
PY
echo
echo "aerie RSS after the streams: $(rss_mib "$AERIE_PID") MiB (idle was $IDLE_RSS MiB)"
