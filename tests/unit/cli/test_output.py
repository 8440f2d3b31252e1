from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meshfabric.cli.output import age, print_table, resource_diff

NOW = datetime(2026, 8, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "shown"),
    [
        ("2026-08-01T11:59:15Z", "45s"),
        ("2026-08-01T11:48:00Z", "12m"),
        ("2026-08-01T06:59:00.123456Z", "5h"),
        ("2026-07-29T12:00:00Z", "3d"),
        ("2026-08-01T12:00:05Z", "0s"),  # a clock slightly ahead of ours
        (None, "-"),
    ],
)
def test_age_reads_like_kubectl(created: str | None, shown: str) -> None:
    assert age(created, NOW) == shown


def test_diff_ignores_server_fields_and_key_order() -> None:
    current = {"type": "Mesh", "name": "m", "creationTime": "t1", "mtls": {"a": 1, "b": 2}}
    desired = {"outcome": "unchanged", "mtls": {"b": 2, "a": 1}, "name": "m", "type": "Mesh"}
    assert resource_diff("Mesh m", current, desired) == ""


def test_diff_shows_the_changed_field_in_yaml() -> None:
    current = {"type": "MeshTimeout", "spec": {"idleTimeout": "5s"}}
    desired = {"type": "MeshTimeout", "spec": {"idleTimeout": "10s"}}
    diff = resource_diff("MeshTimeout default/t", current, desired)
    assert "--- MeshTimeout default/t (current)\n+++ MeshTimeout default/t (applied)\n" in diff
    assert "-  idleTimeout: 5s\n+  idleTimeout: 10s\n" in diff


def test_piped_tables_keep_long_cells_whole_without_trailing_blanks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_name = "flight-control-" + "x" * 150
    print_table(["NAME", "AGE"], [[long_name, "5s"], ["short", "12m"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [long_name, "5s"]
    assert all(line == line.rstrip() for line in lines)
