#!/usr/bin/env python3
"""Writes a small, real-looking Apache combined access log (deterministic).

usage: gen_access_log.py [LINES] [SEED] > access.log
"""
import random
import sys

lines = int(sys.argv[1]) if len(sys.argv) > 1 else 400
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
networks = ["192.0.2", "198.51.100", "203.0.113", "10.1.2", "172.16.5"]
ips = [f"{rng.choice(networks)}.{rng.randint(1, 254)}" for _ in range(40)]
paths = ["/", "/index.html", "/about", "/products/42", "/products/7", "/cart", "/login",
         "/static/app.js", "/static/site.css", "/api/v1/items?page=2", "/missing", "/wp-admin"]
agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "Googlebot/2.1", "Mozilla/5.0 (Macintosh)"]
statuses = [200] * 14 + [304, 301, 404, 404, 500, 403]
for i in range(lines):
    ip = rng.choice(ips)
    hour = (i * 24) // lines
    minute, second = rng.randint(0, 59), rng.randint(0, 59)
    path = rng.choice(paths)
    status = 404 if path in ("/missing", "/wp-admin") else rng.choice(statuses)
    size = 0 if status == 304 else rng.randint(200, 60000)
    method = "POST" if path == "/login" and rng.random() < 0.5 else "GET"
    print(f'{ip} - - [22/Nov/2026:{hour:02d}:{minute:02d}:{second:02d} +0000] "{method} {path} HTTP/1.1" '
          f'{status} {size} "-" "{rng.choice(agents)}"')
