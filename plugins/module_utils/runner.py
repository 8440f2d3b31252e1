# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module wiring: building the AnsibleModule, turning errors into fail_json,
and the apply-one-resource flow shared by several modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
    AUTH_MUTUALLY_EXCLUSIVE,
    merge_specs,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.client import MeshClient
from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError
from ansible_collections.meshfabric.mesh.plugins.module_utils.service import (
    Change,
    Ref,
    ResourceService,
    strip_read_only,
)
from ansible_collections.meshfabric.mesh.plugins.module_utils.waiter import (
    condition_holds,
    wait_for,
)

Handler = Callable[[AnsibleModule, ResourceService], dict[str, Any]]


def build_module(argument_spec: dict[str, dict[str, Any]], **kwargs: Any) -> AnsibleModule:
    """An AnsibleModule with the shared auth options; every module supports check mode."""
    kwargs["mutually_exclusive"] = AUTH_MUTUALLY_EXCLUSIVE + kwargs.get("mutually_exclusive", [])
    return AnsibleModule(
        argument_spec=merge_specs(AUTH_ARG_SPEC, argument_spec),
        supports_check_mode=True,
        **kwargs,
    )


def run_module(module: AnsibleModule, handler: Handler) -> None:
    """Run ``handler`` and exit; a MeshError becomes a failed task with its details."""
    try:
        service = ResourceService(MeshClient.from_params(module.params))
        result = handler(module, service)
    except MeshError as err:
        module.fail_json(msg=err.msg, **err.details)
    else:
        module.exit_json(**result)


def should_wait(module: AnsibleModule) -> bool:
    return bool(module.params.get("wait")) and not module.check_mode


def apply_resource(
    module: AnsibleModule,
    service: ResourceService,
    ref: Ref,
    desired: dict[str, Any] | None,
) -> tuple[Change, dict[str, Any]]:
    """Bring one resource to ``desired`` (None: absent) and build the task result.

    The result's ``resource`` is what the control plane stores afterwards (in
    check mode: what it would store).
    """
    fetched = service.fetch(ref)
    current, version = fetched if fetched else (None, None)
    change = service.plan(ref, desired, current, version)
    service.apply([change], module.check_mode)
    warn_of_caveats(module, [change])
    result: dict[str, Any] = {"changed": change.changed, "result": change.action}
    result["resource"] = _resource_after(service, change, module.check_mode)
    if module._diff:
        result["diff"] = change.diff()
    return change, result


def warn_of_caveats(module: AnsibleModule, changes: list[Change]) -> None:
    """Pass on what the control plane said it stores but no proxy acts on yet."""
    for change in changes:
        for warning in change.warnings:
            module.warn(f"{change.ref}: {warning}")


def _resource_after(
    service: ResourceService, change: Change, check_mode: bool
) -> dict[str, Any] | None:
    if check_mode or not change.writes:
        return change.after()
    fetched = service.fetch(change.ref)
    return strip_read_only(fetched[0]) if fetched else None


def wait_for_resource(
    service: ResourceService,
    ref: Ref,
    present: bool,
    timeout: float,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Wait until ``ref`` exists (and ``condition`` holds) or is gone; the last read."""

    def check() -> Any:
        fetched = service.fetch(ref)
        if not present:
            return fetched is None
        if fetched is None or (condition and not condition_holds(fetched[0], condition)):
            return None
        return fetched[0]

    what = f"{ref} to {'exist' if present else 'be deleted'}"
    if condition:
        what += f" with {dict(condition)}"
    found = wait_for(check, timeout, what)
    return strip_read_only(found) if isinstance(found, dict) else None
