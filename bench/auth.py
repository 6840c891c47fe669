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

    timed("GET", "/api/health", n=500)  # warm-up
    base = timed("GET", "/api/health")
    good = timed("GET", "/api/health", {"Authorization": f"Bearer {key}"})
    bad = timed("GET", "/api/health", {"X-API-Key": revoked})
    print(f"GET /api/health over one keep-alive connection, {N} requests each (µs, client included):")
    print(f"  no credentials     p50 {base[0]:7.1f}  p99 {base[1]:7.1f}")
    print(f"  valid API key      p50 {good[0]:7.1f}  p99 {good[1]:7.1f}   -> +{good[0]-base[0]:.1f} µs per request")
    print(f"  revoked API key    p50 {bad[0]:7.1f}  p99 {bad[1]:7.1f}   -> +{bad[0]-base[0]:.1f} µs per request")

    body = json.dumps({"email": "bench@aerie.test", "password": PASSWORD})
    # The per-account limit allows 5 attempts a minute: time exactly that many.
    login = timed("POST", "/auth/jwt/create/", {"Content-Type": "application/json"}, body, n=5)
    print(f"POST /auth/jwt/create/ (argon2id m=19456 KiB, t=2, p=1), 5 logins: p50 {login[0]/1000:.1f} ms, max {login[1]/1000:.1f} ms (status {login[2]})")
finally:
    server.terminate(); server.wait()
    shutil.rmtree(data, ignore_errors=True)
