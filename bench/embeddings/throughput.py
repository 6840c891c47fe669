"""Throughput of Python sentence-transformers (PyTorch, CPU) with all-MiniLM-L6-v2 on the same
texts and batch size as `bench/src/bin/embed-throughput.rs`, for comparison.

    ~/.cache/aerie/ref-venv/bin/python bench/embeddings/throughput.py <docs.json> [N]
"""

import json
import os
import pathlib
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

MODEL = os.environ.get(
    "AERIE_EMBEDDING_MODEL_DIR",
    str(pathlib.Path.home() / ".cache/aerie/models/all-MiniLM-L6-v2"),
)
BATCH = 32


def main() -> None:
    docs = json.load(open(sys.argv[1]))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    texts = [f"{d['title']} {d['body']}" for d in docs]
    texts = (texts * (n // len(texts) + 1))[:n]
    started = time.perf_counter()
    model = SentenceTransformer(MODEL, device="cpu")
    load = time.perf_counter() - started
    model.encode(texts[:BATCH], batch_size=BATCH)
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True)
    took = time.perf_counter() - started
    print(
        f"sentence-transformers all-MiniLM-L6-v2 (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads): {len(vectors)} texts, batch {BATCH}: "
        f"{len(vectors) / took:.1f} texts/s ({took:.2f} s; model load {load:.2f} s)"
    )


if __name__ == "__main__":
    main()
