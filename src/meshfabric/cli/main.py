"""The meshctl application: global options, the command groups, and the error boundary.

Each command group lives in its own module and is added here. A new group is one
module with an `app = args.command_group(...)` and one `add_typer` line below;
commands for an existing group (say `inspect dataplane`) are added to that group's
`app`. Commands raise MeshctlError for anything the user should read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from meshfabric import __version__
from meshfabric.cli import apply, config_cmd, delete, generate, get, inspect, version
from meshfabric.cli.args import command_group
from meshfabric.cli.config import DEFAULT_PATH
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.session import Session


class _ErrorBoundary(TyperGroup):
    """Any MeshctlError, from any command, becomes `Error: ...` on stderr and exit code 1."""

    # Typed Any: typer's Context class lives in a private, vendored click.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MeshctlError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None


app = command_group(
    cls=_ErrorBoundary,
    name="meshctl",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(requested: bool) -> None:
    if requested:
        typer.echo(f"meshctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            envvar="MESHCTL_CONFIG",
            metavar="PATH",
            help="The contexts file.",
            show_default=str(DEFAULT_PATH),
        ),
    ] = DEFAULT_PATH,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Manage a meshfabric (Kuma 2.x compatible) service mesh through its control plane.

    \b
    Start with a context, then apply and read resources:
      meshctl config control-planes add --name local --address http://127.0.0.1:5681 \\
          --auth-token-file /var/lib/meshfabric/admin-token
      meshctl apply -f kong-air/
      meshctl get meshtrafficpermissions --mesh kong-air
    """
    ctx.obj = Session(config.expanduser())


app.command("apply")(apply.apply)
app.command("get")(get.get)
app.command("delete")(delete.delete)
app.command("version")(version.version)
app.add_typer(inspect.app, name="inspect")
app.add_typer(config_cmd.app, name="config")
app.add_typer(generate.app, name="generate")


def main() -> None:
    app()
