"""meshfabric-lab: a multi-zone network of hosts in Linux network namespaces."""

from __future__ import annotations

import json
import subprocess
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from meshfabric.lab.inventory import inventory, status
from meshfabric.lab.lab import DEFAULT_STATE_DIR, Lab
from meshfabric.lab.topology import TOPOLOGIES, LabError, named


class _ErrorBoundary(TyperGroup):
    """A LabError from any command becomes `Error: ...` on stderr and exit code 1."""

    # Typed Any: typer's Context class lives in a private, vendored click.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LabError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="meshfabric-lab",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

StateDir = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        envvar="MESHFABRIC_LAB_STATE_DIR",
        help="Where the lab records what it made (keys, configs, namespaces, PIDs).",
    ),
]


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command()
def up(
    topology: Annotated[
        str, typer.Option(help=f"The topology to build: {', '.join(sorted(TOPOLOGIES))}.")
    ] = "kong-air",
    zone_egress: Annotated[
        bool,
        typer.Option(
            "--zone-egress",
            help="The mesh requires zoneEgress: only egress hosts may reach other zones' "
            "ingresses.",
        ),
    ] = False,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Build the lab: namespaces, bridges, routers with their firewalls, sshd in every host."""
    started = time.monotonic()
    lab = Lab.up(named(topology).with_zone_egress(zone_egress), state_dir)
    typer.echo(
        f"lab {lab.plan.lab_id} up: {len(lab.hosts)} hosts in {len(lab.plan.zones)} zones "
        f"in {time.monotonic() - started:.1f} s (state in {state_dir})"
    )


@app.command()
def down(state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """Remove everything `up` made: processes, namespaces (and their links and rules), state."""
    started = time.monotonic()
    lab = Lab.open(state_dir)
    lab.down()
    typer.echo(f"lab {lab.plan.lab_id} down in {time.monotonic() - started:.1f} s")


@app.command("status")
def show_status(
    output: Annotated[Output, typer.Option("--output", "-o")] = Output.TABLE,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Every host with its zone, role, address, namespace and whether its sshd runs."""
    facts = status(Lab.open(state_dir))
    if output is Output.JSON:
        typer.echo(json.dumps(facts, indent=2))
        return
    table = Table(title=f"lab {facts['lab']} ({facts['topology']})", title_justify="left")
    columns = ("host", "zone", "role", "address", "namespace", "sshd")
    for column in columns:
        table.add_column(column.upper())
    for host in facts["hosts"]:
        table.add_row(*(host[column] for column in columns))
    Console(width=200).print(table)


@app.command("inventory")
def show_inventory(state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """An Ansible YAML inventory of the lab's hosts, reached over SSH."""
    typer.echo(yaml.safe_dump(inventory(Lab.open(state_dir)), sort_keys=False), nl=False)


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_in(
    host: Annotated[str, typer.Argument(help="zone/name, as in us-east-1/client-1")],
    command: Annotated[list[str], typer.Argument(help="The command, after --")],
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Run a command in a lab host; its exit code becomes ours."""
    completed = subprocess.run(Lab.open(state_dir).host(host).command(command), check=False)
    raise typer.Exit(completed.returncode)


def main() -> None:
    app()
