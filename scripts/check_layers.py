#!/usr/bin/env python3
"""Checks the layering of model/ (docs/architecture.md): every `#include "..."` of a file under model/
must name a file of its own layer or of a layer it may use, and no include cycle may join two
components (a component is a header with its sources: codec/chunk.hpp and codec/chunk.cpp).

Prints one line per violation, naming the file and the include, and exits 1 if there is any.
Usage: scripts/check_layers.py [MODEL_DIR]   (default: model/ beside this script's folder)
"""
import re
import sys
from pathlib import Path

# Lowest first; each layer may include itself and the layers listed.
ALLOWED = {
    "core": set(),
    "numfmt": {"core"},
    "codec": {"core", "numfmt"},
    "files": {"core", "numfmt"},
    "llm": {"core", "numfmt", "codec", "files"},
    "prune": {"core", "numfmt", "codec", "files", "llm"},
    "ops": {"core", "numfmt", "codec", "files", "llm", "prune"},
    "hw": {"core", "numfmt", "codec"},
}
TOOL = "tool"  # the command line may include any layer; nothing includes it
SOURCE_SUFFIXES = {".hpp", ".h", ".cpp", ".cc"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def includes_of(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    # Line numbers make the message easy to follow.
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in INCLUDE.finditer(text)]


def component(rel):
    """codec/chunk.cpp and codec/chunk.hpp are one component, codec/chunk."""
    return str(rel.with_suffix(""))


def find_cycle(graph):
    """Each cycle of the component graph once, as a list of components (first repeated last)."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def strongconnect(v):  # Tarjan; the graph is small, so recursion depth is no concern
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles = []
    for scc in sccs:  # one concrete path through each strongly connected set
        members, start = set(scc), scc[0]
        path, seen, v = [start], {start}, start
        while True:
            nxt = next(w for w in sorted(graph[v]) if w in members)
            path.append(nxt)
            if nxt in seen:
                cycles.append(path[path.index(nxt):])
                break
            seen.add(nxt)
            v = nxt
    return cycles


def check(model):
    problems = []
    graph = {}  # component -> components it includes
    where = {}  # (component, included component) -> "file:line"
    files = sorted(p for p in model.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES)
    for path in files:
        rel = path.relative_to(model)
        layer = rel.parts[0] if len(rel.parts) > 1 else None
        if layer not in ALLOWED and layer != TOOL:
            problems.append(f"model/{rel}: not in a layer folder ({', '.join(ALLOWED)}, {TOOL})")
            continue
        graph.setdefault(component(rel), set())
        for line, inc in includes_of(path):
            target = (model / inc).resolve()
            try:
                target_rel = target.relative_to(model.resolve())
            except ValueError:
                target_rel = None
            if target_rel is None or not target.is_file():
                problems.append(f'model/{rel}:{line}: includes "{inc}", which is no file under model/ '
                                f'(includes are written from the model/ root: "core/error.hpp")')
                continue
            to_layer = target_rel.parts[0]
            if to_layer == TOOL and layer != TOOL:
                problems.append(f'model/{rel}:{line}: includes "{inc}": nothing includes the command line')
            elif layer != TOOL and to_layer != layer and to_layer not in ALLOWED[layer]:
                allowed = ", ".join(sorted(ALLOWED[layer])) or "nothing outside itself"
                problems.append(f'model/{rel}:{line}: includes "{inc}": {layer} may include {allowed}')
            a, b = component(rel), component(target_rel)
            if a != b:
                graph[a].add(b)
                where.setdefault((a, b), f"model/{rel}:{line}")
    for cycle in find_cycle(graph):
        steps = " -> ".join(cycle)
        problems.append(f"{where[(cycle[0], cycle[1])]}: include cycle {steps}")
    return problems


def main():
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "model"
    if not model.is_dir():
        print(f"check_layers: {model} is not a folder", file=sys.stderr)
        return 2
    problems = check(model)
    for p in problems:
        print(p)
    sys.stdout.flush()
    if problems:
        print(f"check_layers: {len(problems)} layering violation(s) in {model}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
