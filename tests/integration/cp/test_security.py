"""What a real control-plane process gives away and takes in, tried as an attacker would.

Secrets, keys and tokens; files on disk; requests before authentication and their size;
the HTTPS port; writes of the control plane's own secrets.
"""

from __future__ import annotations

import base64
import socket
import ssl
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from meshfabric.resources import Resource
from meshfabric.store.sqlite import SqliteStore
from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until

MESH = {
    "type": "Mesh",
    "name": "default",
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
}
CA_KEY = "/meshes/default/secrets/default.ca-builtin-key-ca-1"
SIGNING_KEY = "/global-secrets/user-token-signing-key"
WITHHELD = ("token-signing-key", ".ca-builtin-key-ca-1")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def secret(name: str, data: bytes, mesh: str | None = "default") -> dict[str, object]:
    body: dict[str, object] = {"type": "Secret" if mesh else "GlobalSecret", "name": name}
    if mesh:
        body["mesh"] = mesh
    return {**body, "data": b64(data)}


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    started = ControlPlane(Path(tmp_path_factory.mktemp("security"))).start()
    with started.client() as admin:
        admin.put("/meshes/default", json=MESH).raise_for_status()
        wait_until(lambda: admin.get(CA_KEY).status_code == 200, 10, "the mesh CA")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def reader_token(cp: ControlPlane) -> str:
    with cp.client() as admin:
        answer = admin.post("/tokens/user", json={"name": "auditor", "groups": ["audit"]})
    answer.raise_for_status()
    return answer.text


def test_secret_data_is_served_to_admins_only(cp: ControlPlane, reader_token: str) -> None:
    with cp.client() as admin, cp.client(reader_token) as reader:
        admin.put("/meshes/default/secrets/db-password", json=secret("db-password", b"hunter2"))
        assert admin.get("/meshes/default/secrets/db-password").json()["data"] == b64(b"hunter2")
        read = reader.get("/meshes/default/secrets/db-password")
        assert read.status_code == 200 and "data" not in read.json()
        listed = reader.get("/meshes/default/secrets").json()["items"]
        assert listed and all("data" not in item for item in listed)


def test_signing_and_ca_keys_are_served_to_no_one(cp: ControlPlane, reader_token: str) -> None:
    with cp.client() as admin, cp.client(reader_token) as reader:
        for client in (admin, reader):
            for path in (SIGNING_KEY, CA_KEY):
                read = client.get(path)
                assert read.status_code == 200 and "data" not in read.json(), path
            for listing in ("/global-secrets", "/meshes/default/secrets", "/secrets"):
                items = client.get(listing).json()["items"]
                keys = [item for item in items if item["name"].endswith(WITHHELD)]
                assert keys and all("data" not in item for item in keys), listing


def test_a_read_only_token_cannot_write_or_mint_admins(cp: ControlPlane, reader_token: str) -> None:
    with cp.client(reader_token) as reader:
        assert (
            reader.put("/meshes/forged", json={"type": "Mesh", "name": "forged"}).status_code == 403
        )
        minted = reader.post("/tokens/user", json={"name": "me", "groups": ["mesh-system:admin"]})
        assert minted.status_code == 403


def test_data_files_are_readable_by_their_owner_only(cp: ControlPlane) -> None:
    assert stat.S_IMODE(cp.data_dir.stat().st_mode) == 0o700
    for name in ("meshfabric.db", "meshfabric.db-wal", "meshfabric.db-shm", "admin-token",
                 "xds-ca.key", "api-ca.key", "api-server.key"):  # fmt: skip
        assert stat.S_IMODE((cp.data_dir / name).stat().st_mode) == 0o600, name


def raw_request(cp: ControlPlane, head: str, body_part: bytes) -> bytes:
    """Send a request's head and the start of its body, then read whatever comes back."""
    with socket.create_connection(("127.0.0.1", cp.port), timeout=5) as conn:
        conn.sendall(head.encode() + b"\r\n" + body_part)
        return conn.recv(65536)


