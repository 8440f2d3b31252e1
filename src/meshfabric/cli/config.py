"""The contexts file: which control planes meshctl knows, their tokens, which one is in use.

Every control plane added is a context of the same name, as in kumactl. The file holds
tokens, so it is written readable by its owner only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.yaml_input import load_all, read_text

DEFAULT_PATH = Path("~/.meshfabric/meshctl.yaml")
# Used while no context is chosen: the port a control plane on this machine listens on.
LOCAL_ADDRESS = "http://127.0.0.1:5681"
REDACTED = "*****"


@dataclass(frozen=True)
class ControlPlaneEntry:
    name: str
    address: str
    token: str | None = None
    ca_cert_file: str | None = None  # PEM CA that the HTTPS address's certificate chains to

    @classmethod
    def from_yaml(cls, raw: dict[str, Any]) -> ControlPlaneEntry:
        return cls(
            str(raw["name"]), str(raw["address"]), raw.get("authToken"), raw.get("caCertFile")
        )

    def to_yaml(self, *, redact: bool) -> dict[str, Any]:
        token = REDACTED if redact and self.token else self.token
        entry = {"name": self.name, "address": self.address, "authToken": token}
        return entry | ({"caCertFile": self.ca_cert_file} if self.ca_cert_file else {})


@dataclass
class MeshctlConfig:
    control_planes: list[ControlPlaneEntry] = field(default_factory=list)
    current_context: str | None = None

    @classmethod
    def load(cls, path: Path) -> MeshctlConfig:
        """The file's contents, or an empty config when there is no file yet."""
        if not path.exists():
            return cls()
        documents = load_all(read_text(path), str(path))
        try:
            raw = (documents[0] if documents else None) or {}
            entries = [ControlPlaneEntry.from_yaml(cp) for cp in raw.get("controlPlanes") or []]
            return cls(entries, raw.get("currentContext"))
        except (LookupError, TypeError, AttributeError) as error:
            raise MeshctlError(f"{path} is not a meshctl config file: {error}") from None

    def save(self, path: Path) -> None:
        """Write atomically, readable by the owner only: the file holds tokens."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as out:
            out.write(self.to_yaml(redact=False))
        os.replace(staging, path)

    def to_yaml(self, *, redact: bool) -> str:
        data = {
            "currentContext": self.current_context,
            "controlPlanes": [cp.to_yaml(redact=redact) for cp in self.control_planes],
        }
        return yaml.safe_dump(data, sort_keys=False)

    def add(self, entry: ControlPlaneEntry, *, overwrite: bool) -> None:
        """Add (or with overwrite, replace) a control plane and make it the current context."""
        if self._find(entry.name) and not overwrite:
            raise MeshctlError(
                f'control plane "{entry.name}" already exists; pass --overwrite to replace it'
            )
        others = [cp for cp in self.control_planes if cp.name != entry.name]
        self.control_planes = [*others, entry]
        self.current_context = entry.name

    def remove(self, name: str) -> None:
        self._require(name)
        self.control_planes = [cp for cp in self.control_planes if cp.name != name]
        if self.current_context == name:
            self.current_context = None

    def use(self, name: str) -> None:
        self._require(name)
        self.current_context = name

    def current(self) -> ControlPlaneEntry:
        """The control plane commands talk to; a local one on the default port if none is set."""
        if self.current_context is None:
            return ControlPlaneEntry("local", LOCAL_ADDRESS)
        return self._require(self.current_context)

    def _find(self, name: str) -> ControlPlaneEntry | None:
        return next((cp for cp in self.control_planes if cp.name == name), None)

    def _require(self, name: str) -> ControlPlaneEntry:
        found = self._find(name)
        if found is None:
            known = ", ".join(cp.name for cp in self.control_planes) or "none yet"
            raise MeshctlError(f'no control plane named "{name}" (known: {known})')
        return found
