# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""meshfabric.mesh.files on the controller: each file given by `src` is read here, found as
ansible.builtin.copy finds its src (a role's files/, the playbook's directory, or an absolute
path), and sent to the module as its content; a directory `src` gives each file in it."""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        arguments = dict(self._task.args)
        try:
            files = arguments.get("files") or []
            arguments["files"] = [read for entry in files for read in self._with_content(entry)]
        except (AnsibleError, OSError, UnicodeDecodeError) as error:
            return {**result, "failed": True, "msg": f"files: {error}"}
        result.update(
            self._execute_module(
                module_name="meshfabric.mesh.files", module_args=arguments, task_vars=task_vars
            )
        )
        return result

    def _with_content(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        if not isinstance(entry, dict) or entry.get("src") is None:
            return [entry]
        if "content" in entry:
            raise AnsibleError(f"{entry.get('path')}: give content or src, not both")
        rest = {key: value for key, value in entry.items() if key != "src"}
        source = self._find_needle("files", entry["src"])
        if not os.path.isdir(source):
            return [{**rest, "content": _read(source)}]
        names = sorted(n for n in os.listdir(source) if os.path.isfile(os.path.join(source, n)))
        return [
            {**rest, "path": os.path.join(str(entry["path"]), name),
             "content": _read(os.path.join(source, name))}
            for name in names
        ]  # fmt: skip


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as stream:
        return stream.read()
