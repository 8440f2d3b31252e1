"""Dashboards of the mesh, generated from code: Grafana's JSON and a Prometheus console page."""

from __future__ import annotations

from pathlib import Path

from meshfabric.telemetry.console import PAGE, console_page
from meshfabric.telemetry.dashboards import DASHBOARDS, grafana_json

__all__ = ["write_dashboards"]


def write_dashboards(directory: Path) -> list[Path]:
    """Write `grafana/<uid>.json` per dashboard and `consoles/meshfabric.html` under
    `directory`; the paths written."""
    files = {
        directory / "grafana" / f"{board.uid}.json": grafana_json(board) for board in DASHBOARDS
    }
    files[directory / "consoles" / PAGE] = console_page()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)