def test_a_request_without_token_is_refused_before_its_body_arrives(cp: ControlPlane) -> None:
    head = (
        "PUT /meshes/big HTTP/1.1\r\nHost: cp\r\nContent-Type: application/json\r\n"
        f"Content-Length: {3 * 1024 * 1024}\r\n"
    )
    answer = raw_request(cp, head, b'{"type": "Mesh", "name": "big", "x": "')
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_a_body_over_the_limit_is_refused_with_413(cp: ControlPlane) -> None:
    big = {"type": "Mesh", "name": "big", "labels": {"x": "y" * (5 * 1024 * 1024)}}
    with cp.client() as admin:
        declared = admin.put("/meshes/big", json=big)
        chunked = admin.put("/meshes/big", content=iter([b"{" + b" " * 1024 * 1024] * 5))
        assert admin.get("/meshes/big").status_code == 404
    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.text
        assert answer.json()["type"] == "/std-errors"
        assert str(4 * 1024 * 1024) in answer.json()["detail"]


def test_the_https_port_serves_the_api_with_the_generated_certificate(cp: ControlPlane) -> None:
    trust = ssl.create_default_context(cafile=str(cp.data_dir / "api-ca.crt"))
    headers = {"Authorization": f"Bearer {cp.token}"}
    with httpx.Client(base_url=cp.https_url, verify=trust, headers=headers) as client:
        assert client.get("/meshes/default").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(cp.https_url + "/")  # not trusted without the CA


def test_only_the_index_readiness_and_the_schema_answer_without_a_token(cp: ControlPlane) -> None:
    for public in ("/", "/ready", "/openapi.json", "/docs"):
        assert httpx.get(cp.url + public).status_code == 200, public
    for protected in (
        "/meshes",
        "/config",
        "/global-secrets",
        "/_resources",
        "/docs/oauth2-redirect",
    ):
        assert httpx.get(cp.url + protected).status_code == 401, protected


def test_next_links_do_not_echo_the_host_header(cp: ControlPlane) -> None:
    with cp.client() as admin:
        admin.put("/zones/z1", json={"type": "Zone", "name": "z1"}).raise_for_status()
        admin.put("/zones/z2", json={"type": "Zone", "name": "z2"}).raise_for_status()
        page = admin.get("/zones?size=1", headers={"Host": "evil.example"}).json()
    assert page["next"] == "/zones?offset=1&size=1"


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        (SIGNING_KEY, b"not a key", "RSA private key"),
        ("/global-secrets/user-token-revocations", b"\xff\xfe", "UTF-8"),
        ("/global-secrets/zone-token-signing-key", b"-----BEGIN PRIVATE KEY-----", "RSA"),
        ("/meshes/default/secrets/dataplane-token-signing-key", b"x", "RSA"),
        ("/meshes/default/secrets/default.ca-builtin-key-ca-1", b"x", "EC private key"),
        ("/meshes/default/secrets/default.ca-builtin-cert-ca-1", b"x", "certificate"),
    ],
)
def test_an_unusable_control_plane_secret_is_refused(
    cp: ControlPlane, path: str, data: bytes, reason: str
) -> None:
    name = path.rsplit("/", 1)[1]
    body = secret(name, data, "default" if path.startswith("/meshes") else None)
    with cp.client() as admin:
        answer = admin.put(path, json=body)
        assert answer.status_code == 400, answer.text
        [invalid] = answer.json()["invalid_parameters"]
        assert invalid["field"] == "data" and reason in invalid["reason"]
        assert admin.get("/meshes").status_code == 200, "the control plane still works"


@pytest.mark.parametrize("valid_for", ["999999999h", "0s", "87601h"])
def test_a_token_lifetime_out_of_range_is_refused_naming_the_field(
    cp: ControlPlane, valid_for: str
) -> None:
    with cp.client() as admin:
        answer = admin.post("/tokens/user", json={"name": "x", "validFor": valid_for})
    assert answer.status_code == 400, answer.text
    [invalid] = answer.json()["invalid_parameters"]
    assert invalid["field"] == "validFor" and "87600h" in invalid["reason"]


