"""What every command shares for one run: the contexts file and a client of the current one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from meshfabric.cli.client import ControlPlaneClient
from meshfabric.cli.config import MeshctlConfig
from meshfabric.cli.errors import NO_CONTEXT_HINTS


@dataclass(frozen=True)
class Session:
    config_path: Path

    def load_config(self) -> MeshctlConfig:
        return MeshctlConfig.load(self.config_path)

    def save_config(self, config: MeshctlConfig) -> None:
        config.save(self.config_path)


def session(ctx: typer.Context) -> Session:
    """The session the root command stored; commands find it from any depth."""
    found = ctx.find_root().obj
    assert isinstance(found, Session), "the root callback sets up the session"
    return found


def connect(ctx: typer.Context) -> ControlPlaneClient:
    """A client of the current context's control plane, closed when the command ends."""
    config = session(ctx).load_config()
    entry = config.current()
    hints = NO_CONTEXT_HINTS if config.current_context is None else None
    client = ControlPlaneClient(
        entry.address, entry.token, ca_cert_file=entry.ca_cert_file, hints=hints
    )
    ctx.call_on_close(client.close)
    return client
