"""meshctl delete: remove one resource."""

from __future__ import annotations

from typing import Annotated

import typer

from meshfabric.cli.args import MeshOption, TypeArgument
from meshfabric.cli.errors import ApiError, MeshctlError
from meshfabric.cli.session import connect


def delete(
    ctx: typer.Context,
    type_name: TypeArgument,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Name of the resource.", show_default=False)
    ],
    mesh: MeshOption = "default",
) -> None:
    """Delete one resource. Deleting a Mesh deletes everything in it.

    \b
    Examples:
      meshctl delete mtp allow-all
      meshctl delete meshtimeout flight-control --mesh kong-air
      meshctl delete mesh kong-air
    """
    client = connect(ctx)
    rtype = client.catalogue().find(type_name)
    subject = rtype.describe(mesh, name)
    try:
        client.delete(rtype, mesh, name)
    except ApiError as error:
        if error.status == 404:
            raise MeshctlError(f"{subject} not found") from None
        raise MeshctlError(error.describe(subject)) from None
    typer.echo(f"{subject} deleted")
