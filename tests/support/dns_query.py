"""A minimal DNS client: one A query over UDP, answers parsed (RFC 1035, no EDNS)."""

from __future__ import annotations

import random
import socket
import struct
from dataclasses import dataclass

A, IN = 1, 1
NXDOMAIN = 3


@dataclass(frozen=True)
class Answer:
    rcode: int
    addresses: list[str]
    ttls: list[int]


def query_a(server: str, port: int, hostname: str, timeout: float = 2) -> Answer:
    query_id = random.randrange(1 << 16)
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired
    question = _name(hostname) + struct.pack("!HH", A, IN)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(header + question, (server, port))
        reply, _ = sock.recvfrom(4096)
    answer_id, flags, _, answers, _, _ = struct.unpack("!HHHHHH", reply[:12])
    assert answer_id == query_id, "the reply answers another query"
    offset = 12 + len(question)  # the question is echoed back as sent
    addresses, ttls = [], []
    for _ in range(answers):
        offset = _skip_name(reply, offset)
        kind, _, ttl, length = struct.unpack("!HHIH", reply[offset : offset + 10])
        offset += 10
        if kind == A:
            addresses.append(socket.inet_ntoa(reply[offset : offset + length]))
            ttls.append(ttl)
        offset += length
    return Answer(flags & 0xF, addresses, ttls)


def _name(hostname: str) -> bytes:
    labels = [label.encode() for label in hostname.rstrip(".").split(".")]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        offset += 1 + length
