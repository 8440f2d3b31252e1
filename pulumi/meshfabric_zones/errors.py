"""Configuration errors that name the offending key, e.g. `zones[1].kind`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails


class ConfigError(ValueError):
    """The stack configuration is invalid; each problem starts with its key path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(self.problems))


def key_path(location: Iterable[str | int]) -> str:
    """Render a pydantic location as the key a user sees in the stack config."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _describe(error: ErrorDetails) -> str:
    # pydantic's wording is written for programmers; these are the messages a
    # user editing Pulumi.<stack>.yaml needs.
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known setting"
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        return "must be one of " + expected.replace("'", "").replace(" or ", ", ")
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def config_error_from(error: ValidationError, prefix: Sequence[str | int] = ()) -> ConfigError:
    """Turn a pydantic ValidationError into a ConfigError with stack-config key paths."""
    return ConfigError(
        [f"{key_path([*prefix, *item['loc']])}: {_describe(item)}" for item in error.errors()]
    )
