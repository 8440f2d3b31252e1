"""Reading the control-plane configuration file, and saying what is wrong with it the way a
person fixes it: the file, the line, the key, and the keys that are allowed there."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

ENV_PREFIX = "MESHFABRIC_"


class ConfigError(ValueError):
    """One message per problem, each on its own line."""


class ConfigFile:
    """A parsed YAML configuration that remembers the line of every key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text()
        try:
            self._root = yaml.compose(text, Loader=yaml.SafeLoader)
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as problem:
            raise ConfigError(self._describe_yaml(problem)) from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
        self.values: dict[str, Any] = values

    def line_of(self, location: Sequence[int | str]) -> int | None:
        """The 1-based line of the key at `location`, if the file has it."""
        node, line = self._root, None
        for part in location:
            if not isinstance(node, yaml.MappingNode):
                return line
            for key, value in node.value:
                if key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return None
        return line

    def _describe_yaml(self, problem: yaml.YAMLError) -> str:
        mark = getattr(problem, "problem_mark", None)
        reason = getattr(problem, "problem", None) or str(problem)
        if mark is None:
            return f"{self.path}: not valid YAML: {reason}"
        found = f"{self.path}, line {mark.line + 1}, column {mark.column + 1}: {reason}"
        context, start = getattr(problem, "context", None), getattr(problem, "context_mark", None)
        if context and start is not None:  # where the unclosed thing began
            found += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
        return found


def explain(error: ValidationError, model: type[BaseModel], file: ConfigFile | None) -> ConfigError:
    """A message per invalid setting, without pydantic's jargon and links."""
    return ConfigError("\n".join(_describe(item, model, file) for item in error.errors()))


def _describe(item: ErrorDetails, model: type[BaseModel], file: ConfigFile | None) -> str:
    location = [part for part in item["loc"] if isinstance(part, str | int)]
    key = ".".join(str(part) for part in location) or "configuration"
    line = file.line_of(location) if file is not None and location else None
    where = f"{file.path}, line {line}: " if file is not None and line else ""
    variable = ENV_PREFIX + "__".join(str(part).upper() for part in location)
    if not where and variable in os.environ:
        where = f"{variable}: "
    if item["type"] == "extra_forbidden":
        return f"{where}unknown key {key}; {_allowed(model, location[:-1])}"
    message = item["msg"].removeprefix("Value error, ")
    return f"{where}{key}: {message}" if location else f"{where}{message}"


def _allowed(model: type[BaseModel], section: Sequence[int | str]) -> str:
    current: type[BaseModel] = model
    for part in section:
        annotation = current.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return "see the configuration reference"
        current = annotation
    where = "at the top level" if not section else "in " + ".".join(map(str, section))
    return f"the keys allowed {where} are: " + ", ".join(current.model_fields)
