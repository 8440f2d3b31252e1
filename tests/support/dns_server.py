"""A minimal authoritative DNS server over TCP (RFC 1035 with RFC 7766 framing), run as a
script: `dns_server.py ADDRESS PORT NAME=IPV4...`. It answers A queries for the names it is
given and NXDOMAIN for any other; enough to stand in for a host's resolver in the lab."""

from __future__ import annotations

import socket
import socketserver
import struct
import sys

A, IN = 1, 1


def answer(query: bytes, records: dict[str, str]) -> bytes:
    query_id, _ = struct.unpack("!HH", query[:4])
    offset, labels = 12, []
    while query[offset]:
        length = query[offset]
        labels.append(query[offset + 1 : offset + 1 + length].decode().lower())
        offset += 1 + length
    question = query[12 : offset + 5]
    kind = struct.unpack("!H", query[offset + 1 : offset + 3])[0]
    address = records.get(".".join(labels))
    if address is None:
        return struct.pack("!HHHHHH", query_id, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
    found = kind == A
    header = struct.pack("!HHHHHH", query_id, 0x8180, 1, int(found), 0, 0)
    if not found:  # the name exists, without records of that type
        return header + question
    record = struct.pack("!HHHIH", 0xC00C, A, IN, 30, 4) + socket.inet_aton(address)
    return header + question + record


def main() -> None:
    address, port, *pairs = sys.argv[1:]
    records = dict(pair.split("=", 1) for pair in pairs)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while prefix := self.rfile.read(2):
                (length,) = struct.unpack("!H", prefix)
                reply = answer(self.rfile.read(length), records)
                self.wfile.write(struct.pack("!H", len(reply)) + reply)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((address, int(port)), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
