"""Databases exactly as meshfabric created them before its schema was versioned.

The DDL below is copied from the store as it stood then, not taken from the migrations, so a
change to migration 1 cannot quietly make these databases look like whatever it creates.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

SCHEMA_BEFORE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL,
    mesh TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    spec TEXT NOT NULL,
    labels TEXT NOT NULL,
    status TEXT,
    creation_time TEXT NOT NULL,
    modification_time TEXT NOT NULL,
    PRIMARY KEY (type, mesh, name)
)
"""

# (type, mesh, name, version, spec, labels, status): one of each shape the store holds,
# including a status, labels that need quoting in a JSON path and a resource of another mesh.
OLD_RESOURCES: list[tuple[str, str, str, int, dict[str, Any], dict[str, str], Any]] = [
    ("Mesh", "", "default", 3, {"networking": {"outbound": {"passthrough": False}}}, {}, None),
    ("Mesh", "", "payments", 1, {}, {"team": "pay"}, None),
    (
        "MeshService",
        "default",
        "flight-control",
        2,
        {
            "selector": {"dataplaneTags": {"kuma.io/service": "flight-control"}},
            "ports": [{"port": 8080, "targetPort": 8080, "appProtocol": "http"}],
        },
        {"kuma.io/origin": "zone", "kuma.io/zone": "us-east-1"},
        {"vips": [{"ip": "241.0.0.1"}]},
    ),
    (
        "MeshTrafficPermission",
        "default",
        "allow-all",
        1,
        {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}],
        },
        {"kuma.io/origin": "global"},
        None,
    ),
    (
        "MeshTimeout",
        "payments",
        "slow",
        4,
        {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "5s"}}],
        },
        {"it's": "quoted"},
        None,
    ),
]

CREATED = "2026-06-01T10:00:00.123456Z"
MODIFIED = "2026-06-02T11:30:00.654321Z"


def _rows() -> list[tuple[Any, ...]]:
    rows = []
    for type_, mesh, name, version, spec, labels, status in OLD_RESOURCES:
        stored_status = None if status is None else json.dumps(status)
        documents = (json.dumps(spec), json.dumps(labels), stored_status)
        rows.append((type_, mesh, name, version, *documents, CREATED, MODIFIED))
    return rows


def create_old_sqlite(path: Path) -> None:
    """A SQLite file with the old schema and OLD_RESOURCES, as the old store left it (WAL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA_BEFORE_MIGRATIONS)
        conn.executemany("INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _rows())
    conn.close()


def create_old_postgres(dsn: str) -> None:
    """A PostgreSQL database with the old schema and OLD_RESOURCES."""
    with psycopg.connect(dsn) as conn:
        conn.execute(SCHEMA_BEFORE_MIGRATIONS)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO resources VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", _rows()
            )
