#!/usr/bin/env python3
"""Where the bytes of a wasm module go: code per crate (from the name section), data segments,
and the longest or most repeated strings of the data.

    bench/wasm_sizes.py FILE.wasm [--top N] [--functions N] [--strings N] [--grep WORD]

Reads the code section (function body sizes) and the `name` custom section (function names; the
pre-bindgen module `$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/aerie_frontend.wasm`
keeps them, and so do modules optimised with `wasm-opt -g`). A function counts for the crate of
the first path segment of its name; for a trait impl `<T as Trait>::f` the crate of `T`, and
for `core::ptr::drop_in_place<T>` also the crate of `T`. Generic functions count where they are
defined (`serde_json::de::from_str<aerie_contract::…>` is serde_json), so read the per-function
list too. Sizes are raw bytes, before compression.
"""

import argparse
import collections
import re
import sys


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def sleb_skip_expr(buf, pos):
    # constant expression of a data segment offset: skip to `end` (0x0b)
    op = buf[pos]
    pos += 1
    if op in (0x41, 0x42):  # i32.const / i64.const
        while buf[pos] & 0x80:
            pos += 1
        pos += 1
    elif op == 0x23:  # global.get
        _, pos = leb(buf, pos)
    assert buf[pos] == 0x0B, "unsupported constant expression"
    return pos + 1


RUST_ESCAPES = {
    "$SP$": "@", "$BP$": "*", "$RF$": "&", "$LT$": "<", "$GT$": ">", "$LP$": "(",
    "$RP$": ")", "$C$": ",",
}


def demangle(name):
    if not name.startswith("_ZN"):
        return name
    pos, parts = 3, []
    while pos < len(name) and name[pos].isdigit():
        m = re.match(r"\d+", name[pos:])
        n = int(m.group(0))
        pos += len(m.group(0))
        parts.append(name[pos:pos + n])
        pos += n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    out = "::".join(parts)
    out = re.sub(r"\$u([0-9a-f]+)\$", lambda m: chr(int(m.group(1), 16)), out)
    for k, v in RUST_ESCAPES.items():
        out = out.replace(k, v)
    return out.replace("..", "::").lstrip("_")


def crate_of(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    m = re.match(r"(?:core|std|alloc)::ptr::drop_in_place<(.*)>$", name)
    if m:
        name = m.group(1)
    while name.startswith("<"):
        name = name[1:]
    name = re.sub(r"^(?:&(?:mut )?|\*(?:const|mut) |dyn |impl |\[|\(|unsafe |extern \"C\" )+", "", name)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)", name)
    if not m:
        return "?"
    crate = m.group(1)
    if crate in ("aerie_app", "aerie_contract", "aerie_frontend"):
        # one level deeper for our own crates
        m2 = re.match(r"[A-Za-z_]+::([A-Za-z_][A-Za-z0-9_]*)(?:::([A-Za-z_][A-Za-z0-9_]*))?(?:::([A-Za-z_][A-Za-z0-9_]*))?", name)
        if m2:
            segs = [s for s in m2.groups() if s]
            if segs and segs[0] == "ui" and len(segs) > 1 and segs[1] == "pages" and len(segs) > 2:
                return f"{crate}::ui::pages::{segs[2]}"
            return f"{crate}::{segs[0]}" + (f"::{segs[1]}" if segs[0] == "ui" and len(segs) > 1 else "")
    if name.startswith("__"):
        return "(wasm-bindgen/linker)"
    return crate


