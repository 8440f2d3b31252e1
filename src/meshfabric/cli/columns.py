"""Table columns per resource type: NAME, MESH, what matters for the type, AGE."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from meshfabric.cli.catalogue import ResourceTypeInfo
from meshfabric.cli.output import age

Resource = dict[str, Any]
Column = tuple[str, Callable[[Resource], str]]


def _target_ref(resource: Resource) -> dict[str, Any]:
    # A policy without a top-level targetRef selects the whole mesh, as in Kuma.
    ref: dict[str, Any] = resource.get("spec", {}).get("targetRef") or {"kind": "Mesh"}
    return ref


def mtls_backend(resource: Resource) -> str:
    return str((resource.get("mtls") or {}).get("enabledBackend") or "off")


_POLICY_COLUMNS: list[Column] = [
    ("TARGETREF KIND", lambda r: str(_target_ref(r)["kind"])),
    ("TARGETREF NAME", lambda r: str(_target_ref(r).get("name", "-"))),
]
_TYPE_COLUMNS: dict[str, list[Column]] = {
    "Mesh": [("MTLS", mtls_backend)],
    "Zone": [("ENABLED", lambda r: str(r.get("enabled", True)).lower())],
}


def columns_for(rtype: ResourceTypeInfo) -> list[Column]:
    columns: list[Column] = [("NAME", lambda r: str(r["name"]))]
    if rtype.mesh_scoped:
        columns.append(("MESH", lambda r: str(r.get("mesh", ""))))
    columns += _POLICY_COLUMNS if rtype.is_policy else _TYPE_COLUMNS.get(rtype.name, [])
    columns.append(("AGE", lambda r: age(r.get("creationTime"))))
    return columns


def tabulate(
    rtype: ResourceTypeInfo, resources: Iterable[Resource]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a `meshctl get` table."""
    columns = columns_for(rtype)
    headers = [header for header, _ in columns]
    return headers, [[cell(resource) for _, cell in columns] for resource in resources]
