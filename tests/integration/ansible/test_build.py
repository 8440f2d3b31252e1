"""The collection builds into a tarball that installs and loads without network access."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from tests.integration.ansible.conftest import BIN, REPO

COLLECTION_TOP_LEVEL = {
    *("COLLECTION.md", "COPYING", "FILES.json", "MANIFEST.json"),
    *("changelogs", "meta", "playbooks", "plugins", "roles", "tests"),
}


def galaxy(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "ansible-galaxy"), *args], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_build_and_offline_install(tmp_path: Path) -> None:
    env = {"ANSIBLE_HOME": str(tmp_path / "home"), "PATH": str(BIN), "HOME": str(tmp_path)}
    galaxy("collection", "build", str(REPO), "--output-path", str(tmp_path / "dist"), env=env)
    [tarball] = (tmp_path / "dist").glob("meshfabric-mesh-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    expected = {"plugins/modules/resources.py", "plugins/inventory/aws_ec2.py", "COLLECTION.md"}
    assert expected <= names
    assert not any(name.startswith(("src/", "pulumi/", "tests/integration/")) for name in names)
    # Nothing else of the checkout: virtualenvs and caches made in the tree stay out.
    assert {name.split("/")[0] for name in names} <= COLLECTION_TOP_LEVEL

    installed = tmp_path / "collections"
    galaxy("collection", "install", "--offline", "-p", str(installed), str(tarball), env=env)
    doc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "meshfabric.mesh.resources"],
        capture_output=True,
        text=True,
        env={**env, "ANSIBLE_COLLECTIONS_PATH": str(installed)},
        timeout=60,
    )
    assert doc.returncode == 0, doc.stderr
    assert "prune" in doc.stdout
