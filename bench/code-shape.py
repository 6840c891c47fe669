#!/usr/bin/env python3
"""Prints the shape of the code: the workspace crates and what each depends on inside the
workspace, the largest source files and the longest production functions (tests excluded).
Figures only; asserts nothing. Usage: bench/code-shape.py [N]  (from the repository root)."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = int(sys.argv[1]) if len(sys.argv) > 1 else 10
DIRS = ["contract", "backend", "app", "server", "frontend", "migrations", "bench"]


def crate_graph():
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    import json
    meta = json.loads(out)
    names = {p["name"] for p in meta["packages"]}
    print("crates (workspace dependencies; dev-only in brackets):")
    for p in sorted(meta["packages"], key=lambda p: p["name"]):
        deps = sorted({d["name"] for d in p["dependencies"] if d["name"] in names and d["kind"] is None})
        dev = sorted({d["name"] for d in p["dependencies"] if d["name"] in names and d["kind"] == "dev"} - set(deps))
        extra = f" [{', '.join(dev)}]" if dev else ""
        print(f"  {p['name']:<18} -> {', '.join(deps) or '-'}{extra}")


def sources():
    for d in DIRS:
        base = ROOT / d / "src"
        if base.is_dir():
            yield from sorted(base.rglob("*.rs"))


def production_lines(text):
    """The file's lines with `#[cfg(test)] mod ... { ... }` blocks blanked."""
    lines = text.splitlines()
    out, skip, depth = [], False, 0
    for i, line in enumerate(lines):
        if not skip and line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*(pub(\(\w+\))? )?mod \w+", lines[i + 1]):
            if lines[i + 1].rstrip().endswith(";"):
                out.append("")
                continue
            skip, depth = True, 0
        if skip:
            depth += line.count("{") - line.count("}")
            out.append("")
            if depth <= 0 and "}" in line:
                skip = False
            continue
        out.append(line)
    return out


FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def functions(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = production_lines(text)
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            if not started and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            started = started or "{" in code
            if started and depth <= 0:
                yield m.group(6), i + 1, j - i + 1
                break


def main():
    crate_graph()
    files = [(len(p.read_text(encoding="utf-8", errors="replace").splitlines()), p) for p in sources()]
    files.sort(reverse=True)
    print(f"\nlargest files ({sum(n for n, _ in files)} lines in {len(files)} files):")
    for n, p in files[:TOP]:
        print(f"  {n:>6}  {p.relative_to(ROOT)}")
    fns = [(n, name, p, line) for _, p in files for name, line, n in functions(p)]
    fns.sort(reverse=True)
    over = sum(1 for f in fns if f[0] > 120)
    print(f"\nlongest production functions ({over} over 120 lines):")
    for n, name, p, line in fns[:TOP]:
        print(f"  {n:>6}  {name}  {p.relative_to(ROOT)}:{line}")


main()
