"""How meshctl prints: tables for people, YAML and JSON for scripts, diffs for reviews."""

from __future__ import annotations

import difflib
import enum
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Written by the server, so never part of what a user changes (nor of a diff).
SERVER_FIELDS = ("creationTime", "modificationTime", "status", "outcome", "warnings")
# Piped output is read by grep and awk: no wrapping or cut columns, however long the cells.
_PIPED_WIDTH = 1000
_DIFF_STYLES = {"+": "green", "-": "red", "@": "cyan"}


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    YAML = "yaml"
    JSON = "json"


def console() -> Console:
    width = None if sys.stdout.isatty() else _PIPED_WIDTH
    return Console(width=width, markup=False, highlight=False, emoji=False)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Borderless columns like kubectl's, bold headers."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out = console()
    if out.is_terminal:
        out.print(table)
        return
    # Rich pads every cell to its column's width; trailing blanks only get in a script's way.
    with out.capture() as captured:
        out.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def print_data(data: Any, output: OutputFormat) -> None:
    """YAML or JSON exactly as the API shapes it, for scripts and for `meshctl apply -f`."""
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(as_yaml(data), nl=False)


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """Time since an RFC 3339 timestamp the way kubectl shows it: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "-"
    created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = max(0, int(((now or datetime.now(UTC)) - created).total_seconds()))
    for unit, size, shown_below in (("s", 1, 120), ("m", 60, 120), ("h", 3600, 48)):
        if seconds < size * shown_below:
            return f"{seconds // size}{unit}"
    return f"{seconds // 86400}d"


def resource_diff(subject: str, current: dict[str, Any] | None, desired: dict[str, Any]) -> str:
    """A unified diff of the YAML of two versions of a resource, server fields left out."""
    before = _user_fields_as_yaml(current) if current is not None else []
    after = _user_fields_as_yaml(desired)
    lines = difflib.unified_diff(before, after, f"{subject} (current)", f"{subject} (applied)")
    return "".join(lines)


def _user_fields_as_yaml(resource: dict[str, Any]) -> list[str]:
    # Sorted keys: reordering the fields of a file is not a change worth showing.
    user_fields = {key: value for key, value in resource.items() if key not in SERVER_FIELDS}
    return yaml.safe_dump(user_fields, sort_keys=True).splitlines(keepends=True)


def print_diff(diff: str) -> None:
    out = console()
    for line in diff.splitlines():
        out.print(Text(line, style=_DIFF_STYLES.get(line[:1], "")))
