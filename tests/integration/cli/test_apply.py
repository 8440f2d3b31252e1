from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.cli.conftest import (
    Meshctl,
    documents,
    mesh_doc,
    permission_doc,
    timeout_doc,
    write,
)


def test_apply_a_multi_document_file_mesh_first_then_again_unchanged(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    manifest = write(
        tmp_path / "kong-air.yaml",
        documents(
            permission_doc(mesh_name, "allow-flight-control"),
            timeout_doc(mesh_name, "flight-control"),
            mesh_doc(mesh_name),
        ),
    )
    assert meshctl.ok("apply", "-f", str(manifest)).splitlines() == [
        f"Mesh {mesh_name} created",
        f"MeshTrafficPermission {mesh_name}/allow-flight-control created",
        f"MeshTimeout {mesh_name}/flight-control created",
    ]
    assert meshctl.ok("apply", "-f", str(manifest)).splitlines() == [
        f"Mesh {mesh_name} unchanged",
        f"MeshTrafficPermission {mesh_name}/allow-flight-control unchanged",
        f"MeshTimeout {mesh_name}/flight-control unchanged",
    ]


def test_apply_a_directory_in_file_name_order_and_from_stdin(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    write(tmp_path / "policies" / "20-timeout.yml", timeout_doc(mesh_name, "slow"))
    write(tmp_path / "policies" / "10-permission.yaml", permission_doc(mesh_name, "allow"))
    write(tmp_path / "policies" / "README.md", "not a manifest")
    meshctl.ok("apply", "-f", "-", stdin=mesh_doc(mesh_name))
    assert meshctl.ok("apply", "-f", str(tmp_path / "policies")).splitlines() == [
        f"MeshTrafficPermission {mesh_name}/allow created",
        f"MeshTimeout {mesh_name}/slow created",
    ]


def test_dry_run_says_created_updated_unchanged_with_a_diff_and_writes_nothing(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "kong-air.yaml"
    write(manifest, documents(mesh_doc(mesh_name), permission_doc(mesh_name, "allow")))
    assert meshctl.ok("apply", "--dry-run", "-f", str(manifest)).splitlines() == [
        f"Mesh {mesh_name} created (dry run)",
        f"MeshTrafficPermission {mesh_name}/allow created (dry run)",
    ]
    meshctl.fails("get", "mesh", mesh_name)

    meshctl.ok("apply", "-f", str(manifest))
    write(manifest, documents(mesh_doc(mesh_name), permission_doc(mesh_name, "allow", "Deny")))
    report = meshctl.ok("apply", "--dry-run", "-f", str(manifest))
    subject = f"MeshTrafficPermission {mesh_name}/allow"
    assert report.startswith(f"Mesh {mesh_name} unchanged (dry run)\n{subject} updated (dry run)\n")
    assert f"--- {subject} (current)\n+++ {subject} (applied)\n" in report
    assert "-      action: Allow\n+      action: Deny\n" in report
    stored = yaml.safe_load(meshctl.ok("get", "mtp", "allow", "--mesh", mesh_name, "-o", "yaml"))
    assert stored["spec"]["from"][0]["default"]["action"] == "Allow"


def test_vars_are_substituted_and_an_undefined_one_is_named(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    template = write(
        tmp_path / "template.yaml",
        documents(mesh_doc("{{ mesh }}"), timeout_doc("{{ mesh }}", "{{service}}", "{{ idle }}")),
    )
    missing = meshctl.fails("apply", "-f", str(template), "--var", f"mesh={mesh_name}")
    assert f'{template}: variable "service" is not defined; pass --var service=VALUE' in missing
    meshctl.ok(
        "apply", "-f", str(template),
        "--var", f"mesh={mesh_name}", "-v", "service=flight-control", "--var", "idle=42s",
    )  # fmt: skip
    stored = yaml.safe_load(
        meshctl.ok("get", "meshtimeouts", "flight-control", "-m", mesh_name, "-o", "yaml")
    )
    assert stored["spec"]["to"][0]["default"]["idleTimeout"] == "42s"


def test_a_batch_with_one_invalid_document_applies_nothing(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    manifest = write(
        tmp_path / "batch.yaml",
        documents(
            mesh_doc(mesh_name),
            timeout_doc(mesh_name, "fine"),
            permission_doc(mesh_name, "broken", action="Maybe"),
            permission_doc(mesh_name, "never-reached"),
        ),
    )
    error = meshctl.fails("apply", "-f", str(manifest))
    assert error.splitlines() == [
        f"Error: nothing was applied: MeshTrafficPermission {mesh_name}/broken "
        f"({manifest}, document 3): Resource is not valid",
        "  spec.from[0].default.action: must be one of Allow, Deny, AllowWithShadowDeny",
    ]
    assert "not found" in meshctl.fails("get", "mesh", mesh_name)


def test_a_policy_for_a_mesh_that_does_not_exist_is_refused(
    meshctl: Meshctl, mesh_name: str
) -> None:
    error = meshctl.fails("apply", "-f", "-", stdin=timeout_doc(mesh_name, "orphan"))
    assert f"mesh: mesh of name {mesh_name} is not found" in error


def test_apply_warns_of_what_is_stored_but_acted_on_by_no_proxy(
    meshctl: Meshctl, mesh_name: str, tmp_path: Path
) -> None:
    mesh = f"{mesh_doc(mesh_name)}meshServices:\n  mode: Exclusive\n"
    manifest = write(tmp_path / "m.yaml", documents(mesh, timeout_doc(mesh_name, "flight-control")))
    result = meshctl("apply", "-f", str(manifest))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Mesh {mesh_name} created",
        f"MeshTimeout {mesh_name}/flight-control created",
    ]
    assert result.stderr.splitlines() == [
        f"Warning: Mesh {mesh_name}: meshServices.mode Exclusive only turns on MeshService "
        "generation here: proxies still get every MeshService and kuma.io/service outbound "
        "of the mesh",
    ]
