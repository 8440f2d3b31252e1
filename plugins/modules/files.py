#!/usr/bin/python
# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Make directories and write files on the host, all in one task
description:
  - Makes each directory of O(directories) and writes each file of O(files), in order, with
    its owner, group and mode; a directory or file that is already as asked is left alone,
    so that a run that changes nothing reads each once.
  - One task for what would otherwise be one M(ansible.builtin.file),
    M(ansible.builtin.copy) or M(ansible.builtin.template) task (and one run of a module on
    the host, or more) each. A file's content is given, rendered on the controller (for
    instance with the C(ansible.builtin.template) lookup), or read from the controller
    (O(files[].src)).
  - Reports the paths it made or changed; a handler notified by the task runs when any did.
version_added: 0.1.0
author: meshfabric maintainers (@meshfabric)
attributes:
  check_mode:
    description: Writes nothing; reports the directories and files that would change.
    support: full
  diff_mode:
    description: Shows each file before and after, and each directory that would be made.
    support: full
options:
  directories:
    description: Directories to make (with their parents), in order.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: User that owns it.
        type: str
        default: root
      group:
        description: Group that owns it.
        type: str
        default: root
      mode:
        description: Permissions, as an octal string.
        type: str
        default: "0755"
  files:
    description: Files to write, each into a directory that exists or is made before it.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: What the file is to hold, exactly. Give O(files[].content) or O(files[].src).
        type: str
      src:
        description:
          - A file on the controller whose content the file is to hold, found as
            M(ansible.builtin.copy) finds its C(src) (a role's C(files/), the playbook's
            directory, or an absolute path); read by the action plugin on the controller.
          - A directory gives each file in it (not those of its subdirectories), written
            into O(files[].path) as a directory of the same names; list that directory in
            O(directories).
        type: path
      owner:
        description: User that owns it.
        type: str
        default: root
      group:
        description: Group that owns it.
        type: str
        default: root
      mode:
        description: Permissions, as an octal string.
        type: str
        default: "0644"
"""

EXAMPLES = r"""
- name: Write the proxy's directories, the CA it verifies and its Dataplane
  meshfabric.mesh.files:
    directories:
      - {path: /etc/meshfabric/dataplane, owner: meshfabric, group: meshfabric, mode: "0700"}
    files:
      - path: /etc/meshfabric/dataplane/xds-ca.crt
        src: credentials/cp/xds-ca.crt
      - path: /etc/meshfabric/dataplane/dataplane.yaml
        content: "{{ lookup('ansible.builtin.template', 'dataplane.yaml.j2') }}"
  notify: restart meshfabric dataplane

- name: Copy a directory of dashboards from the role's files/
  meshfabric.mesh.files:
    directories: [{path: /var/lib/grafana/dashboards/meshfabric}]
    files: [{path: /var/lib/grafana/dashboards/meshfabric, src: grafana/}]
"""

RETURN = r"""
paths:
  description: The directories and files made or changed (in check mode, that would be), in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/meshfabric/dataplane/dataplane.yaml]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshfabric.mesh.plugins.module_utils.host_files import (
    HostFiles,
    Outcome,
    Ownership,
)


def ownership_spec(mode: str) -> dict[str, dict[str, Any]]:
    return {
        "path": {"type": "path", "required": True},
        "owner": {"type": "str", "default": "root"},
        "group": {"type": "str", "default": "root"},
        "mode": {"type": "str", "default": mode},
    }


def argspec() -> dict[str, dict[str, Any]]:
    directory = ownership_spec("0755")
    file = {**ownership_spec("0644"), "content": {"type": "str"}, "src": {"type": "path"}}
    return {
        "directories": {"type": "list", "elements": "dict", "default": [], "options": directory},
        "files": {"type": "list", "elements": "dict", "default": [], "options": file},
    }


def ownership(item: dict[str, Any]) -> Ownership:
    return Ownership(item["owner"], item["group"], item["mode"])


def run(module: AnsibleModule) -> Outcome:
    # Checked before anything is written: nothing is left half done.
    for index, file in enumerate(module.params["files"]):
        if file["content"] is None:  # a src the action plugin did not read
            module.fail_json(msg=f"files[{index}] ({file['path']}): content or src is required")
    outcome = Outcome()
    files = HostFiles(module, outcome)
    for directory in module.params["directories"]:
        files.directory(directory["path"], ownership(directory))
    for file in module.params["files"]:
        files.content(file["path"], file["content"], ownership(file))
    return outcome


def main() -> None:
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    outcome = run(module)
    module.exit_json(paths=outcome.paths, **outcome.result(module._diff))


if __name__ == "__main__":
    main()
