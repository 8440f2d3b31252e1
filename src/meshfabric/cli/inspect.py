"""meshctl inspect: what the control plane generated for a proxy, and why."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from meshfabric.cli.client import Api

app = typer.Typer(help="Inspect generated proxy configuration.", no_args_is_help=True)


@app.command("dataplane")
def dataplane(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataplane name")],
    mesh: Annotated[str, typer.Option(help="Mesh of the dataplane")] = "default",
    config_dump: Annotated[
        bool, typer.Option("--config-dump", help="Print the whole generated Envoy config as JSON")
    ] = False,
) -> None:
    """Show the policies that matched a dataplane and the Envoy resources it gets."""
    api: Api = ctx.obj
    config = api.get(f"/meshes/{mesh}/dataplanes/{name}/_config")
    if config_dump:
        typer.echo(json.dumps(config["xds"], indent=2))
        return
    # Resource names hold ":secret:" and brackets: print them as they are.
    console = Console(emoji=False, markup=False)
    state = "connected" if config["connected"] else "not connected (config it would get)"
    console.print(f"Dataplane {mesh}/{name}: {state}")
    console.print(_policies_table(config["policies"]))
    console.print(_resources_table(config["xds"]))


def _policies_table(policies: dict[str, list[str]]) -> Table:
    table = Table(title="Policies that matched")
    table.add_column("TYPE")
    table.add_column("NAMES")
    for policy_type, names in sorted(policies.items()):
        table.add_row(policy_type, ", ".join(names))
    return table


def _resources_table(xds: dict[str, list[dict[str, Any]]]) -> Table:
    table = Table(title="Envoy resources")
    table.add_column("TYPE")
    table.add_column("NAME")
    for type_name, resources in xds.items():
        for resource in resources:
            table.add_row(type_name.upper(), _name_of(resource))
    return table


def _name_of(resource: dict[str, Any]) -> str:
    return str(resource.get("name") or resource.get("clusterName") or "")
