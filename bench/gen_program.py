#!/usr/bin/env python3
"""Writes a large, valid .flow program: STATEMENTS statements mixing lets,
defined stages and pipelines with blocks (for `flowrun check` timing).

usage: gen_program.py STATEMENTS > big.flow
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
out = []
for i in range(n):
    kind = i % 4
    if kind == 0:
        out.append(f'let c{i} = {i} * 2 + int(arg("p{i % 7}", "{i}"))')
    elif kind == 1:
        out.append(f'stage s{i}(x) = map {{ let a = $1 + str(x); upper(a) }} | filter {{ len($0) > {i % 50} }}')
    elif kind == 2:
        out.append(f'lines("a b c\\nd e f") | s{i - 1}({i}) | map {{ fmt("{{}}-{{}}", $2, NR * c{i - 2}) }} | discard')
    else:
        out.append(f'seq(1, {i}) | filter {{ int($0) % 3 == 0 && !contains($0, "7") }}'
                   f' | map {{ substr(_, 1, 2) }} * 2 [ordered] | count | discard')
print("\n".join(out))
