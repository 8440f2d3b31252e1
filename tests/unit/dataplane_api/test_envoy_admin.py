"""The asking end of an Envoy admin tunnel: replies put back together from their chunks,
and every way a reply can fail to come named with the status the REST API answers."""

from __future__ import annotations

import asyncio

import pytest

from meshfabric.dataplane_api import envoy_admin
from meshfabric.dataplane_api.envoy_admin import (
    CHUNK_BYTES,
    STATS,
    AdminAnswer,
    AdminError,
    AdminExchange,
    chunks,
    error_reply,
)
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminReply, AdminRequest


async def _sent(exchange: AdminExchange) -> AdminRequest:
    request = await exchange.outbox.get()
    assert isinstance(request, AdminRequest)
    return request


async def test_a_reply_in_chunks_is_put_back_together() -> None:
    exchange = AdminExchange(timeout=5)
    asking = asyncio.create_task(exchange.ask(AdminRequest(kind=STATS)))
    request = await _sent(exchange)
    assert request.kind == STATS and request.id
    body = bytes(range(256)) * (CHUNK_BYTES // 100)  # about 2.6 chunks
    replies = chunks(request.id, AdminAnswer("text/plain", body))
    assert len(replies) == 3 and [reply.last for reply in replies] == [False, False, True]
    for reply in replies:
        exchange.received(reply)
    assert await asking == AdminAnswer("text/plain", body)


def test_an_empty_body_is_one_last_chunk() -> None:
    [reply] = chunks(7, AdminAnswer("application/json", b""))
    assert (reply.id, reply.last, reply.body) == (7, True, b"")


async def test_a_peer_that_does_not_answer_in_time_is_a_504() -> None:
    exchange = AdminExchange(timeout=0.05)
    with pytest.raises(AdminError) as late:
        await exchange.ask(AdminRequest(kind=STATS))
    assert late.value.status == 504
    assert late.value.detail == "it did not answer within 0.05s"


async def test_an_error_reply_keeps_the_status_it_was_given_else_502() -> None:
    exchange = AdminExchange(timeout=5)
    relayed = asyncio.create_task(exchange.ask(AdminRequest(kind=STATS)))
    first = await _sent(exchange)
    exchange.received(error_reply(first.id, AdminError(503, "not connected")))
    with pytest.raises(AdminError) as not_connected:
        await relayed
    assert (not_connected.value.status, not_connected.value.detail) == (503, "not connected")

    failed = asyncio.create_task(exchange.ask(AdminRequest(kind=STATS)))
    second = await _sent(exchange)
    exchange.received(AdminReply(id=second.id, last=True, error="Envoy's admin is down"))
    with pytest.raises(AdminError) as envoy_failed:
        await failed
    assert envoy_failed.value.status == 502


async def test_a_reply_larger_than_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envoy_admin, "MAX_REPLY_BYTES", 1 << 20)
    exchange = AdminExchange(timeout=5)
    asking = asyncio.create_task(exchange.ask(AdminRequest(kind=STATS)))
    request = await _sent(exchange)
    for reply in chunks(request.id, AdminAnswer("text/plain", b"x" * (3 << 20))):
        exchange.received(reply)
    with pytest.raises(AdminError, match="larger than 1 MiB") as too_large:
        await asking
    assert too_large.value.status == 502


async def test_a_request_waiting_when_the_tunnel_closes_fails_at_once() -> None:
    exchange = AdminExchange(timeout=60)
    asking = asyncio.create_task(exchange.ask(AdminRequest(kind=STATS)))
    await _sent(exchange)
    exchange.closed()
    with pytest.raises(AdminError, match="its tunnel closed before it answered"):
        await asking
