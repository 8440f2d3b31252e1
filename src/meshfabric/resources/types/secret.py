"""Secret: opaque bytes owned by one mesh, such as a CA or a TLS key (Kuma's secret.proto)."""

from __future__ import annotations

import base64

from meshfabric.resources.common import Base64, Proto
from meshfabric.resources.model import Affects, KdsFlow, Resource, ResourceType, Scope


class SecretFields(Proto):
    # Protobuf's JSON form of bytes: standard base64.
    data: Base64


TYPE = ResourceType(
    name="Secret",
    plural="secrets",
    scope=Scope.MESH,
    apply_order=30,
    affects=Affects.MESH_CA,
    schema=SecretFields,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    has_spec=False,
    sensitive=True,
)


def secret_data(secret: Resource) -> bytes:
    """The bytes a Secret or GlobalSecret holds; raises ValueError if its data is not base64
    (possible only for what was stored before writes were validated)."""
    return base64.b64decode(secret.spec.get("data", ""))
