# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Directories and files on the host, changed only when they differ from what is asked, with
what changed (or, in check mode, would change) recorded as a diff."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ansible.module_utils.basic import AnsibleModule


@dataclass(frozen=True)
class Ownership:
    owner: str = "root"
    group: str = "root"
    mode: str = "0644"


ROOT_FILE = Ownership()
ROOT_DIRECTORY = Ownership(mode="0755")


@dataclass
class Outcome:
    """What a run changed (or, in check mode, would change)."""

    changed: bool = False
    commands: list[str] = field(default_factory=list)  # the service manager's, in order
    diff: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # each path made or changed, in order

    def result(self, with_diff: bool) -> dict[str, Any]:
        """`changed`, and the `diff` if asked for: what every module using this returns."""
        result: dict[str, Any] = {"changed": self.changed}
        if with_diff:
            result["diff"] = self.diff
        return result

    def mark(self, path: str) -> None:
        self.changed = True
        if path not in self.paths:
            self.paths.append(path)


class HostFiles:
    """Files and directories, changed only when they differ."""

    def __init__(self, module: AnsibleModule, outcome: Outcome) -> None:
        self.module = module
        self.outcome = outcome

    def directory(self, path: str, ownership: Ownership = ROOT_DIRECTORY) -> None:
        if not os.path.isdir(path):
            self.outcome.diff.append(
                {"before_header": path, "after_header": path,
                 "before": "state: absent\n", "after": "state: directory\n"}
            )  # fmt: skip
            self.outcome.mark(path)
            if self.module.check_mode:
                return
            os.makedirs(path, exist_ok=True)
        self._attributes(path, ownership)

    def content(self, path: str, content: str, ownership: Ownership = ROOT_FILE) -> bool:
        """Write `content` to `path` unless it holds it; whether the content changed."""
        before = read_text(path)
        if before != content:
            self.outcome.diff.append(
                {"before_header": path, "after_header": path,
                 "before": before or "", "after": content}
            )  # fmt: skip
            self.outcome.mark(path)
            if not self.module.check_mode:
                self._write(path, content)
        if before is not None or not self.module.check_mode:
            self._attributes(path, ownership)
        return before != content

    def _write(self, path: str, content: str) -> None:
        descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".meshfabric-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(content)
        self.module.atomic_move(temporary, path)

    def _attributes(self, path: str, ownership: Ownership) -> None:
        arguments = {"path": path, "owner": ownership.owner, "group": ownership.group,
                     "mode": ownership.mode}  # fmt: skip
        attributes = self.module.load_file_common_arguments(arguments)
        if self.module.set_fs_attributes_if_different(attributes, False):
            self.outcome.mark(path)


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        return None
