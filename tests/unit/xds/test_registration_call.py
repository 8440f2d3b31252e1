"""A Register call whose Dataplane is not a JSON object is refused, naming the field."""

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from meshfabric.dataplane_api.registration_pb2 import RegisterRequest
from meshfabric.store.manager import ResourceManager
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, TokenIssuer
from meshfabric.xds.admission.auth import ProxyTokens
from meshfabric.xds.admission.registration import RegistrationService
from meshfabric.xds.server.ads import Refused


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[RegistrationService]:
    store = SqliteStore(tmp_path / "store.db")
    yield RegistrationService(
        ResourceManager(store), ProxyTokens(TokenIssuer(store, DATAPLANE)), lambda _: None
    )
    await store.close()


@pytest.mark.parametrize(
    ("dataplane", "reason"),
    [("{not json", "dataplane: not valid JSON"), ('["web-1"]', "dataplane: must be a JSON object")],
)
async def test_a_dataplane_that_is_no_json_object_is_refused(
    service: RegistrationService, dataplane: str, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        await service.register(RegisterRequest(dataplane=dataplane), context=None)  # type: ignore[arg-type]
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.reason.startswith(reason)
