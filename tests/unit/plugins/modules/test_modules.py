# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The modules end to end against the in-memory control plane: options in, task result out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshfabric.mesh.plugins.module_utils import runner
from ansible_collections.meshfabric.mesh.plugins.modules import (
    dataplane_token,
    multizone_service,
    resource,
    resources,
    zone_token,
)

RunModule = Callable[..., dict[str, Any]]


@pytest.fixture
def run(
    fake_cp: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunModule:
    """Run a module's main() with options; the task result it printed."""
    monkeypatch.setattr(runner.MeshClient, "from_params", classmethod(lambda cls, params: fake_cp))

    def run_module(
        module: Any, check_mode: bool = False, diff: bool = False, **options: Any
    ) -> dict[str, Any]:
        args = {**options, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run_module


def timeout(name: str, kind: str = "Mesh") -> dict[str, Any]:
    return {
        "type": "MeshTimeout",
        "name": name,
        "mesh": "default",
        "spec": {"targetRef": {"kind": kind}, "to": [{"default": {"idleTimeout": "1h"}}]},
    }


def outcomes(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["name"], r["result"]) for r in result["results"]]


class TestResources:
    def test_second_run_changes_nothing(self, run: RunModule, fake_cp: Any) -> None:
        batch = [{"type": "Mesh", "name": "default"}] + [timeout(f"t{i}") for i in range(20)]
        first = run(resources, resources=batch)
        writes = len(fake_cp.writes)
        second = run(resources, resources=batch)
        assert first["changed"] and first["summary"]["created"] == 21
        assert not second["changed"] and second["summary"]["unchanged"] == 21
        assert len(fake_cp.writes) == writes

    def test_check_mode_predicts_the_real_run(self, run: RunModule, fake_cp: Any) -> None:
        run(
            resources,
            resources=[{"type": "Mesh", "name": "default"}, timeout("keep"), timeout("drop")],
            prune=True,
        )
        changed = timeout("keep")
        changed["spec"]["to"][0]["default"]["idleTimeout"] = "2h"
        batch = [{"type": "Mesh", "name": "default"}, changed, timeout("new")]
        predicted = run(resources, check_mode=True, resources=batch, prune=True)
        assert fake_cp.writes[-1] != ("DELETE", ("MeshTimeout", "default", "drop"))
        real = run(resources, resources=batch, prune=True)
        assert outcomes(predicted) == outcomes(real)
        assert sorted(outcomes(real)) == [
            ("default", "unchanged"),
            ("drop", "deleted"),
            ("keep", "updated"),
            ("new", "created"),
        ]

    def test_typo_fails_with_field_path_and_applies_nothing(
        self, run: RunModule, fake_cp: Any
    ) -> None:
        batch = [
            {"type": "Mesh", "name": "default"},
            timeout("ok"),
            timeout("typo", kind="MeshServise"),
        ]
        result = run(resources, resources=batch)
        assert result["failed"]
        assert "MeshTimeout default/typo" in result["msg"]
        assert "spec.targetRef.kind" in result["msg"]
        assert result["errors"][0]["invalid_parameters"][0]["field"] == "spec.targetRef.kind"
        assert fake_cp.store == {}

    def test_src_directory_and_state_absent(
        self, run: RunModule, fake_cp: Any, tmp_path: Path
    ) -> None:
        (tmp_path / "10-mesh.yaml").write_text("type: Mesh\nname: default\n")
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "20-policies.yml").write_text(
            "---\n" + json.dumps(timeout("a")) + "\n---\n" + json.dumps(timeout("b")) + "\n"
        )
        created = run(resources, src=str(tmp_path))
        assert sorted(outcomes(created)) == [
            ("a", "created"),
            ("b", "created"),
            ("default", "created"),
        ]
        deleted = run(resources, src=str(tmp_path), state="absent")
        assert outcomes(deleted) == [("b", "deleted"), ("a", "deleted"), ("default", "deleted")]

    def test_diff_lists_only_changed_resources(self, run: RunModule) -> None:
        run(resources, resources=[{"type": "Mesh", "name": "default"}, timeout("a")])
        result = run(
            resources,
            diff=True,
            resources=[{"type": "Mesh", "name": "default"}, timeout("a"), timeout("b")],
        )
        assert [d["after_header"] for d in result["diff"]] == ["MeshTimeout default/b"]


class TestResource:
    def test_create_then_unchanged_with_inline_spec(self, run: RunModule, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        options = {"type": "MeshTimeout", "name": "t1", "spec": timeout("t1")["spec"]}
        first = run(resource, **options)
        second = run(resource, **options)
        assert (first["result"], second["result"]) == ("created", "unchanged")
        assert second["resource"]["spec"] == timeout("t1")["spec"]

    def test_top_level_types_take_spec_at_the_top(self, run: RunModule, fake_cp: Any) -> None:
        run(resource, type="Mesh", name="air", spec={"mtls": {"enabledBackend": "ca-1"}})
        stored = fake_cp.store[("Mesh", None, "air")][0]
        assert stored["mtls"] == {"enabledBackend": "ca-1"}
        assert "spec" not in stored

    def test_check_mode_and_diff_on_delete(self, run: RunModule, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        fake_cp.seed(timeout("t1"))
        result = run(
            resource, check_mode=True, diff=True, type="MeshTimeout", name="t1", state="absent"
        )
        assert result["changed"] and result["result"] == "deleted"
        assert result["diff"]["before"]["name"] == "t1" and result["diff"]["after"] == {}
        assert ("MeshTimeout", "default", "t1") in fake_cp.store

    def test_rejected_spec_fails_with_the_field(self, run: RunModule, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        result = run(resource, definition=timeout("t1", kind="Nope"))
        assert result["failed"] and "spec.targetRef.kind" in result["msg"]


def test_multizone_service_builds_the_selector(run: RunModule, fake_cp: Any) -> None:
    fake_cp.seed({"type": "Mesh", "name": "default"})
    result = run(multizone_service, name="flight-control", ports=[{"port": 8080}])
    assert result["hostname"] == "flight-control.mzsvc.mesh.local"
    spec = fake_cp.store[("MeshMultiZoneService", "default", "flight-control")][0]["spec"]
    assert spec == {
        "selector": {"meshService": {"matchLabels": {"kuma.io/display-name": "flight-control"}}},
        "ports": [{"port": 8080, "appProtocol": "http"}],
    }


def test_zone_token_issue_and_revoke(run: RunModule, fake_cp: Any) -> None:
    issued = run(zone_token, zone="eu-west-1", valid_for="1h")
    assert issued["changed"] and issued["token_id"] == "id-1"
    assert fake_cp.tokens == [
        {"path": "tokens/zone", "zone": "eu-west-1", "scope": ["cp"], "validFor": "1h"}
    ]
    revoked = run(zone_token, state="absent", revoke_token=issued["token"])
    again = run(zone_token, state="absent", token_id="id-1")
    assert (revoked["changed"], again["changed"]) == (True, False)


def test_dataplane_token_request_and_check_mode(run: RunModule, fake_cp: Any) -> None:
    skipped = run(dataplane_token, check_mode=True, tags={"kuma.io/service": "web"})
    assert skipped["changed"] and skipped["token"] is None and fake_cp.tokens == []
    run(dataplane_token, tags={"kuma.io/service": "web"}, proxy_type="ingress", name="web-1")
    assert fake_cp.tokens == [
        {
            "path": "tokens/dataplane",
            "mesh": "default",
            "name": "web-1",
            "tags": {"kuma.io/service": ["web"]},
            "type": "ingress",
        }
    ]
