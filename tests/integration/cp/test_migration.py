"""A real control plane started on a database from before versioned schemas."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg

from meshfabric.resources import REGISTRY
from meshfabric.store.migrations import LATEST_VERSION
from tests.support.control_plane import ControlPlane
from tests.support.old_schema import OLD_RESOURCES, create_old_postgres, create_old_sqlite


def item_path(type_name: str, mesh: str, name: str) -> str:
    plural = REGISTRY.get(type_name).plural
    return f"/meshes/{mesh}/{plural}/{name}" if mesh else f"/{plural}/{name}"


def list_path(type_name: str, mesh: str) -> str:
    plural = REGISTRY.get(type_name).plural
    return f"/meshes/{mesh}/{plural}" if mesh else f"/{plural}"


def test_an_old_database_migrates_on_start_and_serves_every_resource(
    start_control_plane: Callable[..., ControlPlane],
    control_plane_env: dict[str, str],
    tmp_path: Path,
) -> None:
    dsn = control_plane_env.get("MESHFABRIC_STORE__POSTGRES__DSN")
    if dsn:
        create_old_postgres(dsn)
    else:
        create_old_sqlite(tmp_path / "cp" / "meshfabric.db")
    cp = start_control_plane(control_plane_env)
    with cp.client() as client:
        for type_name, mesh, name, version, spec, labels, _ in OLD_RESOURCES:
            listed = client.get(list_path(type_name, mesh))
            assert listed.status_code == 200, listed.text
            names = [item["name"] for item in listed.json()["items"]]
            assert name in names, f"{type_name} {name} missing from {names}"
            served = client.get(item_path(type_name, mesh, name))
            assert served.status_code == 200, served.text
            assert served.headers["etag"] == f'"{version}"'
            body = served.json()
            assert body.get("labels", {}) == labels
            fields = body["spec"] if REGISTRY.get(type_name).has_spec else body
            assert {key: fields[key] for key in spec} == spec
    assert applied_versions(dsn, tmp_path / "cp" / "meshfabric.db") == list(
        range(1, LATEST_VERSION + 1)
    )


def applied_versions(dsn: str | None, sqlite_path: Path) -> list[int]:
    query = "SELECT version FROM schema_migrations ORDER BY version"
    if dsn:
        with psycopg.connect(dsn) as conn:
            return [row[0] for row in conn.execute(query).fetchall()]
    with closing(sqlite3.connect(sqlite_path)) as conn:
        return [row[0] for row in conn.execute(query)]


def test_a_database_from_a_newer_meshfabric_stops_the_start_with_a_reason(
    tmp_path: Path,
) -> None:
    database = tmp_path / "meshfabric.db"
    create_old_sqlite(database)
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'newer', '2030-01-01T00:00:00Z')")
    started = subprocess.run(
        [sys.executable, "-m", "meshfabric.cp", "run", "--data-dir", str(tmp_path),
         "--api-address", "127.0.0.1", "--api-port", "0", "--api-https-port", "0",
         "--diagnostics-port", "0", "--xds-port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 1
    assert "schema is at version 99" in started.stderr
    assert "Traceback" not in started.stderr
