"""meshctl get: one resource or a list, as a table, YAML or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from meshfabric.cli.args import MeshOption, OutputOption, TypeArgument, parse_pairs
from meshfabric.cli.catalogue import ResourceTypeInfo
from meshfabric.cli.client import ControlPlaneClient
from meshfabric.cli.columns import tabulate
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.output import OutputFormat, print_data, print_table
from meshfabric.cli.session import connect


def get(
    ctx: typer.Context,
    type_name: TypeArgument,
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Show only this resource.", show_default=False),
    ] = None,
    mesh: MeshOption = "default",
    all_meshes: Annotated[
        bool, typer.Option("--all-meshes", "-A", help="List mesh-scoped resources of every mesh.")
    ] = False,
    labels: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            "-l",
            metavar="KEY=VALUE",
            help="Only resources with label KEY=VALUE; repeatable (all must match).",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show resources: every one of a type, or one by name.

    \b
    Examples:
      meshctl get meshes
      meshctl get mtp
      meshctl get meshtimeouts --mesh kong-air -o yaml
      meshctl get MeshTrafficPermission allow-all -o json
      meshctl get meshservices -A --label kuma.io/zone=us-east-1
    """
    client = connect(ctx)
    rtype = client.catalogue().find(type_name)
    if name is not None:
        if labels:
            raise MeshctlError("--label filters lists; leave it out when naming a resource")
        resource = client.get(rtype, mesh, name)
        if resource is None:
            _require_mesh(client, rtype, mesh)
            raise MeshctlError(f"{rtype.describe(mesh, name)} not found")
        if output is OutputFormat.TABLE:
            print_table(*tabulate(rtype, [resource]))
        else:
            print_data(resource, output)
        return
    filters = parse_pairs(labels or (), "--label")
    items = list(client.list_all(rtype, None if all_meshes else mesh, filters))
    if not items and not all_meshes:
        _require_mesh(client, rtype, mesh)
    if output is OutputFormat.TABLE:
        print_table(*tabulate(rtype, items))
    else:
        # The API's list shape, with every page gathered.
        print_data({"total": len(items), "items": items, "next": None}, output)


def _require_mesh(client: ControlPlaneClient, rtype: ResourceTypeInfo, mesh: str) -> None:
    """Nothing found in a mesh that does not exist is a mistake, not an empty answer."""
    if rtype.mesh_scoped and client.get(client.catalogue().by_name("Mesh"), "", mesh) is None:
        raise MeshctlError(f'mesh "{mesh}" not found (`meshctl get meshes` lists the meshes)')
