# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Resource logic: shapes, comparison, diffs, dependency order, plan and apply.

A run is planned first (read what exists, decide one ``Change`` per resource)
and executed second, so check mode reports exactly the plan a real run
executes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.meshfabric.mesh.plugins.module_utils.client import (
    MeshClient,
    ResourceType,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import (
    MeshApiError,
    MeshError,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.type_facts import (
    APPLY_ORDER,
    DEFAULT_APPLY_ORDER,
)

DEFAULT_MESH = "default"

READ_ONLY_KEYS = frozenset({"creationTime", "modificationTime", "status"})

# Labels under this prefix are set by the control plane itself (origin, zone,
# display name...); a user only owns the ones they write.
SYSTEM_LABEL_PREFIX = "kuma.io/"

# Marks the resources that a ``resources`` task manages, for prune.
MANAGED_LABEL = "meshfabric.io/managed-by"

CREATE, UPDATE, DELETE, NONE = "created", "updated", "deleted", "unchanged"
EQUAL, DIFFERENT, COVERED = "equal", "different", "covered"


@dataclass(frozen=True)
class Ref:
    """Identity of a resource: type, mesh (None for global types) and name."""

    type: str
    mesh: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.mesh}/" if self.mesh else ""
        return f"{self.type} {where}{self.name}"

    def sort_key(self) -> tuple[int, str, str, str]:
        return (*apply_rank(self.type), self.mesh or "", self.name)


def apply_rank(type_name: str) -> tuple[int, str]:
    """What other resources refer to is written first and deleted last."""
    return APPLY_ORDER.get(type_name, DEFAULT_APPLY_ORDER), type_name


def build_resource(
    rtype: ResourceType,
    name: str,
    mesh: str | None = None,
    labels: Mapping[str, str] | None = None,
    spec: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A resource in the REST shape of its type from module-style options."""
    resource: dict[str, Any] = {"type": rtype.name, "name": name}
    if mesh:
        resource["mesh"] = mesh
    resource["labels"] = dict(labels or {})
    if rtype.has_spec:
        resource["spec"] = dict(spec or {})
    else:
        resource.update(spec or {})
    return resource


def strip_read_only(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key not in READ_ONLY_KEYS}


def covers(desired: Any, current: Any) -> bool:
    """Whether ``current`` is what the control plane stores for ``desired``.

    The control plane fills in defaults, so keys that only ``current`` has do
    not count as a difference; an empty or null desired value matches an
    absent key, since the control plane drops empty fields.
    """
    if isinstance(desired, Mapping):
        if current is None:
            return all(_is_empty(value) for value in desired.values())
        if not isinstance(current, Mapping):
            return False
        return all(covers(value, current.get(key)) for key, value in desired.items())
    if isinstance(desired, list):
        if current is None:
            return not desired
        return (
            isinstance(current, list)
            and len(desired) == len(current)
            and all(covers(d, c) for d, c in zip(desired, current, strict=True))
        )
    if _is_empty(desired):
        return _is_empty(current)
    # bool is an int in Python; ``True`` must not match ``1``.
    if isinstance(desired, bool) or isinstance(current, bool):
        return desired is current
    return bool(desired == current)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (dict, list, str)) and not value)


def user_labels(desired: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """The labels of ``current`` a user owns: all but the control plane's own."""
    return {
        key: value
        for key, value in current.items()
        if key in desired or not key.startswith(SYSTEM_LABEL_PREFIX)
    }


def compare(desired: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """``EQUAL``, ``DIFFERENT``, or ``COVERED`` when the only differences are
    fields that ``current`` has and ``desired`` lacks: the control plane's
    defaults, or fields the user removed. Only the control plane can tell those
    apart (a dry run answers ``unchanged`` for the former)."""
    desired_labels = dict(desired.get("labels") or {})
    if user_labels(desired_labels, current.get("labels") or {}) != desired_labels:
        return DIFFERENT
    wanted = {key: value for key, value in desired.items() if key != "labels"}
    stored = {key: value for key, value in strip_read_only(current).items() if key != "labels"}
    if not covers(wanted, stored):
        return DIFFERENT
    return EQUAL if covers(stored, wanted) else COVERED


def predicted(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the control plane will store for ``desired``: it plus the defaults seen in ``current``.

    Used for the ``after`` side of diffs so that they show only real changes.
    """
    if current is None:
        return copy.deepcopy(dict(desired))
    result: dict[str, Any] = _with_defaults(desired, strip_read_only(current))
    result["labels"] = {
        **{
            key: value
            for key, value in (current.get("labels") or {}).items()
            if key.startswith(SYSTEM_LABEL_PREFIX)
        },
        **(desired.get("labels") or {}),
    }
    return result


def _with_defaults(desired: Any, current: Any) -> Any:
    if isinstance(desired, Mapping) and isinstance(current, Mapping):
        merged = {key: copy.deepcopy(value) for key, value in current.items()}
        for key, value in desired.items():
            merged[key] = _with_defaults(value, current.get(key))
        return merged
    if isinstance(desired, list) and isinstance(current, list) and len(desired) == len(current):
        return [_with_defaults(d, c) for d, c in zip(desired, current, strict=True)]
    return copy.deepcopy(desired)


@dataclass
class Change:
    """The planned outcome for one resource."""

    ref: Ref
    action: str
    desired: dict[str, Any] | None = None
    current: dict[str, Any] | None = None
    version: str | None = None
    # An update that only the control plane's dry run can confirm (see compare).
    unsure: bool = False
    # The resource as the control plane's dry run said it would store it.
    stored: dict[str, Any] | None = None
    # What the dry run said is stored but acted on by no proxy yet.
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.action != NONE

    @property
    def writes(self) -> bool:
        return self.action in (CREATE, UPDATE)

    def result(self) -> dict[str, Any]:
        return {
            "type": self.ref.type,
            "mesh": self.ref.mesh,
            "name": self.ref.name,
            "result": self.action,
            "changed": self.changed,
        }

    def after(self) -> dict[str, Any] | None:
        """The resource once this change is applied; None when it is deleted or absent."""
        if self.action == NONE:
            return strip_read_only(self.current) if self.current else None
        if not self.writes or self.desired is None:
            return None
        return self.stored or predicted(self.desired, self.current)

    def diff(self) -> dict[str, Any]:
        before = strip_read_only(self.current) if self.current else {}
        after = self.after() or {}
        header = str(self.ref)
        return {"before": before, "after": after, "before_header": header, "after_header": header}


class FieldErrors(MeshError):
    """The control plane rejected some resources in a dry run; nothing was written."""

    def __init__(self, failures: list[tuple[Ref, MeshApiError]]) -> None:
        errors = [
            {
                "type": ref.type,
                "mesh": ref.mesh,
                "name": ref.name,
                "status": err.status,
                "title": err.title,
                "detail": err.detail,
                "invalid_parameters": err.invalid_parameters,
            }
            for ref, err in failures
        ]
        lines = [f"{ref}: {err.msg}" for ref, err in failures]
        super().__init__(
            "the control plane rejected the configuration, nothing was applied:\n"
            + "\n".join(lines),
            errors=errors,
        )


class ResourceService:
    """Plans and applies resources against one control plane."""

    def __init__(self, client: MeshClient) -> None:
        self.client = client

    # -- identities and shapes ------------------------------------------

    def rtype(self, type_name: str) -> ResourceType:
        return self.client.resource_type(type_name)

    def normalize(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """``resource`` as the API takes it: a known type, its mesh set or dropped, str labels."""
        for key in ("type", "name"):
            if not resource.get(key):
                raise MeshError(f"a resource needs a {key!r}: {dict(resource)}")
        rtype = self.rtype(resource["type"])
        result = strip_read_only(resource)
        if rtype.mesh_scoped:
            result["mesh"] = resource.get("mesh") or DEFAULT_MESH
        else:
            result.pop("mesh", None)
        result["labels"] = {
            str(key): str(value) for key, value in (resource.get("labels") or {}).items()
        }
        return result

    def ref(self, resource: Mapping[str, Any]) -> Ref:
        return self.ref_for(resource["type"], resource["name"], resource.get("mesh"))

    def ref_for(self, type_name: str, name: str, mesh: str | None = None) -> Ref:
        rtype = self.rtype(type_name)
        return Ref(rtype.name, (mesh or DEFAULT_MESH) if rtype.mesh_scoped else None, name)

    # -- reading ----------------------------------------------------------

    def read(
        self,
        type_name: str,
        name: str | None = None,
        mesh: str | None = None,
        labels: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The named resource (mesh ``default`` unless given), or all of a type
        carrying ``labels`` (in ``mesh``, or in every mesh)."""
        if name is not None:
            fetched = self.fetch(self.ref_for(type_name, name, mesh))
            return [strip_read_only(fetched[0])] if fetched else []
        rtype = self.rtype(type_name)
        selector = {str(key): str(value) for key, value in (labels or {}).items()}
        meshes: list[str | None] = [None]
        if rtype.mesh_scoped:
            meshes = [mesh] if mesh else list(self.client.mesh_names())
        return [
            strip_read_only(item)
            for each in meshes
            for item in self.client.list_resources(rtype, each, selector)
            # The server filters too; checking here keeps the answer right on one that does not.
            if selector.items() <= (item.get("labels") or {}).items()
        ]

    # -- planning ---------------------------------------------------------

    def fetch(self, ref: Ref) -> tuple[dict[str, Any], str | None] | None:
        return self.client.get(self.rtype(ref.type), ref.name, ref.mesh)

    def plan(
        self,
        ref: Ref,
        desired: dict[str, Any] | None,
        current: dict[str, Any] | None,
        version: str | None = None,
    ) -> Change:
        """One change: ``desired`` None means the resource must be absent."""
        if desired is None:
            return Change(ref, DELETE if current is not None else NONE, None, current, version)
        if current is None:
            return Change(ref, CREATE, desired, None, version)
        verdict = compare(desired, current)
        action = NONE if verdict == EQUAL else UPDATE
        return Change(ref, action, desired, current, version, unsure=verdict == COVERED)

    def plan_batch(
        self,
        present: Iterable[Mapping[str, Any]],
        absent: Iterable[Mapping[str, Any]] = (),
        prune_owner: str | None = None,
    ) -> list[Change]:
        """Changes for many resources, in the order they must be applied.

        Current state is read with one list request per type and mesh rather
        than one GET per resource. With ``prune_owner``, resources labelled as
        managed by that owner and absent from ``present`` are deleted; a
        managed Mesh is only pruned when nothing else lives in it, since
        deleting a Mesh deletes its contents.
        """
        wanted: dict[Ref, dict[str, Any] | None] = {}
        for resource in present:
            desired = self.normalize(resource)
            self._add_once(wanted, self.ref(desired), desired)
        for resource in absent:
            self._add_once(wanted, self.ref(resource), None)
        existing = self._read_existing({(ref.type, ref.mesh) for ref in wanted})
        if prune_owner is not None:
            managed = self._managed(prune_owner)
            for ref, current in managed.items():
                wanted.setdefault(ref, None)
                existing[ref] = current
            pruned_meshes = [r.name for r in managed if r.type == "Mesh" and wanted[r] is None]
            self._refuse_cascade(pruned_meshes, set(managed))
        changes = [self.plan(ref, desired, existing.get(ref)) for ref, desired in wanted.items()]
        return order_changes(changes)

    @staticmethod
    def _add_once(
        wanted: dict[Ref, dict[str, Any] | None], ref: Ref, desired: dict[str, Any] | None
    ) -> None:
        if ref in wanted:
            raise MeshError(f"{ref} is given more than once")
        wanted[ref] = desired

    def _read_existing(self, groups: Iterable[tuple[str, str | None]]) -> dict[Ref, dict[str, Any]]:
        existing: dict[Ref, dict[str, Any]] = {}
        for type_name, mesh in groups:
            for item in self.client.list_resources(self.rtype(type_name), mesh):
                existing[Ref(type_name, mesh, item["name"])] = item
        return existing

    def _managed(self, owner: str) -> dict[Ref, dict[str, Any]]:
        """Every resource labelled as managed by ``owner``, in any mesh."""
        selector = {MANAGED_LABEL: owner}
        types = self.client.types().values()
        meshes = self.client.mesh_names()
        managed: dict[Ref, dict[str, Any]] = {}
        for rtype in types:
            for mesh in meshes if rtype.mesh_scoped else [None]:
                for item in self.client.list_resources(rtype, mesh, selector):
                    # Filter again: a server that ignores the filter must not make us prune.
                    if (item.get("labels") or {}).get(MANAGED_LABEL) == owner:
                        managed[Ref(rtype.name, mesh, item["name"])] = item
        return managed

    def _refuse_cascade(self, meshes: Iterable[str], managed: set[Ref]) -> None:
        """Fail before pruning a Mesh that holds resources the task does not manage."""
        for mesh in meshes:
            others = [
                Ref(rtype.name, mesh, item["name"])
                for rtype in self.client.types().values()
                if rtype.mesh_scoped
                for item in self.client.list_resources(rtype, mesh)
                if Ref(rtype.name, mesh, item["name"]) not in managed
            ]
            if others:
                shown = ", ".join(str(ref) for ref in others[:5])
                more = f" and {len(others) - 5} more" if len(others) > 5 else ""
                raise MeshError(
                    f"prune would delete Mesh {mesh}, and with it resources this task does "
                    f"not manage: {shown}{more}. Keep the Mesh in the configuration, or "
                    "delete those resources first."
                )

    # -- validation and execution ------------------------------------------

    def confirm(self, changes: Iterable[Change]) -> list[tuple[Ref, MeshApiError]]:
        """Dry-run every planned write: collect rejections, and drop the updates
        that the control plane says would leave the resource unchanged."""
        failures = []
        for change in changes:
            if not change.writes:
                continue
            try:
                response = self.client.put(
                    self.rtype(change.ref.type), change.desired or {}, dry_run=True
                )
            except MeshApiError as err:
                failures.append((change.ref, err))
                continue
            body = response.json()
            outcome = _outcome(body)
            change.stored = _stored_form(body)
            change.warnings = [str(w) for w in body.get("warnings") or []]
            if change.action == UPDATE and (outcome == NONE or (outcome is None and change.unsure)):
                change.action = NONE
        return failures

    def execute(self, change: Change) -> None:
        rtype = self.rtype(change.ref.type)
        if change.writes:
            self.client.put(rtype, change.desired or {}, if_match=change.version)
        elif change.action == DELETE:
            self.client.delete(rtype, change.ref.name, change.ref.mesh, if_match=change.version)

    def apply(self, changes: list[Change], check_mode: bool) -> None:
        """Confirm every write with a dry run, then execute: all of it, or none
        of it when the control plane rejects something.

        ``changes`` is updated in place with what the dry runs found, so after
        this call (with or without check mode) it holds what happened.

        Resources inside a mesh that this run creates can only be validated
        once that mesh exists: the new meshes are created first, and deleted
        again if the rest is rejected. In check mode, resources of a mesh that
        does not exist yet (this run or an earlier task would create it) are
        reported as planned without server-side validation.
        """
        new_meshes = {c.ref.name for c in changes if c.ref.type == "Mesh" and c.action == CREATE}
        unvalidated = new_meshes | (self._missing_meshes(changes) if check_mode else set())
        ready = [c for c in changes if c.ref.mesh not in unvalidated]
        waiting = [c for c in changes if c.ref.mesh in unvalidated]
        failures = self.confirm(ready)
        if failures:
            raise FieldErrors(failures)
        if check_mode:
            return
        done: set[int] = set()
        if any(c.writes for c in waiting):
            mesh_changes = [c for c in ready if c.ref.type == "Mesh" and c.action == CREATE]
            for change in mesh_changes:
                self.execute(change)
                done.add(id(change))
            failures = self.confirm(waiting)
            if failures:
                self._roll_back(mesh_changes)
                raise FieldErrors(failures)
        remaining = [c for c in changes if c.changed and id(c) not in done]
        for index, change in enumerate(remaining):
            try:
                self.execute(change)
            except MeshError as err:
                # A failure past validation (a conflict, a lost connection):
                # say what was written before it and what was not.
                err.details["not_applied"] = [c.result() for c in remaining[index:]]
                raise

    def _missing_meshes(self, changes: list[Change]) -> set[str]:
        meshes = {c.ref.mesh for c in changes if c.writes and c.ref.mesh}
        mesh_type = self.rtype("Mesh")
        return {mesh for mesh in meshes if self.client.get(mesh_type, mesh, None) is None}

    def _roll_back(self, created_meshes: list[Change]) -> None:
        for change in created_meshes:
            self.client.delete(self.rtype("Mesh"), change.ref.name, None)


def order_changes(changes: list[Change]) -> list[Change]:
    """Writes in dependency order, then deletions in the reverse order."""
    writes = sorted((c for c in changes if c.action != DELETE), key=lambda c: c.ref.sort_key())
    deletes = sorted(
        (c for c in changes if c.action == DELETE), key=lambda c: c.ref.sort_key(), reverse=True
    )
    return writes + deletes


def _stored_form(body: Any) -> dict[str, Any] | None:
    """The resource in a write's answer (without the answer's own fields), when given."""
    if not isinstance(body, dict) or "type" not in body or "name" not in body:
        return None
    return strip_read_only({k: v for k, v in body.items() if k not in ("outcome", "warnings")})


def _outcome(body: Any) -> str | None:
    """The ``outcome`` a write answers with (created/updated/unchanged), when given."""
    outcome = body.get("outcome") if isinstance(body, dict) else None
    return outcome if outcome in (CREATE, UPDATE, NONE) else None
