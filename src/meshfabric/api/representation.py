"""Resources on the wire, the way Kuma writes them.

Older types (Mesh, Dataplane, ZoneIngress, ZoneEgress, Zone, secrets) carry their fields at
the top level; newer ones nest them under `spec`, with a server-maintained `status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meshfabric.resources import Resource, ResourceType, Scope, Violation
from meshfabric.resources.model import ValidationFailed

META_FIELDS = ("type", "name", "mesh", "labels", "creationTime", "modificationTime")
READ_ONLY_FIELDS = ("creationTime", "modificationTime", "status")


def to_json(rtype: ResourceType, resource: Resource) -> dict[str, Any]:
    body: dict[str, Any] = {"type": rtype.name}
    if rtype.scope is Scope.MESH:
        body["mesh"] = resource.mesh
    body["name"] = resource.name
    body["creationTime"] = _timestamp(resource.creation_time)
    body["modificationTime"] = _timestamp(resource.modification_time)
    body["labels"] = resource.labels
    if rtype.has_spec:
        body["spec"] = resource.spec
        if resource.status is not None:
            body["status"] = resource.status
    else:
        body.update(resource.spec)
    return body


def from_json(
    rtype: ResourceType, body: dict[str, Any], mesh: str, name: str, labels: dict[str, str]
) -> Resource:
    """Build the resource a PUT to /…/{mesh}/{plural}/{name} asks for, or say what is wrong."""
    violations = []
    if body.get("type") != rtype.name:
        violations.append(Violation("type", f'must be "{rtype.name}" for this path'))
    if body.get("name") != name:
        violations.append(Violation("name", "name from the URL has to be the same as in body"))
    if rtype.scope is Scope.MESH and body.get("mesh", mesh) != mesh:
        violations.append(Violation("mesh", "mesh from the URL has to be the same as in body"))
    if violations:
        raise ValidationFailed(violations)
    if rtype.has_spec:
        spec = body.get("spec")
        if not isinstance(spec, dict):
            raise ValidationFailed([Violation("spec", "must be defined")])
    else:
        # What the server keeps is left out, as for the types that nest their fields.
        spec = {k: v for k, v in body.items() if k not in (*META_FIELDS, *READ_ONLY_FIELDS)}
    return Resource(type=rtype.name, mesh=mesh, name=name, spec=spec, labels=labels)


def _timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
