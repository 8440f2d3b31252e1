"""One encoded xDS resource, named and versioned by the hash of its serialized form."""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message


@functools.cache
def type_url(descriptor: Descriptor) -> str:
    """One string per type, shared by every resource of it (a proxy holds dozens). Keyed by
    the descriptor: reading its `full_name` makes a new string each time."""
    return f"type.googleapis.com/{descriptor.full_name}"


# A partial, not a Python function: `XdsResource.encode` hashes every resource it encodes.
_hash = functools.partial(hashlib.blake2b, digest_size=8)


def content_hash(data: bytes) -> str:
    return _hash(data).hexdigest()


class XdsResource(NamedTuple):
    """One serialized resource: encoded once, shared by every snapshot that holds it.

    Kept as the serialized bytes, not as a protobuf `Any`: a message costs about as much
    memory again as its bytes, and a proxy's snapshot holds dozens of resources of its own.
    A tuple: a proxy reaching every service makes thousands, and a tuple builds in a
    fraction of a frozen dataclass's time.
    """

    name: str
    version: str
    value: bytes  # the message, serialized
    type_url: str

    @classmethod
    def encode(cls, name: str, message: Message, url: str = "") -> XdsResource:
        """`url`: the message's type URL, when the caller knows it already."""
        data = message.SerializeToString(deterministic=True)
        fields = (name, _hash(data).hexdigest(), data, url or type_url(message.DESCRIPTOR))
        # What `cls(...)` does without its generated `__new__`, a Python call: one per resource.
        resource: XdsResource = tuple.__new__(cls, fields)
        return resource

    @property
    def body(self) -> any_pb2.Any:
        """The resource as the `Any` xDS responses carry; a new message on every call."""
        return any_pb2.Any(type_url=self.type_url, value=self.value)
