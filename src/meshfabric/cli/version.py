"""meshctl version: this meshctl's version and the control plane's, and whether they match."""

from __future__ import annotations

from typing import Annotated

import typer

from meshfabric import __version__
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.session import connect


def version(
    ctx: typer.Context,
    client_only: Annotated[
        bool, typer.Option("--client", help="Only this meshctl's version; no request.")
    ] = False,
) -> None:
    """Print the client and server versions.

    Client and server of the same minor version (0.3.x with 0.3.y) are made to work
    together; otherwise a note says so.

    \b
    Examples:
      meshctl version
      meshctl version --client
    """
    typer.echo(f"Client: meshfabric {__version__}")
    if client_only:
        return
    try:
        server = connect(ctx).server_info()
    except MeshctlError as error:
        raise MeshctlError(f"cannot tell the server version: {error}") from None
    where = f"{server.get('mode', '?')} control plane"
    if server.get("zone"):
        where += f" of zone {server['zone']}"
    served = str(server.get("version", "?"))
    typer.echo(
        f"Server: {server.get('product', '?')} {served} ({where}, based on Kuma "
        f"{server.get('basedOnKuma', '?')})"
    )
    if _minor(served) != _minor(__version__):
        typer.echo(
            f"Note: client {__version__} and server {served} differ in minor version; "
            "use a meshctl of the server's version",
            err=True,
        )


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
