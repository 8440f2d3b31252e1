"""Signed tokens (JWT, RS256) for users, zones and dataplanes, with revocation lists."""

from meshfabric.tokens.issuer import (
    DATAPLANE,
    USER,
    ZONE,
    InvalidToken,
    TokenIssuer,
    TokenKind,
    parse_duration,
)
from meshfabric.tokens.validity import TokenValidity

__all__ = [
    "DATAPLANE",
    "USER",
    "ZONE",
    "InvalidToken",
    "TokenIssuer",
    "TokenKind",
    "TokenValidity",
    "parse_duration",
]
