"""meshfabric-cp: run the control plane."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from meshfabric.cp import config as cp_config
from meshfabric.cp.config import Mode
from meshfabric.cp.config_file import ConfigError
from meshfabric.cp.logs import configure
from meshfabric.cp.runtime import StartRefused
from meshfabric.cp.runtime import run as run_control_plane
from meshfabric.ports import PortInUse
from meshfabric.store.migrations import SchemaTooNew

app = typer.Typer(
    help="The meshfabric control plane: global, zone, or a standalone single-zone mesh.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Keeps `run` a subcommand even while it is the only one."""


@app.command()
def run(
    mode: Annotated[
        Mode | None, typer.Option(help="global, or zone (standalone without --global-address)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", exists=True, help="YAML configuration file")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Database and admin token go here")] = None,
    api_address: Annotated[str | None, typer.Option(help="REST API listen address")] = None,
    api_port: Annotated[
        int | None, typer.Option(help="Plaintext REST API port (for loopback and labs)")
    ] = None,
    api_https_port: Annotated[
        int | None, typer.Option(help="HTTPS REST API port (0 picks a free port)")
    ] = None,
    diagnostics_port: Annotated[int | None, typer.Option(help="Metrics port, 0 disables")] = None,
    zone: Annotated[str | None, typer.Option(help="This zone's name (zone mode)")] = None,
    global_address: Annotated[
        str | None,
        typer.Option(
            help="Global's KDS address, grpcs://HOST:5685, or several comma-separated (replicas, "
            "dialled in turn); makes this zone federated"
        ),
    ] = None,
    zone_token_file: Annotated[
        Path | None, typer.Option(help="Zone token issued by global (zone mode)")
    ] = None,
    global_ca_file: Annotated[
        Path | None, typer.Option(help="CA of global's KDS certificate (zone mode)")
    ] = None,
    kds_port: Annotated[int | None, typer.Option(help="KDS port zones dial (global mode)")] = None,
    xds_port: Annotated[int | None, typer.Option(help="xDS port for the zone's proxies")] = None,
    xds_unix_socket: Annotated[
        Path | None, typer.Option(help="Also serve xDS on this Unix socket")
    ] = None,
    initialize_store: Annotated[
        bool,
        typer.Option(
            "--initialize-store",
            help="Start even if the store is empty while data_dir holds an admin token "
            "(otherwise refused: the database was probably lost); writes a new admin token",
        ),
    ] = False,
) -> None:
    """Run the control plane until SIGTERM or SIGINT.

    Every option can also come from the configuration file or a MESHFABRIC_* variable
    (MESHFABRIC_API__PORT for api.port); flags win over variables, variables over the file.
    """
    overrides: dict[str, Any] = {"mode": mode, "data_dir": data_dir}
    overrides["api"] = _section(address=api_address, port=api_port, https_port=api_https_port)
    overrides["diagnostics"] = _section(port=diagnostics_port)
    overrides["zone"] = _section(
        name=zone,
        global_address=global_address,
        token_file=zone_token_file,
        global_ca_file=global_ca_file,
    )
    overrides["kds"] = _section(port=kds_port)
    overrides["xds"] = _section(port=xds_port, unix_socket=xds_unix_socket)
    overrides["store"] = _section(initialize=initialize_store or None)
    try:
        settings = cp_config.load(config, **overrides)
    except ConfigError as problem:
        typer.echo(f"meshfabric-cp: invalid configuration:\n{problem}", err=True)
        raise typer.Exit(2) from None
    configure(settings.log)
    try:
        asyncio.run(run_control_plane(settings))
    except (SchemaTooNew, PortInUse, StartRefused) as refused:
        typer.echo(f"meshfabric-cp: {refused}", err=True)
        raise typer.Exit(1) from None


def _section(**values: Any) -> dict[str, Any] | None:
    present = {key: value for key, value in values.items() if value is not None}
    return present or None


def main() -> None:
    app()
