"""Turning schema errors into Kuma-style field paths and reasons."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class Violation:
    field: str
    reason: str


def field_path(loc: tuple[int | str, ...]) -> str:
    """('from', 0, 'targetRef', 'kind') -> 'from[0].targetRef.kind'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _is_pydantic_branch_tag(part):
            path += f".{part}" if path else part
    return path


def violations_from_pydantic(exc: ValidationError, prefix: str = "") -> list[Violation]:
    seen: set[tuple[str, str]] = set()
    violations = []
    for error in exc.errors(include_url=False):
        item = (prefix + field_path(error["loc"]), reason(error))
        if item not in seen:
            seen.add(item)
            violations.append(Violation(*item))
    return violations


def reason(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "must be defined"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {expected}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"][0].lower() + error["msg"][1:]


def _is_pydantic_branch_tag(part: str) -> bool:
    # Unions and constrained types add their own names to the location; Kuma's paths
    # only name the user's fields.
    return part.startswith(("function-", "constrained-", "union[", "tagged-union[")) or part in {
        "str",
        "int",
        "bool",
        "float",
        "list[str]",
    }
