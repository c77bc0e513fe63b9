#!/usr/bin/env python3
"""The import graph of src/ between top-level modules, and its cycles.

Every `crate::<module>` (and `super::` at a module's top) that a file of one top-level module
names counts as an edge to that module. DESIGN.md asks for a graph with no cycle: config at the
bottom, then probe/state/incident/history, then model, then render/notify/publish, pipeline on
top, cmd (the binary) above everything. Prints the edges and every cycle; exits 1 on a cycle.
Usage: scripts/module-graph.py [--quiet]
"""
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
lib = open(os.path.join(root, "lib.rs")).read()
# Private modules (`mod document;`) are stages' helpers too: list them as well.
modules = re.findall(r"^(?:pub(?:\([\w:]+\))? )?mod (\w+);", lib, re.M)


def module_of(path):
    rel = os.path.relpath(path, root)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


edges = {m: set() for m in modules}
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        m = module_of(path)
        if m not in edges:
            continue  # main.rs, cli.rs, cmd/: the binary, above everything
        text = open(path).read()
        # Comments and doc comments name modules without depending on them.
        text = re.sub(r"//[^\n]*", "", text)
        for target in re.findall(r"\bcrate::(\w+)", text):
            if target in edges and target != m:
                edges[m].add(target)
        # `use crate::{a, b::c}` groups.
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            for target in re.findall(r"(?:^|,)\s*(\w+)", group):
                if target in edges and target != m:
                    edges[m].add(target)


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


found = cycles(edges)
if "--quiet" not in sys.argv:
    for m in sorted(edges):
        print(f"{m:10} -> {', '.join(sorted(edges[m])) or '(nothing)'}")
for scc in found:
    members = set(scc)
    inner = [f"{a}->{b}" for a in sorted(scc) for b in sorted(edges[a] & members)]
    print(f"cycle: {{{', '.join(scc)}}} via {' '.join(inner)}")
if found:
    sys.exit(1)
print("module graph: no cycle")
