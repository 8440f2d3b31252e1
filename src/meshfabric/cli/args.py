"""Options, arguments and group settings that several commands share, declared once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from meshfabric.cli.errors import MeshctlError
from meshfabric.cli.output import OutputFormat

MeshOption = Annotated[
    str, typer.Option("--mesh", "-m", help="Mesh of the resources (ignored for global types).")
]
OutputOption = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="Output format.", case_sensitive=False)
]
TypeArgument = Annotated[
    str,
    typer.Argument(
        metavar="TYPE",
        help="Resource type: MeshTrafficPermission, meshtrafficpermissions or mtp (any case).",
        show_default=False,
    ),
]


def command_group(help_text: str | None = None, **settings: Any) -> typer.Typer:
    """A command group with meshctl's help style: plain text, kept as written under \\b.

    Without help_text, the group's callback docstring is its help.
    """
    if help_text is not None:
        settings["help"] = help_text
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, **settings)


def parse_pairs(values: Iterable[str], option: str) -> dict[str, str]:
    """`key=value` strings, as --var and --label take them, into a dict."""
    pairs = {}
    for value in values:
        key, sign, rest = value.partition("=")
        if not sign or not key.strip():
            raise MeshctlError(f'{option} expects KEY=VALUE, got "{value}"')
        pairs[key.strip()] = rest
    return pairs
