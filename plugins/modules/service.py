#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: Define a long-running program under systemd or supervisord and keep it running
description:
  - Writes the definition of a program, already rendered, and makes sure the program runs, in
    one task. Files are written only when their content differs, and the service manager is
    asked to start, reload or restart only what needs it, so that a run that changes nothing
    asks it one question.
  - Under systemd, writes the unit O(unit_dir)/O(name).service, enables it and starts it;
    after its definition changed, reloads systemd and restarts the unit.
  - Under supervisord, runs one supervisord of its own from O(supervisor_dir), configured by
    O(supervisord_config), with the program in C(conf.d/)O(name).conf and its logs in
    C(log/). Starts supervisord when it does not run and reloads it when its configuration
    changed; adds or restarts the program when its definition changed (C(supervisorctl
    update)) and starts it when it does not run.
  - Runs on the host of the program, as root; the files belong to root.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
attributes:
  check_mode:
    description:
      - Writes nothing and starts nothing; asks the service manager whether the program
        runs, and reports the files that would change and the commands that would run.
    support: full
  diff_mode:
    description: Shows each file before and after, and each directory that would be made.
    support: full
options:
  name:
    description: Unit or program name.
    type: str
    required: true
  manager:
    description: Who runs the program.
    type: str
    choices: [systemd, supervisord]
    required: true
  definition:
    description:
      - The systemd unit, or the supervisord C([program:...]) section, as it is to be written.
    type: str
    required: true
  supervisord_config:
    description:
      - The configuration of the host's supervisord, as it is to be written to
        O(supervisor_dir)/supervisord.conf; it is to include C(conf.d/*.conf).
      - Required with O(manager=supervisord).
    type: str
  supervisor_dir:
    description: Directory of the supervisord instance (configuration, socket, logs).
    type: path
    default: /etc/meshfabric/supervisor
  unit_dir:
    description: Where systemd units are written.
    type: path
    default: /etc/systemd/system
  ready_url:
    description:
      - Once the program runs, the module waits until this answers before it returns (not in
        check mode). An C(http://) URL answers with status 200, a C(tcp://HOST:PORT) by
        accepting a connection. A program that already ran is asked once.
    type: str
  ready_timeout:
    description: Seconds to wait for O(ready_url) before failing.
    type: int
    default: 60
notes:
  - Restarting the program after a change of what it reads (rather than of its definition)
    is left to handlers, as with M(community.general.supervisorctl) or
    M(ansible.builtin.systemd_service).
"""

EXAMPLES = r"""
- name: Run the control plane under supervisord
  meshfabric.mesh.service:
    name: meshfabric-cp
    manager: supervisord
    definition: "{{ lookup('ansible.builtin.template', 'supervisor-program.conf.j2') }}"
    supervisord_config: "{{ lookup('ansible.builtin.template', 'supervisord.conf.j2') }}"
    supervisor_dir: /etc/meshfabric/supervisor

- name: Run the control plane under systemd
  meshfabric.mesh.service:
    name: meshfabric-cp
    manager: systemd
    definition: "{{ lookup('ansible.builtin.template', 'systemd.service.j2') }}"
"""

RETURN = r"""
ready_after:
  description: Seconds it took O(ready_url) to answer.
  returned: with O(ready_url), not in check mode
  type: float
  sample: 0.0
commands:
  description: The service manager's commands run (in check mode, that would run), in order.
  returned: always
  type: list
  elements: str
  sample:
    - /usr/bin/supervisorctl -c /etc/meshfabric/supervisor/supervisord.conf update meshfabric-cp
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.host_files import Outcome
from ansible_collections.meshfabric.mesh.plugins.module_utils.supervision import (
    run_under_supervisord,
    run_under_systemd,
    wait_until_ready,
)


def argspec() -> dict[str, dict[str, Any]]:
    return {
        "name": {"type": "str", "required": True},
        "manager": {"type": "str", "required": True, "choices": ["systemd", "supervisord"]},
        "definition": {"type": "str", "required": True},
        "supervisord_config": {"type": "str"},
        "supervisor_dir": {"type": "path", "default": "/etc/meshfabric/supervisor"},
        "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        "ready_url": {"type": "str"},
        "ready_timeout": {"type": "int", "default": 60},
    }


def run(module: AnsibleModule) -> Outcome:
    params = module.params
    if params["manager"] == "systemd":
        return run_under_systemd(module, params["name"], params["definition"], params["unit_dir"])
    return run_under_supervisord(
        module,
        params["name"],
        params["definition"],
        params["supervisord_config"],
        params["supervisor_dir"],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=argspec(),
        supports_check_mode=True,
        required_if=[("manager", "supervisord", ["supervisord_config"])],
    )
    outcome = run(module)
    result = {"commands": outcome.commands, **outcome.result(module._diff)}
    if module.params["ready_url"] and not module.check_mode:
        result["ready_after"] = round(
            wait_until_ready(module, module.params["ready_url"], module.params["ready_timeout"]), 1
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
