#!/usr/bin/env python3
"""Ingestion throughput end to end: documents uploaded over the API, extracted, chunked,
embedded with the built-in model and written to LanceDB by the job runner, until every one is
`ready`. Prints documents, chunks, wall time, chunks a second, and Aerie's CPU time and peak
memory.

    bench/ingest.py --docs ../path/to/cran_docs.json      # Cranfield: one text file per record
    bench/ingest.py --docs FOLDER                          # every file of a folder
    bench/ingest.py --docs cran_docs.json --copies 4       # the same collection, 4 times over

It starts its own `aerie serve` (release build, `$CARGO_TARGET_DIR/release/aerie`, or --bin) on
a temporary data folder and an SQLite database, with the embedding model of
`AERIE_EMBEDDING_MODEL_DIR`. Nothing is timed in the test suite; this prints figures.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

PASSWORD = "quartz-meadow-lantern-58"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, content_type="application/json"):
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["content-type"] = content_type
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=300) as res:
                raw = res.read()
        except urllib.error.HTTPError as e:
            sys.exit(f"error: {method} {path} answered {e.code}: {e.read()[:500]!r}")
        return json.loads(raw) if raw else None

    def upload(self, kb, files):
        boundary = uuid.uuid4().hex
        parts = []
        for name, content in files:
            parts.append(
                (
                    f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                    f"filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n"
                ).encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.call(
            "POST",
            f"/api/knowledge/{kb}/documents",
            body,
            f"multipart/form-data; boundary={boundary}",
        )


def documents(path, copies):
    """(name, bytes) of every document: Cranfield's records, or a folder's files."""
    out = []
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full):
                with open(full, "rb") as f:
                    out.append((name, f.read()))
    else:
        with open(path, encoding="utf-8") as f:
            for rec in json.load(f):
                text = f"{rec.get('title', '').strip()}\n\n{rec.get('body', '').strip()}\n"
                out.append((f"cran-{rec['id']}.txt", text.encode()))
    result = []
    for c in range(copies):
        for name, content in out:
            # A copy differs by a line, so the content hash does not take it for a duplicate.
            extra = f"\n(copy {c})\n".encode() if c else b""
            result.append((f"{c}-{name}" if c else name, content + extra))
    return result


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", required=True, help="cran_docs.json, or a folder of documents")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100, help="files per upload request")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/aerie/target"))
    ap.add_argument("--bin", default=os.path.join(target, "release", "aerie"))
    args = ap.parse_args()

    docs = documents(args.docs, args.copies)
    total_bytes = sum(len(c) for _, c in docs)
    port = free_port()
    work = tempfile.mkdtemp(prefix="aerie-ingest-")
    env = dict(
        os.environ,
        AERIE_DATA_DIR=os.path.join(work, "data"),
        AERIE_LISTEN=f"127.0.0.1:{port}",
        AERIE_LOG_LEVEL="warn",
    )
    log = open(os.path.join(work, "aerie.log"), "w")
    proc = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = Api(f"http://127.0.0.1:{port}")
    try:
        for _ in range(3000):
            try:
                urllib.request.urlopen(api.base + "/api/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"error: aerie exited; see {work}/aerie.log")
                time.sleep(0.01)
        api.call(
            "POST",
            "/auth/setup",
            {"email": "bench@example.com", "password": PASSWORD, "name": "Bench", "organization": "Bench"},
        )
        api.token = api.call(
            "POST", "/auth/jwt/create/", {"email": "bench@example.com", "password": PASSWORD}
        )["access"]
        kb = api.call("POST", "/api/knowledge", {"name": "Ingestion bench"})
        print(
            f"{len(docs)} documents, {total_bytes / 1e6:.2f} MB; chunking {json.dumps(kb['chunking'])}; "
            f"embedding {kb['embedding'].get('model')}"
        )
        idle_rss = rss_mib(proc.pid)
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        for i in range(0, len(docs), args.batch):
            api.upload(kb["id"], docs[i : i + args.batch])
        uploaded = time.monotonic() - t0
        peak = idle_rss
        while True:
            time.sleep(0.5)
            peak = max(peak, rss_mib(proc.pid))
            listed = api.call("GET", f"/api/knowledge/{kb['id']}/documents")
            failed = [d for d in listed if d["status"] == "failed"]
            if failed:
                sys.exit(f"error: {failed[0]['filename']} failed: {failed[0].get('error')}")
            if len(listed) >= len(docs) and all(d["status"] == "ready" for d in listed):
                break
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        chunks = api.call("GET", f"/api/knowledge/{kb['id']}")["chunk_count"]
        print(f"uploaded in {uploaded:.1f} s; all ready after {wall:.1f} s")
        print(
            f"{chunks} chunks: {chunks / wall:.1f} chunks/s, {len(docs) / wall:.1f} documents/s, "
            f"{total_bytes / 1e6 / wall:.3f} MB/s"
        )
        print(
            f"aerie CPU {cpu:.1f} s ({cpu / wall:.2f} cores of {os.cpu_count()}); "
            f"RSS {idle_rss:.0f} MiB before, {peak:.0f} MiB peak"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
