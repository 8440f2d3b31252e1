"""YAML as meshctl reads it: safe, strict about duplicates, bounded in what it may expand to.

PyYAML's safe loader builds no objects, but it accepts a mapping with the same key twice
(the last one silently wins) and aliases that multiply: nine levels of nine aliases are a
few hundred bytes that stand for 387 million values, and meshctl would grow until
MemoryError while turning them into JSON. Here a duplicate key is an error naming both
lines, and a document standing for more than MAX_VALUES values is refused before use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from meshfabric.cli.errors import MeshctlError

MAX_BYTES = 16 * 1024 * 1024  # a file of resources; the control plane takes 4 MiB per resource
MAX_VALUES = 1_000_000  # after aliases are expanded, in one document
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *base` may be overridden by the keys written beside it
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                earlier = first_line.setdefault(key, line)
            except TypeError:
                continue  # an unhashable key: the base loader reports it
            if earlier != line:
                raise ConstructorError(
                    None,
                    None,
                    f'duplicate key "{key}" (first on line {earlier})',
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)


def read_text(path: Path) -> str:
    """A file's text, refused (naming the file) when it is too large or not UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise MeshctlError(f"{path}: {size} bytes is more than meshctl reads ({MAX_BYTES})")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise MeshctlError(
            f"{path}: not UTF-8 text (byte {error.start} is 0x{error.object[error.start]:02x}); "
            "save it as UTF-8"
        ) from None
    except OSError as error:
        raise MeshctlError(f"{path}: cannot read it: {error.strerror or error}") from None


def load_all(text: str, label: str) -> list[Any]:
    """Every document in the text; `label` (a file name) starts every error message."""
    try:
        documents = list(yaml.load_all(text, Loader=_StrictLoader))  # a SafeLoader
        sizes = [_values_within(document, MAX_VALUES) for document in documents]
    except yaml.YAMLError as error:
        raise MeshctlError(f"{label}: not valid YAML: {error}") from None
    except RecursionError:
        raise MeshctlError(f"{label}: nested too deeply to be a resource") from None
    for number, left in enumerate(sizes, start=1):
        if left < 0:
            raise MeshctlError(
                f"{label}, document {number}: stands for more than {MAX_VALUES} values once "
                "its aliases (*name) are expanded; write it out, or use fewer aliases"
            )
    return documents


def _values_within(value: Any, budget: int) -> int:
    """What is left of the budget after counting every value as if aliases were copies;
    negative once it runs out (the walk stops there, so an alias bomb costs little)."""
    budget -= 1
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        if budget < 0:
            break
        budget = _values_within(child, budget)
    return budget
