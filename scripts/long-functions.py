#!/usr/bin/env python3
"""Functions in src/ longer than a limit (default 80 lines), longest first; tests excluded.

STYLE asks for functions that do one job, none over ~80 lines. A function's length is counted
from its `fn` line to its closing brace, found by matching braces outside strings, chars and
comments. Exits 1 when any is found, so it can become a CI check once the list is empty.
Usage: scripts/long-functions.py [LIMIT]
"""
import os
import re
import sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
FN = re.compile(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")


def strip(line):
    """The line without string/char literals and `//` comments (good enough for counting braces)."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])'", "''", line)
    return line.split("//", 1)[0]


found = []
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        lines = open(path).read().split("\n")
        in_tests = None
        i = 0
        while i < len(lines):
            if re.match(r"^\s*#\[cfg\(test\)\]", lines[i]):
                break  # tests sit at the end of a file
            m = FN.match(lines[i])
            if not m:
                i += 1
                continue
            depth, started, j = 0, False, i
            while j < len(lines):
                code = strip(lines[j])
                if not started and ";" in code and "{" not in code:
                    break  # a declaration without a body (trait method)
                depth += code.count("{") - code.count("}")
                started = started or "{" in code
                if started and depth <= 0:
                    break
                j += 1
            length = j - i + 1
            if started and length > limit:
                rel = os.path.relpath(path, os.path.join(root, ".."))
                found.append((length, f"{rel}:{i + 1}", m.group(1)))
            i += 1
for length, where, name in sorted(found, reverse=True):
    print(f"{length:5}  {where}  {name}")
sys.exit(1 if found else 0)
