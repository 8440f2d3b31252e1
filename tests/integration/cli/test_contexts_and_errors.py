from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.cli.conftest import Meshctl, mesh_doc, write
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port


def _add(meshctl: Meshctl, name: str, address: str, *extra: str) -> str:
    return meshctl.ok(
        "config", "control-planes", "add", "--name", name, "--address", address, *extra
    )


def test_contexts_add_list_use_view_remove(
    bare_meshctl: Meshctl, control_plane: ControlPlane, tmp_path: Path
) -> None:
    token_file = write(tmp_path / "token", control_plane.token + "\n")
    assert _add(bare_meshctl, "us-east-1", control_plane.url, "--auth-token-file", str(token_file))
    _add(bare_meshctl, "eu-west-1", control_plane.url, "--auth-token", control_plane.token)
    listed = bare_meshctl.ok("config", "control-planes", "list").splitlines()
    assert [line.split() for line in listed] == [
        ["ACTIVE", "NAME", "ADDRESS"],
        ["us-east-1", control_plane.url],
        ["*", "eu-west-1", control_plane.url],
    ]

    assert bare_meshctl.ok("config", "use-context", "us-east-1") == (
        'switched to context "us-east-1"\n'
    )
    view = yaml.safe_load(bare_meshctl.ok("config", "view"))
    assert view["currentContext"] == "us-east-1"
    assert {cp["authToken"] for cp in view["controlPlanes"]} == {"*****"}
    stored = yaml.safe_load(bare_meshctl.config.read_text())
    assert stored["controlPlanes"][0]["authToken"] == control_plane.token

    bare_meshctl.ok("config", "control-planes", "remove", "--name", "us-east-1")
    assert "us-east-1" not in bare_meshctl.ok("config", "control-planes", "list")
    assert 'no control plane named "us-east-1"' in bare_meshctl.fails(
        "config", "use-context", "us-east-1"
    )


def test_adding_twice_needs_overwrite(meshctl: Meshctl, control_plane: ControlPlane) -> None:
    again = ["config", "control-planes", "add", "--name", "test", "--address", control_plane.url]
    token = ["--auth-token", control_plane.token]
    assert "pass --overwrite" in meshctl.fails(*again, *token)
    meshctl.ok(*again, *token, "--overwrite")


def test_a_bad_token_is_refused_at_add_and_at_use(
    bare_meshctl: Meshctl, control_plane: ControlPlane
) -> None:
    add = ["config", "control-planes", "add", "--name", "bad", "--address", control_plane.url]
    refused = bare_meshctl.fails(*add, "--auth-token", "not-a-token")
    assert "the token is not valid" in refused
    assert "--skip-verify" in refused
    bare_meshctl.ok(*add, "--auth-token", "not-a-token", "--skip-verify")
    error = bare_meshctl.fails("get", "meshes")
    assert error.startswith("Error: the token is not valid")
    assert "store a valid one with `meshctl config control-planes add --overwrite`" in error


def test_connection_refused_names_the_address(bare_meshctl: Meshctl) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    _add(bare_meshctl, "down", address, "--skip-verify")
    error = bare_meshctl.fails("get", "meshes")
    assert error.startswith(f"Error: cannot reach the control plane at {address}: ")
    assert "connection refused" in error


def test_a_read_only_token_reads_but_cannot_apply(
    meshctl: Meshctl, bare_meshctl: Meshctl, control_plane: ControlPlane, mesh_name: str
) -> None:
    token = meshctl.ok("generate", "user-token", "--name", "auditor", "--valid-for", "1h").strip()
    reader = Meshctl(bare_meshctl.config.with_name("reader.yaml"))
    _add(reader, "reader", control_plane.url, "--auth-token", token)
    reader.ok("get", "meshes")
    error = reader.fails("apply", "-f", "-", stdin=mesh_doc(mesh_name))
    assert 'user "auditor" has a read-only token' in error
    assert "mesh-system:admin" in error


def test_without_any_context_a_refused_request_says_to_add_one(
    bare_meshctl: Meshctl, control_plane: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no context meshctl calls the local default address, without a token.
    monkeypatch.setattr("meshfabric.cli.config.LOCAL_ADDRESS", control_plane.url)
    error = bare_meshctl.fails("get", "meshes")
    assert "no control plane is configured yet: add one with its admin token" in error
    assert "--overwrite" not in error


def test_switch_changes_the_context_and_version_names_both_sides(
    bare_meshctl: Meshctl, control_plane: ControlPlane
) -> None:
    _add(bare_meshctl, "zone", control_plane.url, "--auth-token", control_plane.token)
    _add(bare_meshctl, "down", f"http://127.0.0.1:{free_port()}", "--skip-verify")
    assert bare_meshctl.ok("config", "control-planes", "switch", "--name", "zone") == (
        'switched to context "zone"\n'
    )
    lines = bare_meshctl.ok("version").splitlines()
    assert lines[0].startswith("Client: meshfabric ")
    assert lines[1].startswith("Server: meshfabric ") and "control plane" in lines[1]
    assert "no control plane named" in bare_meshctl.fails(
        "config", "control-planes", "switch", "--name", "nosuch"
    )
    bare_meshctl.ok("config", "control-planes", "switch", "--name", "down")
    assert bare_meshctl.ok("version", "--client").startswith("Client: meshfabric ")
    assert "cannot tell the server version" in bare_meshctl.fails("version")
