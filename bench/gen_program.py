#!/usr/bin/env python3
"""Writes a large, valid .flow program for timing `flowrun check`: STATEMENTS
statements, of which about half are lets, 45% defined stages and 5% pipelines that
use them (so that the plan still fits one machine's process and file limits).

usage: gen_program.py STATEMENTS > big.flow
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
out = []
for i in range(n):
    kind = i % 20
    if kind < 9 or (kind >= 18 and i % 40 < 20):
        out.append(f'let c{i} = {i} * 2 + int(arg("p{i % 7}", "{i}")) - len(fmt("{{}}-{{}}", "x", {i}))')
    elif kind < 18:
        out.append(f'stage s{i}(x) = map {{ let a = $1 + str(x); upper(a) }}\n'
                   f'  | filter {{ len($0) > {i % 50} && !contains($0, "7") || NR % 3 == 0 }}')
    elif kind == 18:
        out.append(f'lines("a b c\\nd e f") | s{i - 1}({i}) | s{i - 2}(c{i - 10})'
                   f' | map {{ fmt("{{}}-{{}}", $2, NR * c{i - 11}) }} | discard')
    else:
        out.append(f'seq(1, {i})\n  | filter {{ int($0) % 3 == 0 && matches($0, "^[0-9]+$") }}\n'
                   f'  | map {{ substr(_, 1, 2) }} * 2 [ordered]\n  | count\n  | discard')
print("\n".join(out))
