# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Errors raised by module_utils; only the runner turns them into fail_json."""

from __future__ import annotations

from typing import Any


class MeshError(Exception):
    """A failure the user can act on; ``details`` goes into the task result."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class MeshApiError(MeshError):
    """The control plane answered with an error document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        invalid_parameters: list[dict[str, str]] | None = None,
        request: str = "",
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_parameters = invalid_parameters or []
        fields = "; ".join(
            f"{p.get('field', '?')}: {p.get('reason', '?')}" for p in self.invalid_parameters
        )
        text = ": ".join(part for part in (title, detail, fields) if part)
        prefix = f"{request} -> " if request else ""
        super().__init__(
            f"{prefix}HTTP {status}: {text}",
            status=status,
            invalid_parameters=self.invalid_parameters,
        )


class MeshTimeoutError(MeshError):
    """A wait condition did not hold within wait_timeout."""
