"""Computes the reference vectors the built-in embedding model is held to
(`embed/tests/fixtures/minilm-reference.json`, checked by `embed/tests/reference.rs`): the
texts below embedded by Python sentence-transformers with all-MiniLM-L6-v2, from the same
model folder Aerie reads (AERIE_EMBEDDING_MODEL_DIR, fetched by scripts/lib.sh).

Run once, and again only if the texts change:
    python3 -m venv ~/.cache/aerie/ref-venv
    ~/.cache/aerie/ref-venv/bin/pip install sentence-transformers
    ~/.cache/aerie/ref-venv/bin/python bench/embeddings/reference.py
"""

import json
import os
import pathlib

from sentence_transformers import SentenceTransformer

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = os.environ.get(
    "AERIE_EMBEDDING_MODEL_DIR",
    str(pathlib.Path.home() / ".cache/aerie/models/all-MiniLM-L6-v2"),
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Employees accrue 25 days of paid leave per calendar year.",
    "How many vacation days do I get?",
    "Die Bundesregierung hat heute neue Klimaziele beschlossen.",
    "東京は日本の首都です。",
    "Boundary-layer transition on a flat plate at supersonic speeds.",
    "",
    "a",
    "SELECT * FROM users WHERE id = 42; -- not a question",
    "Emoji are text too 🚀✨ and so are accents: café, naïve, Ångström.",
    # Longer than the model's 256-token window: the rest is cut off, as in sentence-transformers.
    " ".join(
        f"Paragraph {i}: the committee reviewed the findings on aerodynamic heating and agreed."
        for i in range(40)
    ),
    "Short.",
]


def main() -> None:
    model = SentenceTransformer(MODEL, device="cpu")
    vectors = model.encode(TEXTS, batch_size=32, normalize_embeddings=True)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "made_with": "sentence-transformers " + __import__("sentence_transformers").__version__,
        "texts": TEXTS,
        "vectors": [[round(float(x), 7) for x in v] for v in vectors],
    }
    path = ROOT / "embed/tests/fixtures/minilm-reference.json"
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path} ({len(TEXTS)} texts, {len(vectors[0])} dimensions)")


if __name__ == "__main__":
    main()
