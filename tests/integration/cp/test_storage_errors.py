"""A database that stops taking writes: clients get 503 with the cause, readiness turns red,
and both recover once the database does."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.control_plane import ControlPlane
from tests.support.net import wait_until
from tests.support.postgres import PostgresServer

ZONE = {"type": "Zone", "name": "z1"}


def set_read_only(postgres: PostgresServer, database: str, read_only: bool) -> None:
    """Make the database refuse writes (or take them again), for every connection."""
    setting = "SET default_transaction_read_only = on" if read_only else "RESET ALL"
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" {setting}')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )


def test_a_read_only_database_is_a_503_with_the_cause_and_readiness_turns_red(
    start_control_plane: Callable[..., ControlPlane], postgres: PostgresServer
) -> None:
    dsn = postgres.new_database()
    database = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    cp = start_control_plane(
        {"MESHFABRIC_STORE__TYPE": "postgres", "MESHFABRIC_STORE__POSTGRES__DSN": dsn}
    )
    assert httpx.get(cp.url + "/ready").status_code == 200
    set_read_only(postgres, str(database), True)
    with cp.client() as admin:
        # The first attempt may meet a connection the database just closed: also a 503.
        wait_until(
            lambda: "read-only transaction" in admin.put("/zones/z1", json=ZONE).text,
            10,
            "a write refused because the database is read-only",
        )
        refused = admin.put("/zones/z1", json=ZONE)
        assert refused.status_code == 503, refused.text
        assert refused.json()["type"] == "/std-errors"
        ready = httpx.get(cp.url + "/ready")
        assert ready.status_code == 503 and "read-only transaction" in ready.json()["detail"]
        set_read_only(postgres, str(database), False)
        wait_until(
            lambda: admin.put("/zones/z1", json=ZONE).status_code == 201,
            10,
            "writes taken again",
        )
    assert httpx.get(cp.url + "/ready").status_code == 200


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs of its own, so the test can fill it under a running process."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(directory: Path) -> Path:
    """Take every free byte of the filesystem."""
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_sqlite_on_a_full_disk_is_a_503_and_recovers(
    start_control_plane: Callable[..., ControlPlane], small_filesystem: Path
) -> None:
    cp = start_control_plane({"MESHFABRIC_STORE__SQLITE__PATH": str(small_filesystem / "db")})
    # Larger than anything in the WAL so far, so the write has to grow it.
    big = {"type": "GlobalSecret", "name": "big", "data": base64.b64encode(bytes(2**21)).decode()}
    with cp.client() as admin:
        filler = fill(small_filesystem)
        refused = admin.put("/global-secrets/big", json=big)
        assert refused.status_code == 503, refused.text
        assert "the sqlite database failed" in refused.json()["detail"]
        assert "full" in refused.json()["detail"]
        ready = httpx.get(cp.url + "/ready")
        assert ready.status_code == 503 and "full" in ready.json()["detail"]
        filler.unlink()
        assert admin.put("/global-secrets/big", json=big).status_code == 201
    assert httpx.get(cp.url + "/ready").status_code == 200
