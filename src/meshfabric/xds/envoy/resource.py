"""One encoded xDS resource, named and versioned by the hash of its serialized form."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from google.protobuf import any_pb2
from google.protobuf.message import Message


@functools.cache
def _type_url(full_name: str) -> str:
    """One string per type, shared by every resource of it (a proxy holds dozens)."""
    return "type.googleapis.com/" + full_name


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class XdsResource:
    """One serialized resource: encoded once, shared by every snapshot that holds it."""

    name: str
    version: str
    body: any_pb2.Any
    type_url: str  # the body's, kept as a str: snapshots are grouped by it

    @classmethod
    def encode(cls, name: str, message: Message) -> XdsResource:
        data = message.SerializeToString(deterministic=True)
        type_url = _type_url(message.DESCRIPTOR.full_name)
        body = any_pb2.Any(type_url=type_url, value=data)
        return cls(name, content_hash(data), body, type_url)
