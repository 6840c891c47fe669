#!/usr/bin/env python3
"""Per-lazy-function transfer of a split release build, from the files alone (no server):
main module (`aerie.wasm` + `aerie.js`) + split loader + the files the manifest lists for
the lazy function, each counted as its precompressed `.br` sibling.

    bench/split_sizes.py [SITE_PKG_DIR]   (default target/site/pkg)

Needs `cargo leptos build --release --precompress --split`. bench/startup.sh measures the same
through a running server (what the page's HTML preloads); this is the quick check while
iterating on the build.
"""

import glob
import json
import os
import sys

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"


def br(name):
    path = os.path.join(pkg, name + ".br")
    return os.path.getsize(path)


manifest = json.load(open(os.path.join(pkg, "__wasm_split_manifest.json")))
loader = os.path.basename(glob.glob(os.path.join(pkg, "__wasm_split.*.js"))[0])
base = br("aerie.wasm") + br("aerie.js")
print(f"main module: aerie.wasm {br('aerie.wasm'):,} + aerie.js {br('aerie.js'):,} = {base:,} B brotli; loader {br(loader):,}")
files = sorted(glob.glob(os.path.join(pkg, "split_*.wasm")) + glob.glob(os.path.join(pkg, "chunk_*.wasm")))
print(f"lazy files: {len(files)}, {sum(os.path.getsize(f + '.br') for f in files):,} B brotli in all")
for name, deps in sorted(manifest.items()):
    own = sum(br(d + ".wasm") for d in deps)
    total = base + br(loader) + own
    print(f"  {name[:60]:<60} {total:>9,} B in {len(deps) + 3:>3} files (own {own:,})")
