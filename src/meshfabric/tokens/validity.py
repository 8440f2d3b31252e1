"""When a token that was valid stops being valid: revoked, expired, or no longer verifying
because its signing key was replaced or removed.

Whatever a token opened (an xDS stream, a KDS stream) asks to be told, and ends itself then.
Driven by the store's change events on the token's revocation list and signing key, and by
a timer at the token's expiry: nothing is polled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime
from typing import Any

from meshfabric.store.events import ChangeEvent
from meshfabric.tokens.issuer import InvalidToken, TokenIssuer

log = logging.getLogger(__name__)

# Called with the reason, e.g. "the token has been revoked"; maybe more than once.
OnInvalid = Callable[[str], None]


class TokenValidity:
    """Streams opened with the same token share one watch of it: one expiry timer, one
    watch of the revocation list and signing key, one copy of the token and its claims."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer
        self._watches: dict[tuple[str, str], _TokenWatch] = {}

    def shared(self, token: str, claims: Mapping[str, Any], mesh: str = "") -> _Verified:
        """The token and claims to keep: those of a stream already watching the same token,
        else these."""
        watch = self._watches.get((token, mesh))
        return (watch.token, watch.claims) if watch is not None else (token, claims)

    def watch(
        self, token: str, claims: Mapping[str, Any], on_invalid: OnInvalid, mesh: str = ""
    ) -> AbstractContextManager[None]:
        """While the block runs, call `on_invalid` once the token (already verified, with
        these claims) is no longer valid."""
        return _Subscription(self, (token, mesh), claims, on_invalid)

    def hold(self, key: tuple[str, str], claims: Mapping[str, Any], on_invalid: OnInvalid) -> None:
        """Call `on_invalid` too once the token keyed (token, mesh) is invalid."""
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = _TokenWatch(self._issuer, *key, claims)
        watch.callbacks.append(on_invalid)

    def release(self, key: tuple[str, str], on_invalid: OnInvalid) -> None:
        """Undo one `hold`; the token's watch ends with its last holder."""
        watch = self._watches[key]
        watch.callbacks.remove(on_invalid)
        if not watch.callbacks:
            del self._watches[key]
            watch.close()


class _Subscription(AbstractContextManager[None]):
    """One stream's hold on its token's watch: held per connected proxy, so a few slots
    rather than a generator frame."""

    __slots__ = ("_claims", "_key", "_on_invalid", "_validity")

    def __init__(
        self,
        validity: TokenValidity,
        key: tuple[str, str],
        claims: Mapping[str, Any],
        on_invalid: OnInvalid,
    ) -> None:
        self._validity, self._key, self._claims, self._on_invalid = (
            validity,
            key,
            claims,
            on_invalid,
        )

    def __enter__(self) -> None:
        self._validity.hold(self._key, self._claims, self._on_invalid)

    def __exit__(self, *_: object) -> None:
        self._validity.release(self._key, self._on_invalid)


_Verified = tuple[str, Mapping[str, Any]]


class _TokenWatch:
    """One token's watch, told to every stream opened with it."""

    def __init__(
        self, issuer: TokenIssuer, token: str, mesh: str, claims: Mapping[str, Any]
    ) -> None:
        self.token, self.claims = token, claims
        self.callbacks: list[OnInvalid] = []
        self._issuer, self._mesh = issuer, mesh
        self._checks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        self._loop = loop
        seconds_left = float(claims["exp"]) - datetime.now(UTC).timestamp()
        self._expiry = loop.call_later(
            max(0.0, seconds_left), self._invalid, "the token has expired"
        )
        events = issuer.store.events
        self._watching = ExitStack()
        for key in issuer.kind.keys(mesh):
            self._watching.enter_context(events.watching(key, self._recheck))

    def close(self) -> None:
        self._watching.close()
        self._expiry.cancel()
        for task in self._checks:
            task.cancel()

    def _invalid(self, reason: str) -> None:
        for on_invalid in list(self.callbacks):
            on_invalid(reason)

    def _recheck(self, _: ChangeEvent) -> None:
        task = self._loop.create_task(self._verify())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _verify(self) -> None:
        try:
            await self._issuer.verify(self.token, self._mesh)
        except InvalidToken as reason:
            self._invalid(str(reason))
        except Exception:  # a storage error says nothing about the token: keep it
            log.exception("could not recheck a %s token", self._issuer.kind.name)
