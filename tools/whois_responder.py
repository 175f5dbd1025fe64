#!/usr/bin/env python3
"""A small whois (RFC 3912) responder for flowrun's tests and examples.

Reads one query line per connection, waits --latency (each query on its own,
so many clients are served at once), answers with made-up but deterministic
RIPE-style text and closes, as a whois server does. An IPv4 or IPv6 address
gets an `inetnum:`/`inet6num:` object with `netname:`, `descr:` and
`country:`; anything else gets '% no entries found'.

Networks: the documentation and private blocks have names of their own
(TEST-NET-1, PRIVATE-172-16, ...); any other IPv4 address is in a made-up
/16 named NET-A-B, an IPv6 address in a /32 named NET6-XXXX-XXXX. The
country follows from the network.

usage: whois_responder.py [--host 127.0.0.1] [--port 4343] [--latency 50ms]
                          [--query-log PATH]
With --port 0 a free port is chosen. Either way the port is printed alone on
the first line of stdout as soon as the responder listens. SIGINT or SIGTERM
end it (exit 0).

For examples/whois.flow:
  python3 tools/whois_responder.py --port 4343 --latency 50ms
  flowrun run examples/whois.flow -p server=127.0.0.1:4343
"""
import argparse
import asyncio
import ipaddress
import re
import signal
import sys

SOURCE = "FLOWRUN-TEST"
COUNTRIES = ["NL", "DE", "FR", "JP", "BR", "US", "ZA", "SE", "IN", "AU", "CA", "KE"]

# (network, netname, country, descr): the first that holds the address wins.
NAMED_NETWORKS = [
    (ipaddress.ip_network("192.0.2.0/24"), "TEST-NET-1", "NL", "Documentation block (RFC 5737)"),
    (ipaddress.ip_network("198.51.100.0/24"), "TEST-NET-2", "DE", "Documentation block (RFC 5737)"),
    (ipaddress.ip_network("203.0.113.0/24"), "TEST-NET-3", "JP", "Documentation block (RFC 5737)"),
    (ipaddress.ip_network("10.0.0.0/8"), "PRIVATE-10", "FR", "Private network (RFC 1918)"),
    (ipaddress.ip_network("172.16.0.0/12"), "PRIVATE-172-16", "US", "Private network (RFC 1918)"),
    (ipaddress.ip_network("192.168.0.0/16"), "PRIVATE-192-168", "SE", "Private network (RFC 1918)"),
    (ipaddress.ip_network("127.0.0.0/8"), "LOOPBACK", "ZZ", "Loopback (RFC 1122)"),
    (ipaddress.ip_network("2001:db8::/32"), "DOC-NET6", "NL", "IPv6 documentation block (RFC 3849)"),
]


def lookup(query):
    """(key, range text, netname, country, descr) for an address, else None."""
    try:
        address = ipaddress.ip_address(query)
    except ValueError:
        return None
    key = "inetnum" if address.version == 4 else "inet6num"
    for network, netname, country, descr in NAMED_NETWORKS:
        if address in network:
            break
    else:
        if address.version == 4:
            a, b = address.packed[0], address.packed[1]
            network = ipaddress.ip_network(f"{a}.{b}.0.0/16")
            netname, country = f"NET-{a}-{b}", COUNTRIES[(a * 256 + b) % len(COUNTRIES)]
        else:
            first, second = address.exploded.split(":")[:2]
            network = ipaddress.ip_network(f"{first}:{second}::/32")
            netname = f"NET6-{first}-{second}".upper()
            country = COUNTRIES[int(first + second, 16) % len(COUNTRIES)]
        descr = f"Made-up network {network}"
    if address.version == 4:
        span = f"{network.network_address} - {network.broadcast_address}"
    else:
        span = str(network)
    return key, span, netname, country, descr


def answer(query):
    """The whole answer to `query`, as the responder sends it."""
    head = ("% This is the flowrun test whois responder (tools/whois_responder.py).\n"
            "% Its answers are made up, and always the same for the same query.\n\n")
    found = lookup(query)
    if found is None:
        return head + f"% no entries found for '{query}' in source {SOURCE}\n"
    key, span, netname, country, descr = found
    rows = [(key, span), ("netname", netname), ("descr", descr), ("country", country),
            ("admin-c", "FLOW1-TEST"), ("status", "ASSIGNED PA"), ("source", SOURCE)]
    body = "".join(f"{name + ':':<16}{value}\n" for name, value in rows)
    return head + body + f"\n% query: {query}\n"


def parse_latency(text):
    """'50ms', '0.5s', '2s' or a number of seconds, as seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 50ms, 0.5s)")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


# Longest query line accepted; a longer one ends the connection unanswered.
MAX_QUERY = 64 * 1024
# A client that connects and says nothing is let go after this long.
IDLE_SECONDS = 30


class Query(asyncio.Protocol):
    """One connection: a line in, the latency, the answer out, closed.

    A bare Protocol with timers, not streams and tasks: with twelve clients
    asking at once, the streams' per-connection cost (about 0.5 ms each on
    one core) delayed the last answer of a round by several milliseconds,
    and the benchmarks measure the clients, not this responder."""

    def __init__(self, latency, query_log):
        self.latency = latency
        self.query_log = query_log
        self.received = bytearray()
        self.transport = None
        self.timer = None

    def connection_made(self, transport):
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(IDLE_SECONDS, transport.close)

    def data_received(self, data):
        if self.timer is None:
            return  # the query is in: the rest is ignored
        self.received += data
        end = self.received.find(b"\n")
        if end < 0:
            if len(self.received) > MAX_QUERY:
                self.transport.close()
            return
        query = self.received[:end].decode("utf-8", "replace").rstrip("\r\n").strip()
        if self.query_log is not None:
            self.query_log.write(query + "\n")
            self.query_log.flush()
        self.timer.cancel()
        self.timer = None
        if self.latency > 0:
            asyncio.get_running_loop().call_later(self.latency, self.answer, query)
        else:
            self.answer(query)

    def answer(self, query):
        if not self.transport.is_closing():
            self.transport.write(answer(query).encode())
            self.transport.close()  # after the buffered answer is sent

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()


async def run(args):
    query_log = None
    if args.query_log == "-":
        query_log = sys.stderr
    elif args.query_log:
        query_log = open(args.query_log, "a", buffering=1)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Query(args.latency, query_log), args.host, args.port, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4343, help="port to listen on; 0 picks a free one")
    parser.add_argument("--latency", type=parse_latency, default=0.0,
                        help="delay before each answer, e.g. 50ms (default 0)")
    parser.add_argument("--query-log", metavar="PATH",
                        help="append each query on a line to PATH ('-': stderr)")
    parser.add_argument("--answer", metavar="QUERY", help="print the answer to QUERY and exit")
    args = parser.parse_args()
    if args.answer is not None:
        sys.stdout.write(answer(args.answer))
        return 0
    try:
        asyncio.run(run(args))
    except OSError as e:
        print(f"whois_responder: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
