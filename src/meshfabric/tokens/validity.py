"""When a token that was valid stops being valid: revoked, expired, or no longer verifying
because its signing key was replaced or removed.

Whatever a token opened (an xDS stream, a KDS stream) asks to be told, and ends itself then.
Driven by the store's change events on the token's revocation list and signing key, and by
a timer at the token's expiry: nothing is polled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from meshfabric.store.events import ChangeEvent
from meshfabric.tokens.issuer import InvalidToken, TokenIssuer

log = logging.getLogger(__name__)

# Called with the reason, e.g. "the token has been revoked"; maybe more than once.
OnInvalid = Callable[[str], None]


class TokenValidity:
    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    @contextmanager
    def watch(
        self, token: str, claims: Mapping[str, Any], on_invalid: OnInvalid, mesh: str = ""
    ) -> Iterator[None]:
        """While the block runs, call `on_invalid` once the token (already verified, with
        these claims) is no longer valid."""
        kind, events = self._issuer.kind, self._issuer.store.events
        loop = asyncio.get_running_loop()
        checks: set[asyncio.Task[None]] = set()

        def recheck(_: ChangeEvent) -> None:
            task = loop.create_task(self._verify(token, mesh, on_invalid))
            checks.add(task)
            task.add_done_callback(checks.discard)

        seconds_left = float(claims["exp"]) - datetime.now(UTC).timestamp()
        expiry = loop.call_later(max(0.0, seconds_left), on_invalid, "the token has expired")
        with ExitStack() as watching:
            watching.enter_context(events.watching(kind.revocations_key(mesh), recheck))
            watching.enter_context(events.watching(kind.signing_key_key(mesh), recheck))
            try:
                yield
            finally:
                expiry.cancel()
                for task in checks:
                    task.cancel()

    async def _verify(self, token: str, mesh: str, on_invalid: OnInvalid) -> None:
        try:
            await self._issuer.verify(token, mesh)
        except InvalidToken as reason:
            on_invalid(str(reason))
        except Exception:  # a storage error says nothing about the token: keep it
            log.exception("could not recheck a %s token", self._issuer.kind.name)
