"""meshctl generate: tokens for proxies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from meshfabric.cli.client import Api

app = typer.Typer(help="Generate tokens.", no_args_is_help=True)


@app.command("dataplane-token")
def dataplane_token(
    ctx: typer.Context,
    mesh: Annotated[str, typer.Option(help="Mesh the token is valid in")] = "default",
    tag: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE the dataplane must carry, e.g. kuma.io/service=web"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Bind the token to one dataplane")] = None,
    proxy_type: Annotated[str, typer.Option(help="dataplane, ingress or egress")] = "dataplane",
    valid_for: Annotated[str, typer.Option(help="Lifetime, e.g. 24h, 8760h")] = "24h",
) -> None:
    """Print a token that lets a proxy register and connect as the given services."""
    api: Api = ctx.obj
    request: dict[str, Any] = {
        "mesh": mesh,
        "tags": _tags(tag or []),
        "type": proxy_type,
        "validFor": valid_for,
    }
    if name:
        request["name"] = name
    typer.echo(api.post_text("/tokens/dataplane", request))


def _tags(pairs: list[str]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key or not value:
            raise typer.BadParameter(f'"{pair}" is not KEY=VALUE', param_hint="--tag")
        tags.setdefault(key, []).append(value)
    return tags
