"""meshctl entry point: global connection options, then the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshfabric.cli import generate, inspect
from meshfabric.cli.client import api_from

app = typer.Typer(
    help="Manage a meshfabric mesh through its control plane.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(generate.app, name="generate")
app.add_typer(inspect.app, name="inspect")


@app.callback()
def _connection(
    ctx: typer.Context,
    api_url: Annotated[
        str | None, typer.Option(help="Control-plane REST API (env MESHCTL_API_URL)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="User token (env MESHCTL_TOKEN)")] = None,
    token_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="File holding the user token")
    ] = None,
) -> None:
    ctx.obj = api_from(api_url, token, token_file)


def main() -> None:
    app()
