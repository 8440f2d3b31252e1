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


def decode(rtype: ResourceType, entry: DeltaResource) -> Resource:
    """The resource a delta entry carries; Rejected, naming the entry, when it is malformed."""
    holder = BytesValue()
    if not entry.resource.Unpack(holder):
        raise Rejected(f"{rtype.name} {entry.name}: the payload is not a BytesValue")
    try:
        document: Any = json.loads(holder.value)
    except ValueError as exc:
        raise Rejected(f"{rtype.name} {entry.name}: the payload is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Rejected(f"{rtype.name} {entry.name}: the payload is not a JSON object")
    mesh, name = document.get("mesh"), document.get("name")
    labels, spec = document.get("labels") or {}, document.get("spec")
    if not isinstance(mesh, str) or not isinstance(name, str) or not name:
        raise Rejected(f"{rtype.name} {entry.name}: mesh and name must be strings")
    if wire_name(mesh, name) != entry.name:
        raise Rejected(f"{rtype.name} {entry.name}: the payload names {wire_name(mesh, name)}")
    if not isinstance(spec, dict) or not isinstance(labels, dict):
        raise Rejected(f"{rtype.name} {entry.name}: spec and labels must be objects")
    if not all(isinstance(value, str) for value in labels.values()):
        raise Rejected(f"{rtype.name} {entry.name}: label values must be strings")
    return Resource(type=rtype.name, mesh=mesh, name=name, spec=spec, labels=labels)
