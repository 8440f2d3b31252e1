"""Random and invalid requests from the served OpenAPI document (schemathesis + hypothesis).

Whatever arrives, the control plane answers without a 5xx, and every 4xx is in the
documented error format. Sent with a read-only token or with none, no answer holds secret
data (any Secret's or GlobalSecret's, the signing keys', the CA keys'), a read-only token
writes nothing and no token gets anything but the public paths.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from meshfabric.api.auth import READING_POSTS
from meshfabric.api.guard import PUBLIC_PATHS
from meshfabric.store.sqlite import SqliteStore
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until

MESH = {
    "type": "Mesh",
    "name": "default",
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
}
PLANTED = base64.b64encode(b"the fuzzers must never see this").decode()


@pytest.fixture(scope="module")
def fuzzed_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    cp = ControlPlane(Path(tmp_path_factory.mktemp("fuzz"))).start()
    with cp.client() as client:
        client.put("/meshes/default", json=MESH).raise_for_status()
        # Secrets of every kind to find in answers: people's, the CA's, the signing keys.
        planted = {"type": "Secret", "mesh": "default", "name": "planted", "data": PLANTED}
        client.put("/meshes/default/secrets/planted", json=planted).raise_for_status()
        planted_global = {"type": "GlobalSecret", "name": "planted", "data": PLANTED}
        client.put("/global-secrets/planted", json=planted_global).raise_for_status()
        client.post("/tokens/dataplane", json={"mesh": "default"}).raise_for_status()
        ca_key = "/meshes/default/secrets/default.ca-builtin-key-ca-1"
        wait_until(lambda: client.get(ca_key).status_code == 200, 10, "the mesh CA")
    yield cp
    cp.stop()


@pytest.fixture(scope="module")
def operations(fuzzed_control_plane: ControlPlane) -> list[APIOperation]:
    # The document is built at its first request: seconds on a loaded machine.
    document = httpx.get(fuzzed_control_plane.url + "/openapi.json", timeout=120).json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.fixture(scope="module")
def reader_token(fuzzed_control_plane: ControlPlane) -> str:
    with fuzzed_control_plane.client() as client:
        answer = client.post("/tokens/user", json={"name": "auditor", "groups": ["audit"]})
    answer.raise_for_status()
    return answer.text


def stored_secrets(cp: ControlPlane) -> list[str]:
    """The data of every secret in the database, base64 as served and decoded."""

    async def read() -> list[str]:
        store = SqliteStore(cp.data_dir / "meshfabric.db")
        try:
            pages = [await store.list(kind, None) for kind in ("Secret", "GlobalSecret")]
        finally:
            await store.close()
        return [str(item.spec["data"]) for page in pages for item in page.items]

    found = []
    for data in asyncio.run(read()):
        found.append(data)
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            found.append(base64.b64decode(data).decode())
    return [value for value in found if len(value) >= 16]  # long enough not to be a word


def check_answer(cp: ControlPlane, case: schemathesis.Case, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(base_url=cp.url, headers=headers)
    where = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}"
    assert response.status_code < 500, f"{where}: {response.text}"
    check_error_format(response, where)


def check_error_format(response: httpx.Response, where: str) -> None:
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] == "/std-errors" and body["status"] == response.status_code, where
        assert {"title", "detail"} <= body.keys(), where
        for parameter in body.get("invalid_parameters", []):
            assert parameter.keys() == {"field", "reason"} and parameter["reason"], where


# Five cases for each of over a hundred operations: about a minute alone, several times that
# beside the lab and Ansible tests of other workers.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_every_error_in_format(
    operations: list[APIOperation], fuzzed_control_plane: ControlPlane, mode: GenerationMode
) -> None:
    assert len(operations) > 100, "every type's operations are in the document"
    exercised = set()
    for operation in operations:

        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_well(case: schemathesis.Case) -> None:
            check_answer(fuzzed_control_plane, case, fuzzed_control_plane.token)

        try:
            answers_well()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (GET / has no input)
        exercised.add(operation.label)
    with_body = {operation.label for operation in operations if operation.body}
    assert with_body <= exercised, "every operation that takes a body was fuzzed"


def check_no_secret_in(response: httpx.Response, secrets: list[str], where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.text}"
    check_error_format(response, where)
    leaked = [secret[:40] for secret in secrets if secret in response.text]
    assert not leaked, f"{where} answered secret data: {leaked}"


def as_reader(
    cp: ControlPlane, token: str, secrets: list[str]
) -> Callable[[schemathesis.Case], None]:
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=cp.url, headers={"Authorization": f"Bearer {token}"})
        where = f"{case.method} {case.formatted_path} (read-only token)"
        check_no_secret_in(response, secrets, where)
        reads = case.method.upper() in ("GET", "HEAD") or case.formatted_path in READING_POSTS
        if not reads:
            assert response.status_code == 403, f"{where}: {response.text}"

    return check


def as_anonymous(cp: ControlPlane, secrets: list[str]) -> Callable[[schemathesis.Case], None]:
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=cp.url)
        where = f"{case.method} {case.formatted_path} (no token)"
        check_no_secret_in(response, secrets, where)
        if case.formatted_path not in PUBLIC_PATHS:
            assert response.status_code == 401, f"{where}: {response.text}"

    return check


@pytest.mark.parametrize("caller", ["read-only token", "no token"])
def test_no_secret_data_without_an_admin_token(
    operations: list[APIOperation],
    fuzzed_control_plane: ControlPlane,
    reader_token: str,
    caller: str,
) -> None:
    secrets = stored_secrets(fuzzed_control_plane)
    assert PLANTED in secrets and any("PRIVATE KEY" in value for value in secrets)
    check = (
        as_reader(fuzzed_control_plane, reader_token, secrets)
        if caller == "read-only token"
        else as_anonymous(fuzzed_control_plane, secrets)
    )
    for operation in operations:

        @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def holds_no_secret(case: schemathesis.Case) -> None:
            check(case)

        holds_no_secret()
