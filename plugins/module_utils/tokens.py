# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Issuing and revoking zone and data plane tokens.

Revocation works the Kuma way: the token's JWT id joins a comma-separated list
kept base64-encoded in the ``data`` of a (Global)Secret, which the control
plane consults on every token check.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    Change,
    Ref,
    ResourceService,
    build_resource,
)

ZONE_REVOCATIONS = Ref("GlobalSecret", None, "zone-token-revocations")
DATAPLANE_REVOCATIONS = "dataplane-token-revocations"


def dataplane_revocations(mesh: str) -> Ref:
    return Ref("Secret", mesh, DATAPLANE_REVOCATIONS)


def issue(service: ResourceService, kind: str, body: Mapping[str, Any]) -> str:
    """A new token from ``POST /tokens/{kind}`` (kind: zone or dataplane)."""
    return service.client.post_text(f"tokens/{kind}", body)


def token_id(token: str) -> str:
    """The ``jti`` claim of a JWT, read without verifying the signature."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["jti"])
    except (IndexError, KeyError, ValueError, binascii.Error) as exc:
        raise MeshError("the token to revoke is not a JWT with a jti claim") from exc


def revoked_ids(secret: Mapping[str, Any] | None) -> list[str]:
    if not secret or not secret.get("data"):
        return []
    text = base64.b64decode(secret["data"]).decode()
    return [jti for jti in (part.strip() for part in text.split(",")) if jti]


def revoke(service: ResourceService, ref: Ref, jti: str, check_mode: bool) -> Change:
    """Add ``jti`` to the revocation secret ``ref``; unchanged if already there."""
    fetched = service.fetch(ref)
    current, version = fetched if fetched else (None, None)
    ids = revoked_ids(current)
    if jti not in ids:
        ids.append(jti)
    data = base64.b64encode(",".join(ids).encode()).decode()
    labels = (current or {}).get("labels") or {}
    desired = build_resource(service.rtype(ref.type), ref.name, ref.mesh, labels, {"data": data})
    change = service.plan(ref, service.normalize(desired), current, version)
    service.apply([change], check_mode)
    return change


def handle_token(
    module: Any,
    service: ResourceService,
    kind: str,
    request: Mapping[str, Any],
    revocations: Ref,
) -> dict[str, Any]:
    """The token modules' flow: issue a token (state=present) or revoke one.

    ``module`` is the AnsibleModule; ``request`` the body of ``POST
    /tokens/{kind}`` without ``validFor``, which comes from the options.
    """
    params = module.params
    if params["state"] == "absent":
        jti = params["token_id"] or token_id(params["revoke_token"])
        change = revoke(service, revocations, jti, module.check_mode)
        result = {"changed": change.changed, "token_id": jti}
        if module._diff:
            result["diff"] = change.diff()
        return result
    if module.check_mode:
        return {"changed": True, "token": None, "token_id": None}
    body = dict(request)
    if params["valid_for"]:
        body["validFor"] = params["valid_for"]
    token = issue(service, kind, body)
    return {"changed": True, "token": token, "token_id": token_id(token)}
