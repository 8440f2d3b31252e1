"""meshfabric.mesh.files through ansible-playbook on localhost: its action plugin reading
files and directories on the controller, the module writing them with their modes once, and
check mode and a bad item changing nothing."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.integration.ansible.conftest import Ansible


def files_task(target: Path, sources: Path, **extra: Any) -> dict[str, Any]:
    app = {"path": str(target / "etc" / "app.yaml"), "content": "port: 8080\n", "mode": "0600"}
    return {
        "name": "files",
        "meshfabric.mesh.files": {
            "directories": [
                {"path": str(target / "etc"), "mode": "0700"},
                {"path": str(target / "dashboards")},
            ],
            "files": [
                {"path": str(target / "etc" / "ca.crt"), "src": str(sources / "ca.crt")},
                {"path": str(target / "dashboards"), "src": str(sources / "grafana")},
                app,
                *extra.get("more_files", []),
            ],
        },
    }  # fmt: skip


def sources_in(directory: Path) -> Path:
    (directory / "grafana" / "nested").mkdir(parents=True)
    (directory / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    (directory / "grafana" / "mesh.json").write_text('{"uid": "mesh"}\n')
    (directory / "grafana" / "zone.json").write_text('{"uid": "zone"}\n')
    (directory / "grafana" / "nested" / "ignored.json").write_text("{}")
    return directory


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_writes_directories_and_files_once_then_changes_nothing(
    ansible: Ansible, tmp_path: Path
) -> None:
    sources, target = sources_in(tmp_path / "src"), tmp_path / "host"
    first = ansible.playbook([files_task(target, sources)])
    assert first.returncode == 0, first.output
    written = first.result("files")
    assert written["changed"]
    assert written["paths"] == [
        str(target / "etc"), str(target / "dashboards"), str(target / "etc" / "ca.crt"),
        str(target / "dashboards" / "mesh.json"), str(target / "dashboards" / "zone.json"),
        str(target / "etc" / "app.yaml"),
    ]  # fmt: skip
    # The controller's files exactly, trailing newline and all; a directory without recursing.
    assert (target / "etc" / "ca.crt").read_text() == (sources / "ca.crt").read_text()
    assert sorted(p.name for p in (target / "dashboards").iterdir()) == ["mesh.json", "zone.json"]
    assert (mode(target / "etc"), mode(target / "etc" / "app.yaml")) == ("0o700", "0o600")
    assert mode(target / "etc" / "ca.crt") == "0o644"

    second = ansible.playbook([files_task(target, sources)])
    assert second.returncode == 0, second.output
    assert not second.result("files")["changed"] and second.result("files")["paths"] == []


def test_a_changed_source_or_mode_is_written_again(ansible: Ansible, tmp_path: Path) -> None:
    sources, target = sources_in(tmp_path / "src"), tmp_path / "host"
    assert ansible.playbook([files_task(target, sources)]).returncode == 0
    (sources / "grafana" / "zone.json").write_text('{"uid": "zone", "version": 2}\n')
    (target / "etc" / "app.yaml").chmod(0o644)
    again = ansible.playbook([files_task(target, sources)], diff=True)
    assert again.returncode == 0, again.output
    assert again.result("files")["paths"] == [
        str(target / "dashboards" / "zone.json"), str(target / "etc" / "app.yaml")
    ]  # fmt: skip
    assert '"version": 2' in (target / "dashboards" / "zone.json").read_text()
    assert mode(target / "etc" / "app.yaml") == "0o600"
    [diff] = again.result("files")["diff"]  # the mode change shows none
    assert '"uid": "zone"}' in diff["before"] and '"version": 2' in diff["after"]


def test_check_mode_reports_what_would_change_and_writes_nothing(
    ansible: Ansible, tmp_path: Path
) -> None:
    sources, target = sources_in(tmp_path / "src"), tmp_path / "host"
    checked = ansible.playbook([files_task(target, sources)], check=True)
    assert checked.returncode == 0, checked.output
    assert checked.result("files")["changed"] and len(checked.result("files")["paths"]) == 6
    assert not target.exists()


def test_a_file_without_content_fails_naming_it_before_anything_is_written(
    ansible: Ansible, tmp_path: Path
) -> None:
    sources, target = sources_in(tmp_path / "src"), tmp_path / "host"
    missing = {"path": str(target / "etc" / "token")}
    failed = ansible.playbook([files_task(target, sources, more_files=[missing])])
    assert failed.returncode != 0
    assert f"files[4] ({target / 'etc' / 'token'}): content or src is required" in failed.output
    assert not target.exists()


def test_a_missing_source_on_the_controller_fails_naming_it(
    ansible: Ansible, tmp_path: Path
) -> None:
    sources, target = sources_in(tmp_path / "src"), tmp_path / "host"
    absent = {"path": str(target / "etc" / "key"), "src": str(sources / "absent.key")}
    failed = ansible.playbook([files_task(target, sources, more_files=[absent])])
    assert failed.returncode != 0
    assert "absent.key" in failed.result("files")["msg"], failed.output
    assert not target.exists()
