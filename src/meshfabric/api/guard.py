"""The API's front door, in front of FastAPI: a cap per client, authentication, the body limit.

It is plain ASGI so that it runs before anything reads the body: a request without a valid
token, or a read-only token asking to write, is answered from its headers alone, so an
anonymous client cannot make the control plane receive and parse a large body. A body larger
than the limit is refused with 413 as soon as it is declared, or once it exceeds the limit.
A client (an address) with too many requests in progress gets 429 for the next one.
"""

from __future__ import annotations

from collections import Counter

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshfabric.api.auth import READING_POSTS, Principal, authenticate
from meshfabric.api.errors import ApiError, problem, store_unavailable
from meshfabric.store import StoreUnavailable
from meshfabric.tokens import InvalidToken, TokenIssuer

# What anyone may read without a token: the identity and readiness (for health checks)
# and the API's schema, which describes the resource types and holds no data.
PUBLIC_PATHS = frozenset({"/", "/ready", "/openapi.json", "/docs"})
PUBLIC_METHODS = frozenset({"GET", "HEAD"})


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI passes it on while it reads the body."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than {limit} bytes (the limit, api.max_body_bytes)"
        )


class RequestGuard:
    def __init__(
        self, app: ASGIApp, users: TokenIssuer, max_body_bytes: int, max_per_client: int
    ) -> None:
        self.app = app
        self.users = users
        self.max_body_bytes = max_body_bytes
        self.max_per_client = max_per_client
        self._in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        if self._in_flight[client] >= self.max_per_client:
            await problem(_too_many(self.max_per_client))(scope, receive, send)
            return
        self._in_flight[client] += 1
        try:
            await self._guarded(scope, receive, send)
        finally:
            self._in_flight[client] -= 1
            if not self._in_flight[client]:
                del self._in_flight[client]

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if not _is_public(scope):
                scope.setdefault("state", {})["principal"] = await self._authenticate(scope)
            self._check_declared_length(Headers(scope=scope))
        except ApiError as refused:
            await problem(refused)(scope, receive, send)
            return
        await self.app(scope, self._within_limit(receive), send)

    async def _authenticate(self, scope: Scope) -> Principal:
        try:
            # A POST that only reads is a read for the token check.
            method = "GET" if scope["path"] in READING_POSTS else scope["method"]
            return await authenticate(method, Headers(scope=scope), self.users)
        except InvalidToken as invalid:
            raise ApiError(401, "Unauthenticated", str(invalid)) from None
        except StoreUnavailable as failed:
            # The token's key is read from the store: its outage is a 503 here as in a route,
            # not an error that ends the connection.
            raise store_unavailable(failed) from None

    def _check_declared_length(self, headers: Headers) -> None:
        declared = headers.get("content-length", "0")
        if not declared.isdigit():
            raise ApiError(400, "Bad Request", "Content-Length must be a number of bytes")
        if int(declared) > self.max_body_bytes:
            raise too_large(self.max_body_bytes)

    def _within_limit(self, receive: Receive) -> Receive:
        """Count a body sent without Content-Length (chunked) as it arrives."""
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return receive_within_limit


def _too_many(limit: int) -> ApiError:
    return ApiError(
        429,
        "Too Many Requests",
        f"this client already has {limit} requests in progress "
        "(the limit, api.max_concurrent_per_client); send more once they are answered",
    )


def too_large(limit: int) -> ApiError:
    return ApiError(413, "Content Too Large", BodyTooLarge(limit).detail)


def _is_public(scope: Scope) -> bool:
    return scope["method"] in PUBLIC_METHODS and scope["path"] in PUBLIC_PATHS
