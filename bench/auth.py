#!/usr/bin/env python3
"""API-key authentication overhead and login latency of a release `aerie serve`.

Starts the server on a fresh data folder, creates an admin and a key with the CLI, then times,
over one keep-alive connection, GET /api/health without credentials, with a valid API key and
with a revoked one (authentication runs on every request, public routes included), and
POST /auth/jwt/create/ (argon2id). Prints figures; asserts nothing.

Usage: bench/auth.py [path/to/aerie]   (default: $CARGO_TARGET_DIR or ~/.cache/aerie/target, release)
"""
import http.client, json, os, shutil, statistics, subprocess, sys, tempfile, time

target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/aerie/target"))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "release", "aerie")
PORT = int(os.environ.get("PORT", "3978"))
N = int(os.environ.get("N", "5000"))
data = tempfile.mkdtemp(prefix="aerie-bench-")
env = dict(os.environ, AERIE_DATA_DIR=data, AERIE_LOG_LEVEL="warn")
PASSWORD = "plum-orbit-cascade-42"

def cli(*args, stdin=None):
    return subprocess.run([BIN, *args], env=env, input=stdin, capture_output=True, text=True, check=True).stdout

cli("admin", "create", "--email", "bench@aerie.test", "--password-stdin", stdin=PASSWORD + "\n")
key = cli("keys", "create", "--user", "bench@aerie.test", "--name", "bench").strip()
revoked = cli("keys", "create", "--user", "bench@aerie.test", "--name", "revoked").strip()
cli("keys", "revoke", revoked[:18])

server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env, stdout=subprocess.DEVNULL)
try:
    conn = None
    for _ in range(500):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT)
            conn.request("GET", "/api/health"); conn.getresponse().read(); break
        except OSError:
            time.sleep(0.01)

    def timed(method, path, headers=None, body=None, n=N):
        samples = []
        for _ in range(n):
            t = time.perf_counter_ns()
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse(); r.read()
            samples.append((time.perf_counter_ns() - t) / 1000)
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], r.status

    modes = [("no credentials", {}), ("valid API key", {"Authorization": f"Bearer {key}"}),
             ("revoked API key", {"X-API-Key": revoked})]
    for _ in range(500):  # warm-up
        for _, headers in modes:
            conn.request("GET", "/api/health", headers=headers); conn.getresponse().read()
    # Interleaved, so drift of this shared machine hits every mode alike.
    samples = {name: [] for name, _ in modes}
    for _ in range(N):
        for name, headers in modes:
            t = time.perf_counter_ns()
            conn.request("GET", "/api/health", headers=headers); conn.getresponse().read()
            samples[name].append((time.perf_counter_ns() - t) / 1000)
    base = statistics.median(samples["no credentials"])
    print(f"GET /api/health over one keep-alive connection, {N} interleaved requests per mode (µs, client included):")
    for name, _ in modes:
        s = sorted(samples[name])
        p50, p99 = statistics.median(s), s[int(len(s) * 0.99) - 1]
        extra = "" if name == "no credentials" else f"   -> {p50 - base:+.1f} µs per request"
        print(f"  {name:17}  p50 {p50:7.1f}  p99 {p99:7.1f}{extra}")

    body = json.dumps({"email": "bench@aerie.test", "password": PASSWORD})
    # The per-account limit allows 5 attempts a minute: time exactly that many.
    login = timed("POST", "/auth/jwt/create/", {"Content-Type": "application/json"}, body, n=5)
    print(f"POST /auth/jwt/create/ (argon2id m=19456 KiB, t=2, p=1), 5 logins: p50 {login[0]/1000:.1f} ms, max {login[1]/1000:.1f} ms (status {login[2]})")
finally:
    server.terminate(); server.wait()
    shutil.rmtree(data, ignore_errors=True)
