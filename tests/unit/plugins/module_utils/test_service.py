# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import (
    MeshApiError,
    MeshError,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    COVERED,
    DIFFERENT,
    EQUAL,
    MANAGED_LABEL,
    FieldErrors,
    ResourceService,
    compare,
    covers,
)


def policy(name: str, mesh: str = "default", kind: str = "Mesh", **labels: str) -> dict[str, Any]:
    return {
        "type": "MeshTimeout",
        "name": name,
        "mesh": mesh,
        "labels": dict(labels),
        "spec": {"targetRef": {"kind": kind}, "to": [{"default": {"idleTimeout": "1h"}}]},
    }


def managed(resource: dict[str, Any], owner: str = "ansible") -> dict[str, Any]:
    return {**resource, "labels": {**resource.get("labels", {}), MANAGED_LABEL: owner}}


def actions(changes: list[Any]) -> list[tuple[str, str, str]]:
    return [(c.ref.type, c.ref.name, c.action) for c in changes]


class TestCompare:
    def test_server_defaults_are_covered_not_equal(self) -> None:
        desired = {"spec": {"a": 1}}
        current = {"spec": {"a": 1, "b": 2}, "creationTime": "t", "status": {"x": 1}}
        assert compare(desired, current) == COVERED

    def test_read_only_fields_and_empty_values_are_equal(self) -> None:
        desired = {"spec": {"a": 1, "b": None, "c": []}, "labels": {}}
        current = {"spec": {"a": 1}, "modificationTime": "t", "status": {"x": 1}}
        assert compare(desired, current) == EQUAL

    def test_changed_value_is_different(self) -> None:
        assert compare({"spec": {"a": 1}}, {"spec": {"a": 2}}) == DIFFERENT

    def test_true_is_not_one(self) -> None:
        assert not covers(True, 1)
        assert not covers(1, True)

    def test_list_length_matters(self) -> None:
        assert compare({"spec": {"to": [1]}}, {"spec": {"to": [1, 2]}}) == DIFFERENT

    def test_control_plane_labels_are_ignored_but_user_labels_are_not(self) -> None:
        current = {"labels": {"kuma.io/origin": "zone", "team": "ops"}, "spec": {}}
        assert compare({"labels": {"team": "ops"}, "spec": {}}, current) == EQUAL
        assert compare({"labels": {}, "spec": {}}, current) == DIFFERENT
        assert compare({"labels": {"kuma.io/origin": "global"}, "spec": {}}, current) == DIFFERENT


