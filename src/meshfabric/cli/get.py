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
    size: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Show one page of this many items.", show_default=False),
    ] = None,
    offset: Annotated[
        int, typer.Option(min=0, help="With --size: skip this many items first.")
    ] = 0,
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
      meshctl get dataplanes --size 50 --offset 100
    """
    client = connect(ctx)
    rtype = client.catalogue().find(type_name)
    if name is not None:
        if labels or size is not None:
            raise MeshctlError("--label and --size are for lists; leave them out with a name")
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
    scope = None if all_meshes else mesh
    if size is not None:
        page = client.list_page(rtype, scope, filters, size, offset)
    else:  # every page gathered, in the API's list shape
        items = list(client.list_all(rtype, scope, filters))
        page = {"total": len(items), "items": items, "next": None}
    if not page["total"] and not all_meshes:
        _require_mesh(client, rtype, mesh)
    if output is OutputFormat.TABLE:
        print_table(*tabulate(rtype, page["items"]))
        shown = len(page["items"])
        if shown < page["total"]:
            typer.echo(f"({shown} of {page['total']} from offset {offset}; more with --offset)")
    else:
        print_data(page, output)


def _require_mesh(client: ControlPlaneClient, rtype: ResourceTypeInfo, mesh: str) -> None:
    """Nothing found in a mesh that does not exist is a mistake, not an empty answer."""
    if rtype.mesh_scoped and client.get(client.catalogue().by_name("Mesh"), "", mesh) is None:
        raise MeshctlError(f'mesh "{mesh}" not found (`meshctl get meshes` lists the meshes)')
