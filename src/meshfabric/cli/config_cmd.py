"""meshctl config: the control planes meshctl knows and which one commands talk to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshfabric.cli.args import command_group
from meshfabric.cli.client import ControlPlaneClient
from meshfabric.cli.config import ControlPlaneEntry
from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.output import print_table
from meshfabric.cli.session import session

app = command_group(
    "Manage control-plane contexts.\n\nThey are kept in ~/.meshfabric/meshctl.yaml (see --config)."
)
control_planes = command_group(
    "Add, list and remove control planes.\n\nEach control plane is a context of the same name."
)
app.add_typer(control_planes, name="control-planes")

NameOption = Annotated[str, typer.Option("--name", help="Name of the control plane.")]


@control_planes.command("add")
def add(
    ctx: typer.Context,
    name: NameOption,
    address: Annotated[str, typer.Option(help="URL of its API, e.g. http://127.0.0.1:5681.")],
    auth_token_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH", help="File with a user token; read now and stored.", show_default=False
        ),
    ] = None,
    auth_token: Annotated[
        str | None,
        typer.Option(metavar="TOKEN", help="A user token, given directly.", show_default=False),
    ] = None,
    ca_cert_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="PEM CA to check an https address's certificate with (a generated one: "
            "<data_dir>/api-ca.crt); its path is stored.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a control plane of that name.")] = False,
    skip_verify: Annotated[
        bool, typer.Option(help="Add it without checking that it answers and takes the token.")
    ] = False,
) -> None:
    """Add a control plane and switch to it.

    \b
    Examples:
      meshctl config control-planes add --name local --address http://127.0.0.1:5681 \\
          --auth-token-file /var/lib/meshfabric/admin-token
      meshctl config control-planes add --name prod --address https://cp.example.com:5682 \\
          --auth-token "$TOKEN" --ca-cert-file /var/lib/meshfabric/api-ca.crt --overwrite
    """
    if not address.startswith(("http://", "https://")):
        raise MeshctlError(f'--address must be an http:// or https:// URL, got "{address}"')
    ca = str(ca_cert_file.resolve()) if ca_cert_file else None
    entry = ControlPlaneEntry(name, address.rstrip("/"), _token(auth_token, auth_token_file), ca)
    if not skip_verify:
        _verify(entry)
    config = session(ctx).load_config()
    config.add(entry, overwrite=overwrite)
    session(ctx).save_config(config)
    typer.echo(f'added control plane "{name}" ({entry.address}) and switched to it')


@control_planes.command("list")
def list_control_planes(ctx: typer.Context) -> None:
    """List the control planes; * marks the current context."""
    config = session(ctx).load_config()
    rows = [
        ["*" if entry.name == config.current_context else "", entry.name, entry.address]
        for entry in config.control_planes
    ]
    print_table(["ACTIVE", "NAME", "ADDRESS"], rows)


@control_planes.command("remove")
def remove(ctx: typer.Context, name: NameOption) -> None:
    """Forget a control plane and its stored token."""
    config = session(ctx).load_config()
    config.remove(name)
    session(ctx).save_config(config)
    typer.echo(f'removed control plane "{name}"')


@control_planes.command("switch")
def switch(ctx: typer.Context, name: NameOption) -> None:
    """Make later commands talk to this control plane (as kumactl's switch does).

    \b
    Example:
      meshctl config control-planes switch --name prod
    """
    _use(ctx, name)


@app.command("use-context")
def use_context(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A control plane's name.", show_default=False)],
) -> None:
    """Make later commands talk to this control plane.

    \b
    Example:
      meshctl config use-context prod
    """
    _use(ctx, name)


def _use(ctx: typer.Context, name: str) -> None:
    config = session(ctx).load_config()
    config.use(name)
    session(ctx).save_config(config)
    typer.echo(f'switched to context "{name}"')


@app.command("view")
def view(
    ctx: typer.Context,
    raw: Annotated[bool, typer.Option(help="Show the tokens instead of *****.")] = False,
) -> None:
    """Print the contexts file, tokens hidden."""
    typer.echo(session(ctx).load_config().to_yaml(redact=not raw), nl=False)


def _token(token: str | None, token_file: Path | None) -> str | None:
    if token is not None and token_file is not None:
        raise MeshctlError("give --auth-token or --auth-token-file, not both")
    if token_file is None:
        return token
    try:
        return token_file.read_text().strip()
    except OSError as error:
        raise MeshctlError(f"cannot read --auth-token-file: {error}") from None


def _verify(entry: ControlPlaneEntry) -> None:
    """Fail now rather than at the first command: the address answers and takes the token."""
    try:
        with ControlPlaneClient(
            entry.address, entry.token, ca_cert_file=entry.ca_cert_file
        ) as client:
            client.catalogue()
    except MeshctlError as error:
        raise MeshctlError(f"{error}; pass --skip-verify to add it anyway") from None
