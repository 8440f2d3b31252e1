"""GlobalSecret: a secret outside any mesh, used by the control plane itself (zone tokens).

Flagged GLOBAL_TO_ZONE, but KDS sends the zones only what they need to verify zone tokens
(the public key and the revocation list, see kds.flows); every other one stays at global.
"""

from __future__ import annotations

from meshfabric.resources.model import KdsFlow, ResourceType, Scope
from meshfabric.resources.types.secret import SecretFields

TYPE = ResourceType(
    name="GlobalSecret",
    plural="global-secrets",
    scope=Scope.GLOBAL,
    apply_order=15,
    schema=SecretFields,
    kds=KdsFlow.GLOBAL_TO_ZONE,
    has_spec=False,
    sensitive=True,
)