def test_no_dataplane_token_for_a_mesh_that_does_not_exist(cp: ControlPlane) -> None:
    with cp.client() as admin:
        answer = admin.post("/tokens/dataplane", json={"mesh": "not-yet", "name": "web-1"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["invalid_parameters"][0]["field"] == "mesh"


async def put_behind_the_api(cp: ControlPlane, resource: Resource) -> None:
    """Write into the control plane's database the way an old version or a tool might."""
    store = SqliteStore(cp.data_dir / "meshfabric.db")
    try:
        await store.put(resource)
    finally:
        await store.close()


def unusable(path: str) -> Resource:
    return Resource(type="GlobalSecret", mesh="", name=path, spec={"data": b64(b"\xff garbage")})


async def test_an_unusable_signing_key_is_a_401_and_a_restart_replaces_it(
    start_control_plane: Callable[..., ControlPlane],
) -> None:
    cp = start_control_plane()
    await put_behind_the_api(cp, unusable("user-token-signing-key"))
    with cp.client() as admin:
        answer = admin.get("/meshes")
    assert answer.status_code == 401, answer.text
    assert "GlobalSecret user-token-signing-key is unusable" in cp.log.read_text()
    cp.stop()
    cp.start()  # the unusable key is replaced, with a new admin token
    with cp.client() as admin:
        assert admin.get("/meshes").status_code == 200
    assert "replacing the unusable user token signing key" in cp.log.read_text()


async def test_an_unreadable_revocation_list_refuses_tokens_without_a_500(
    start_control_plane: Callable[..., ControlPlane],
) -> None:
    cp = start_control_plane()
    await put_behind_the_api(cp, unusable("user-token-revocations"))
    with cp.client() as admin:
        answer = admin.get("/meshes")
    assert answer.status_code == 401, answer.text
    assert "GlobalSecret user-token-revocations is unusable" in cp.log.read_text()


def test_a_lost_database_is_not_silently_replaced(
    start_control_plane: Callable[..., ControlPlane],
) -> None:
    cp = start_control_plane()
    old_token = cp.token
    cp.stop()
    for name in ("meshfabric.db", "meshfabric.db-wal", "meshfabric.db-shm"):
        (cp.data_dir / name).unlink(missing_ok=True)
    code, log = cp.run_to_exit()
    assert code == 1, log
    assert "the store is new and empty" in log and "--initialize-store" in log
    assert cp.token == old_token
    cp.args = ("--initialize-store",)
    cp.start()
    assert cp.token != old_token
    with cp.client() as admin:
        assert admin.get("/meshes").status_code == 200


def test_rotating_the_user_signing_key_as_documented(
    start_control_plane: Callable[..., ControlPlane],
) -> None:
    cp = start_control_plane()
    old_token = cp.token
    with cp.client() as admin:
        assert admin.delete(SIGNING_KEY).status_code == 200
        assert admin.get("/meshes").status_code == 401
    cp.stop()
    cp.start()
    assert cp.token != old_token
    with cp.client() as admin:
        assert admin.get("/meshes").status_code == 200
    with cp.client(old_token) as old:
        assert old.get("/meshes").status_code == 401


def test_a_second_control_plane_on_the_https_port_exits_before_it_starts(
    cp: ControlPlane, tmp_path: Path
) -> None:
    second = ControlPlane(tmp_path / "second")
    second.https_port = cp.https_port
    code, log = second.run_to_exit()
    assert code == 1, log
    assert f"cannot listen on 0.0.0.0:{cp.https_port} for the HTTPS REST API" in log
    assert "started" not in log


def test_a_client_over_its_concurrent_request_cap_gets_429(
    start_control_plane: Callable[..., ControlPlane],
) -> None:
    cp = start_control_plane({"MESHFABRIC_API__MAX_CONCURRENT_PER_CLIENT": "2"})
    head = (
        f"PUT /zones/slow HTTP/1.1\r\nHost: cp\r\nAuthorization: Bearer {cp.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    # Two requests whose bodies never finish keep their slots taken.
    held = [socket.create_connection(("127.0.0.1", cp.port), timeout=5) for _ in range(2)]
    try:
        for conn in held:
            conn.sendall(head.encode() + b'{"type": "Zone"')
        with cp.client() as admin:
            wait_until(
                lambda: admin.get("/zones").status_code == 429, 5, "the third request refused"
            )
            refused = admin.get("/zones")
            assert "api.max_concurrent_per_client" in refused.json()["detail"]
    finally:
        for conn in held:
            conn.close()
    with cp.client() as admin:
        wait_until(lambda: admin.get("/zones").status_code == 200, 5, "slots freed")
