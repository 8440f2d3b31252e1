"""The dashboards: the files the telemetry role deploys are what the code writes, and each
Grafana panel asks exactly the query its definition holds, with declared variables only.
(That every query answers with data is checked against a real Prometheus in the lab:
tests/integration/multizone/test_lab_prometheus.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from meshfabric.cli.main import app
from meshfabric.telemetry.dashboards import DASHBOARDS, RATE_INTERVAL

SHIPPED = Path(__file__).resolve().parents[3] / "roles" / "telemetry" / "files"


def generated(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_the_roles_dashboards_are_what_meshctl_generates(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "dashboards", "--output-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == len(DASHBOARDS) + 1  # one console page
    # On a difference: meshctl generate dashboards --output-dir roles/telemetry/files
    assert generated(SHIPPED) == generated(tmp_path)


def test_each_grafana_panel_asks_its_definitions_query() -> None:
    for board in DASHBOARDS:
        document = json.loads((SHIPPED / "grafana" / f"{board.uid}.json").read_text())
        asked = [
            (panel["title"], [target["expr"] for target in panel["targets"]])
            for panel in document["panels"]
        ]
        assert asked == [(panel.title, [panel.expr]) for panel in board.panels]
        assert all(panel["datasource"]["uid"] == "${datasource}" for panel in document["panels"])


def test_panels_use_only_their_dashboards_variables() -> None:
    for board in DASHBOARDS:
        declared = {variable.label for variable in board.variables}
        for panel in board.panels:
            used = set(re.findall(r"\$(\w+)", panel.expr.replace(RATE_INTERVAL, "")))
            assert used <= declared, f"{board.title}: {panel.title}"
