"""Failures meshctl reports as a short message and a non-zero exit code, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class MeshctlError(Exception):
    """Something the user can act on; main() prints `Error: <message>` and exits with 1."""


@dataclass(frozen=True)
class InvalidParameter:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ApiError(MeshctlError):
    """The control plane answered with its error format {status, title, detail, ...}."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        invalid_parameters: tuple[InvalidParameter, ...] = (),
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_parameters = invalid_parameters
        self.hint = hint or _HINTS.get(status)
        super().__init__(self.describe())

    def describe(self, subject: str = "") -> str:
        """`subject: detail`, then one `field: reason` line per invalid parameter."""
        summary = self.detail or self.title
        if self.hint:
            summary = f"{summary} ({self.hint})"
        lines = [f"{subject}: {summary}" if subject else summary]
        lines += [f"  {parameter}" for parameter in self.invalid_parameters]
        return "\n".join(lines)


# Without any context meshctl tries a local control plane with no token: nothing to replace.
NO_CONTEXT_HINTS = {
    401: "no control plane is configured yet: add one with its admin token, "
    "`meshctl config control-planes add --name local --address http://127.0.0.1:5681 "
    "--auth-token-file <data_dir>/admin-token`",
}

# What a person usually does next about each status the API answers with.
_HINTS = {
    401: "the token was not accepted; store a valid one with "
    "`meshctl config control-planes add --overwrite`",
    403: "writes need a token of the group mesh-system:admin",
    409: "it changed since it was read; run the command again",
}
