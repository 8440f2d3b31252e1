"""Bearer-token authentication: every request but the public ones carries a user token.

Tokens whose groups include mesh-system:admin may write and read secrets; any other valid
token reads everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import Headers

from meshfabric.api.errors import ApiError
from meshfabric.tokens import TokenIssuer

ADMIN_GROUP = "mesh-system:admin"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that change nothing: Kuma's MADS over HTTP, which Prometheus' kuma_sd fetches by POST.
READING_POSTS = frozenset({"/v3/discovery:monitoringassignments"})


@dataclass(frozen=True)
class Principal:
    name: str
    groups: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups


async def authenticate(method: str, headers: Headers, users: TokenIssuer) -> Principal:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "Unauthenticated",
            "send a user token as 'Authorization: Bearer <token>' "
            "(the admin token is in the control plane's data directory, file admin-token)",
        )
    claims = await users.verify(token.strip())
    principal = Principal(str(claims.get("name", "")), tuple(claims.get("groups", ())))
    if method not in READ_METHODS and not principal.is_admin:
        raise ApiError(403, "Forbidden", f'user "{principal.name}" has a read-only token')
    return principal


def principal(request: Request) -> Principal:
    """Who sent the request, as the authentication guard found (every non-public route)."""
    found: Principal = request.state.principal
    return found
