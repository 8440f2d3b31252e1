"""Resources as KDS carries them: an Envoy delta `Resource` whose `Any` holds a JSON document.

The document has the resource's mesh, name, labels and its own fields, never its status
(status is computed where the resource is used) nor its store version.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envoy.service.discovery.v3.discovery_pb2 import Resource as DeltaResource
from google.protobuf.wrappers_pb2 import BytesValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshfabric.resources import Resource, ResourceType

TYPE_URL_PREFIX = "meshfabric.io/"


class Rejected(Exception):
    """A received resource or batch that cannot be applied; the message names it and says why."""


def type_url(rtype: ResourceType) -> str:
    return TYPE_URL_PREFIX + rtype.name


def wire_name(mesh: str, name: str) -> str:
    """`mesh/name` for mesh-scoped resources, `/name` for global ones."""
    return f"{mesh}/{name}"


def split_wire_name(name: str) -> tuple[str, str]:
    mesh, slash, own = name.partition("/")
    if not slash or not own:
        raise Rejected(f'"{name}" is not a resource name of the form mesh/name')
    return mesh, own


def encode(resource: Resource) -> DeltaResource:
    document = json.dumps(
        {
            "mesh": resource.mesh,
            "name": resource.name,
            "labels": resource.labels,
            "spec": resource.spec,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    entry = DeltaResource(
        name=wire_name(resource.mesh, resource.name),
        # A content hash: the same resource sent twice carries the same version.
        version=hashlib.sha256(document).hexdigest()[:16],
    )
    entry.resource.Pack(BytesValue(value=document))
    return entry


class _Document(BaseModel):
    """What a delta entry's payload holds; refused whole when any field is off."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mesh: str
    name: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    spec: dict[str, Any]


def decode(rtype: ResourceType, entry: DeltaResource) -> Resource:
    """The resource a delta entry carries; Rejected, naming the entry, when it is malformed."""
    holder = BytesValue()
    if not entry.resource.Unpack(holder):
        raise Rejected(f"{rtype.name} {entry.name}: the payload is not a BytesValue")
    try:
        document = _Document.model_validate_json(holder.value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
            for error in exc.errors()
        )
        raise Rejected(f"{rtype.name} {entry.name}: {problems}") from None
    if wire_name(document.mesh, document.name) != entry.name:
        raise Rejected(
            f"{rtype.name} {entry.name}: the payload names "
            f"{wire_name(document.mesh, document.name)}"
        )
    return Resource(
        type=rtype.name,
        mesh=document.mesh,
        name=document.name,
        spec=document.spec,
        labels=document.labels,
    )