def read(path):
    buf = open(path, "rb").read()
    assert buf[:4] == b"\0asm", "not a wasm module"
    pos = 8
    sections = []
    imported_funcs = 0
    bodies = []
    names = {}
    data = []
    while pos < len(buf):
        sid = buf[pos]
        size, p = leb(buf, pos + 1)
        end = p + size
        label = str(sid)
        if sid == 0:
            n, q = leb(buf, p)
            label = "custom:" + buf[q:q + n].decode()
            if buf[q:q + n] == b"name":
                r = q + n
                while r < end:
                    sub, r = leb(buf, r)
                    sublen, r = leb(buf, r)
                    subend = r + sublen
                    if sub == 1:
                        count, r = leb(buf, r)
                        for _ in range(count):
                            idx, r = leb(buf, r)
                            ln, r = leb(buf, r)
                            names[idx] = buf[r:r + ln].decode("utf-8", "replace")
                            r += ln
                    r = subend
        elif sid == 2:
            count, q = leb(buf, p)
            for _ in range(count):
                ln, q = leb(buf, q); q += ln
                ln, q = leb(buf, q); q += ln
                kind = buf[q]; q += 1
                if kind == 0:
                    _, q = leb(buf, q); imported_funcs += 1
                elif kind == 1:
                    q += 1; flags, q = leb(buf, q); _, q = leb(buf, q)
                    if flags & 1: _, q = leb(buf, q)
                elif kind == 2:
                    flags, q = leb(buf, q); _, q = leb(buf, q)
                    if flags & 1: _, q = leb(buf, q)
                elif kind == 3:
                    q += 2
                else:
                    break
        elif sid == 10:
            count, q = leb(buf, p)
            for i in range(count):
                bsize, q2 = leb(buf, q)
                bodies.append((imported_funcs + i, q2 - q + bsize))
                q = q2 + bsize
        elif sid == 11:
            count, q = leb(buf, p)
            for _ in range(count):
                flags, q = leb(buf, q)
                if flags == 0:
                    q = sleb_skip_expr(buf, q)
                elif flags == 2:
                    _, q = leb(buf, q)
                    q = sleb_skip_expr(buf, q)
                ln, q = leb(buf, q)
                data.append(buf[q:q + ln])
                q += ln
        sections.append((label, end - pos))
        pos = end
    return buf, sections, bodies, names, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wasm")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--functions", type=int, default=0)
    ap.add_argument("--strings", type=int, default=0)
    ap.add_argument("--grep", default=None, help="list functions whose name contains this")
    args = ap.parse_args()
    buf, sections, bodies, names, data = read(args.wasm)
    print(f"{args.wasm}: {len(buf):,} bytes")
    for label, size in sections:
        print(f"  section {label:<28} {size:>10,}")
    total_code = sum(s for _, s in bodies)
    per = collections.Counter()
    count = collections.Counter()
    for idx, size in bodies:
        c = crate_of(demangle(names.get(idx, "?")))
        per[c] += size
        count[c] += 1
    print(f"\ncode: {len(bodies):,} functions, {total_code:,} bytes; named {sum(1 for i, _ in bodies if i in names):,}")
    for c, s in per.most_common(args.top):
        print(f"  {s:>9,}  {100 * s / max(total_code, 1):5.1f}%  {count[c]:>5}  {c}")
    if args.functions:
        print("\nlargest functions:")
        for idx, size in sorted(bodies, key=lambda b: -b[1])[: args.functions]:
            print(f"  {size:>8,}  {demangle(names.get(idx, '?'))[:200]}")
    if args.grep:
        hits = [(s, demangle(names.get(i, "?"))) for i, s in bodies if args.grep in demangle(names.get(i, "?"))]
        print(f"\nfunctions matching {args.grep!r}: {len(hits)}, {sum(s for s, _ in hits):,} bytes")
        for s, n in sorted(hits, reverse=True)[:40]:
            print(f"  {s:>8,}  {n[:200]}")
    blob = b"".join(data)
    print(f"\ndata: {len(data)} segments, {len(blob):,} bytes; zero bytes {blob.count(0):,}")
    strings = re.findall(rb"[\x20-\x7e\t\n\xc2-\xf4\x80-\xbf]{6,}", blob)
    paths = [s for s in strings if re.search(rb"\.rs", s)]
    print(f"  printable runs >= 6 bytes: {len(strings):,}, {sum(map(len, strings)):,} bytes")
    print(f"  runs containing '.rs' (panic locations, paths): {len(paths):,}, {sum(map(len, paths)):,} bytes")
    if args.strings:
        print("  longest runs:")
        for s in sorted(set(strings), key=len, reverse=True)[: args.strings]:
            print(f"    {len(s):>7,}  {s[:160]!r}")


if __name__ == "__main__":
    main()