class TestPlanBatch:
    def test_mesh_goes_first_and_deletions_last_in_reverse_order(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "old", "labels": {MANAGED_LABEL: "ansible"}})
        fake_cp.seed(managed(policy("stale", mesh="old")))
        service = ResourceService(fake_cp)
        present = [
            managed(policy("t1")),
            managed({"type": "MeshService", "name": "web", "mesh": "default", "spec": {}}),
            managed({"type": "Mesh", "name": "default"}),
        ]
        changes = service.plan_batch(present, prune_owner="ansible")
        assert actions(changes) == [
            ("Mesh", "default", "created"),
            ("MeshService", "web", "created"),
            ("MeshTimeout", "t1", "created"),
            ("MeshTimeout", "stale", "deleted"),
            ("Mesh", "old", "deleted"),
        ]

    def test_prune_leaves_unlabelled_and_other_owners_alone(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        fake_cp.seed(policy("by-hand"))
        fake_cp.seed(managed(policy("other-team"), owner="team-b"))
        fake_cp.seed(managed(policy("ours")))
        changes = ResourceService(fake_cp).plan_batch([], prune_owner="ansible")
        assert actions(changes) == [("MeshTimeout", "ours", "deleted")]

    def test_a_mesh_holding_unmanaged_resources_is_not_pruned(self, fake_cp: Any) -> None:
        fake_cp.seed(managed({"type": "Mesh", "name": "old", "labels": {}}))
        fake_cp.seed(managed(policy("ours", mesh="old")))
        fake_cp.seed(policy("by-hand", mesh="old"))
        with pytest.raises(MeshError, match="MeshTimeout old/by-hand"):
            ResourceService(fake_cp).plan_batch([], prune_owner="ansible")

    def test_same_resource_twice_is_refused(self, fake_cp: Any) -> None:
        with pytest.raises(MeshError, match="more than once"):
            ResourceService(fake_cp).plan_batch([policy("t1"), policy("t1")])

    def test_mesh_defaults_to_default(self, fake_cp: Any) -> None:
        resource = policy("t1")
        del resource["mesh"]
        [change] = ResourceService(fake_cp).plan_batch([resource])
        assert change.ref.mesh == "default"


class TestApply:
    def test_rejected_resource_fails_with_field_path_and_writes_nothing(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        service = ResourceService(fake_cp)
        changes = service.plan_batch([policy("good"), policy("typo", kind="MeshServce")])
        with pytest.raises(FieldErrors) as failure:
            service.apply(changes, check_mode=False)
        assert "spec.targetRef.kind" in failure.value.msg
        [error] = failure.value.details["errors"]
        assert error["name"] == "typo"
        assert error["invalid_parameters"][0]["field"] == "spec.targetRef.kind"
        assert fake_cp.writes == []

    def test_resources_of_a_new_mesh_are_validated_once_it_exists(self, fake_cp: Any) -> None:
        service = ResourceService(fake_cp)
        changes = service.plan_batch([{"type": "Mesh", "name": "air"}, policy("t1", mesh="air")])
        service.apply(changes, check_mode=False)
        assert ("MeshTimeout", "air", "t1") in fake_cp.store

    def test_a_new_mesh_is_removed_again_when_its_contents_are_rejected(self, fake_cp: Any) -> None:
        service = ResourceService(fake_cp)
        bad = policy("t1", mesh="air", kind="Nope")
        changes = service.plan_batch([{"type": "Mesh", "name": "air"}, bad])
        with pytest.raises(FieldErrors, match=r"spec\.targetRef\.kind"):
            service.apply(changes, check_mode=False)
        assert fake_cp.store == {}

    def test_check_mode_validates_and_writes_nothing(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        service = ResourceService(fake_cp)
        changes = service.plan_batch([policy("t1")])
        service.apply(changes, check_mode=True)
        assert actions(changes) == [("MeshTimeout", "t1", "created")]
        assert fake_cp.writes == []

    def test_server_defaults_do_not_cause_an_update(self, make_fake_cp: Any) -> None:
        cp = make_fake_cp(defaults={"MeshTimeout": {"priority": 0}})
        cp.seed({"type": "Mesh", "name": "default"})
        cp.seed(policy("t1"))
        service = ResourceService(cp)
        changes = service.plan_batch([policy("t1")])
        assert changes[0].unsure
        service.apply(changes, check_mode=False)
        assert actions(changes) == [("MeshTimeout", "t1", "unchanged")]
        assert cp.writes == []

    def test_a_removed_field_is_written(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        old = policy("t1")
        old["spec"]["from"] = [{"targetRef": {"kind": "Mesh"}}]
        fake_cp.seed(old)
        service = ResourceService(fake_cp)
        changes = service.plan_batch([policy("t1")])
        service.apply(changes, check_mode=True)
        assert actions(changes) == [("MeshTimeout", "t1", "updated")]
        assert "from" in changes[0].diff()["before"]["spec"]
        assert "from" not in changes[0].diff()["after"]["spec"]
        service.apply(changes, check_mode=False)
        assert "from" not in fake_cp.store[("MeshTimeout", "default", "t1")][0]["spec"]

    def test_diff_shows_before_and_after(self, fake_cp: Any) -> None:
        fake_cp.seed({"type": "Mesh", "name": "default"})
        fake_cp.seed(policy("t1"))
        changed = policy("t1")
        changed["spec"]["to"][0]["default"]["idleTimeout"] = "2h"
        [change] = ResourceService(fake_cp).plan_batch([changed])
        diff = change.diff()
        assert diff["before"]["spec"]["to"][0]["default"]["idleTimeout"] == "1h"
        assert diff["after"]["spec"]["to"][0]["default"]["idleTimeout"] == "2h"
        assert diff["before_header"] == "MeshTimeout default/t1"


def test_a_write_failing_after_validation_reports_what_was_not_applied(
    fake_cp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cp.seed({"type": "Mesh", "name": "default"})
    service = ResourceService(fake_cp)
    changes = service.plan_batch([policy("a"), policy("b"), policy("c")])
    real_put = fake_cp.put

    def put(rtype: Any, resource: Any, dry_run: bool = False, if_match: Any = None) -> Any:
        if resource["name"] == "b" and not dry_run:
            raise MeshApiError(409, "Conflict", "the resource changed")
        return real_put(rtype, resource, dry_run, if_match)

    monkeypatch.setattr(fake_cp, "put", put)
    with pytest.raises(MeshApiError) as failure:
        service.apply(changes, check_mode=False)
    assert [r["name"] for r in failure.value.details["not_applied"]] == ["b", "c"]
    assert ("MeshTimeout", "default", "a") in fake_cp.store
    assert ("MeshTimeout", "default", "c") not in fake_cp.store
