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
    """One serialized resource: encoded once, shared by every snapshot that holds it.

    Kept as the serialized bytes, not as a protobuf `Any`: a message costs about as much
    memory again as its bytes, and a proxy's snapshot holds dozens of resources of its own.
    """

    name: str
    version: str
    value: bytes  # the message, serialized
    type_url: str

    @classmethod
    def encode(cls, name: str, message: Message) -> XdsResource:
        data = message.SerializeToString(deterministic=True)
        return cls(name, content_hash(data), data, _type_url(message.DESCRIPTOR.full_name))

    @property
    def body(self) -> any_pb2.Any:
        """The resource as the `Any` xDS responses carry; a new message on every call."""
        return any_pb2.Any(type_url=self.type_url, value=self.value)
