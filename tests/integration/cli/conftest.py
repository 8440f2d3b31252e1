"""meshctl in-process against one real control plane, shared by the whole package.

The control plane takes seconds to start, so it is started once; each test works in
meshes of its own (see `mesh_name`) and a contexts file of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from meshfabric.cli.main import app
from tests.support.control_plane import ControlPlane


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    cp = ControlPlane(tmp_path_factory.mktemp("meshctl-cp")).start()
    yield cp
    cp.stop()


@dataclass(frozen=True)
class Meshctl:
    """Runs meshctl with its own contexts file; stdout and stderr are kept apart."""

    config: Path

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        env = {"MESHCTL_CONFIG": str(self.config), "COLUMNS": "200"}
        return CliRunner().invoke(app, list(args), input=stdin, env=env)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.exit_code == 0, result.output
        return result.stdout

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """The error message, after checking it is one short report and not a traceback."""
        result = self(*args, stdin=stdin)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: "), result.stderr
        assert "Traceback" not in result.output
        return result.stderr


@pytest.fixture
def bare_meshctl(tmp_path: Path) -> Meshctl:
    """meshctl with no context added yet."""
    return Meshctl(tmp_path / "meshctl.yaml")


@pytest.fixture
def meshctl(bare_meshctl: Meshctl, control_plane: ControlPlane) -> Meshctl:
    """meshctl whose current context is the control plane, with its admin token."""
    bare_meshctl.ok(
        "config", "control-planes", "add", "--name", "test",
        "--address", control_plane.url,
        "--auth-token-file", str(control_plane.data_dir / "admin-token"),
    )  # fmt: skip
    return bare_meshctl


@pytest.fixture
def mesh_name() -> str:
    """A mesh no other test uses, so tests can share the control plane."""
    return f"kong-air-{secrets.token_hex(4)}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def mesh_doc(name: str) -> str:
    return f"type: Mesh\nname: {name}\n"


def permission_doc(mesh: str, name: str, action: str = "Allow") -> str:
    return f"""\
type: MeshTrafficPermission
mesh: {mesh}
name: {name}
spec:
  targetRef:
    kind: MeshService
    name: flight-control
  from:
    - targetRef:
        kind: Mesh
      default:
        action: {action}
"""


def timeout_doc(mesh: str, name: str, idle: str = "10s") -> str:
    return f"""\
type: MeshTimeout
mesh: {mesh}
name: {name}
labels:
  team: flight-ops
spec:
  targetRef:
    kind: Mesh
  to:
    - targetRef:
        kind: Mesh
      default:
        idleTimeout: {idle}
"""


def documents(*docs: str) -> str:
    return "---\n".join(docs)
