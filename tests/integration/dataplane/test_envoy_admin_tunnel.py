"""The Envoy admin tunnel as a proxy sees it: a real control plane, and a gRPC client on its
xDS socket speaking the tunnel's messages the way meshfabric-dp does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from meshfabric.dataplane_api.envoy_admin import OPEN_METHOD
from meshfabric.dataplane_api.envoy_admin_pb2 import AdminReply, AdminRequest, Hello, ProxyMessage
from tests.integration.dataplane.support import ZoneControlPlane, sidecar_dataplane
from tests.support.net import free_port


async def _open(
    cp: ZoneControlPlane, token: str | None, name: str
) -> tuple[grpc.aio.Channel, grpc.aio.StreamStreamCall]:
    channel = grpc.aio.insecure_channel(f"unix://{cp.xds_socket}")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    call = channel.stream_stream(
        OPEN_METHOD,
        request_serializer=ProxyMessage.SerializeToString,
        response_deserializer=AdminRequest.FromString,
    )(metadata=metadata)
    await call.write(ProxyMessage(hello=Hello(mesh="default", name=name)))
    return channel, call


async def _refusal(cp: ZoneControlPlane, token: str | None, name: str) -> grpc.aio.AioRpcError:
    channel, call = await _open(cp, token, name)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call.read()
    return refused.value


@pytest.fixture
def registered(control_plane: ZoneControlPlane, mesh: str) -> str:
    control_plane.apply(sidecar_dataplane("backend-1", free_port(), free_port(), "backend", "http"))
    return "backend-1"


async def test_a_tunnel_opens_only_for_a_registered_dataplane_its_token_covers(
    control_plane: ZoneControlPlane, registered: str
) -> None:
    unauthenticated = await _refusal(control_plane, None, registered)
    assert unauthenticated.code() is grpc.StatusCode.UNAUTHENTICATED
    other_service = control_plane.dataplane_token("default", "web")
    foreign = await _refusal(control_plane, other_service, registered)
    assert foreign.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "issued for service web, but the dataplane serves backend" in (foreign.details() or "")
    own = control_plane.dataplane_token("default", "backend")
    unknown = await _refusal(control_plane, own, "backend-2")
    assert unknown.code() is grpc.StatusCode.NOT_FOUND


async def _get(cp: ZoneControlPlane, path: str) -> httpx.Response:
    async with cp.async_client() as client:
        return await client.get(path)


async def _asked(
    cp: ZoneControlPlane, path: str, requests: AsyncIterator[AdminRequest]
) -> tuple[asyncio.Task[httpx.Response], AdminRequest]:
    """A REST request for `path` and the request it sends down the tunnel; retried while
    the API still answers 503 (the tunnel not open yet)."""
    arriving = asyncio.ensure_future(anext(requests))
    while True:
        asking = asyncio.create_task(_get(cp, path))
        await asyncio.wait({asking, arriving}, return_when=asyncio.FIRST_COMPLETED)
        if arriving.done():
            return asking, arriving.result()
        assert asking.result().status_code == 503, asking.result().text


async def test_what_the_proxy_answers_is_what_the_api_returns_and_silence_is_a_504(
    control_plane: ZoneControlPlane, registered: str
) -> None:
    token = control_plane.dataplane_token("default", "backend")
    channel, call = await _open(control_plane, token, registered)
    async with channel:
        requests: AsyncIterator[AdminRequest] = call.__aiter__()
        path = "/meshes/default/dataplanes/backend-1"
        asking, request = await _asked(control_plane, f"{path}/stats", requests)
        assert request.kind == "stats"
        for part, last in ((b"a.b: 1\n", False), (b"c.d: 2\n", True)):
            reply = AdminReply(id=request.id, body=part, last=last, content_type="text/plain")
            await call.write(ProxyMessage(reply=reply))
        answer = await asking
        assert (answer.status_code, answer.text) == (200, "a.b: 1\nc.d: 2\n")

        late = await _get(control_plane, f"{path}/clusters")  # reaches the tunnel, unanswered
        assert late.status_code == 504
        assert late.json()["detail"] == (
            'the proxy of dataplane "backend-1" of mesh "default": it did not answer within 5s'
        )
        call.cancel()


async def test_deleting_the_dataplane_ends_its_tunnel(
    control_plane: ZoneControlPlane, registered: str
) -> None:
    token = control_plane.dataplane_token("default", "backend")
    channel, call = await _open(control_plane, token, registered)
    async with channel:
        path = "/meshes/default/dataplanes/backend-1"
        requests: AsyncIterator[AdminRequest] = call.__aiter__()
        asking, _ = await _asked(control_plane, f"{path}/stats", requests)
        asking.cancel()
        async with control_plane.async_client() as client:
            (await client.delete(path)).raise_for_status()
        # The tunnel may end after the API has answered the delete: wait for it on the
        # iterator the requests came from (a call read both ways is a usage error).
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await anext(requests)
    assert ended.value.code() is grpc.StatusCode.NOT_FOUND
    assert ended.value.details() == 'dataplane "backend-1" was deleted from mesh "default"'
