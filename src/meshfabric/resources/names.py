"""Resource names as Kuma accepts them.

Every name is a lowercase RFC 1123 subdomain of at most 253 characters, so a name can never
hold a path separator, `..`, whitespace or control characters. A Mesh name is stricter, an
RFC 1035 label (at most 63 characters, no dots): it is joined into other names (SNI, secret
and node names), and a dot there would let two meshes spell one name. A few types whose
names become DNS hostnames (Zone, MeshService, ...) are labels as well; for the types that
sync renames between zones, that rule applies to the display name (`kuma.io/display-name`,
else the name), as in Kuma.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from meshfabric.resources.errors import Violation

DISPLAY_NAME_LABEL = "kuma.io/display-name"
SUBDOMAIN_MAX = 253
LABEL_MAX = 63

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN_REASON = (
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case "
    "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
)
_LABEL_REASON = (
    "must be a DNS label (RFC 1035): lower case alphanumeric characters or '-', "
    "starting with a letter and ending with an alphanumeric character, no dots"
)


class NameRule(enum.Enum):
    SUBDOMAIN = "subdomain"  # every type
    LABEL = "label"  # the name itself is also a DNS label (Mesh, Zone)
    DISPLAY_LABEL = "display-label"  # the display name is also a DNS label (MeshService, ...)


def name_violations(
    name: str, rule: NameRule, labels: Mapping[str, str], path: str = "name"
) -> list[Violation]:
    found = _subdomain_violations(name, path)
    if found or rule is NameRule.SUBDOMAIN:
        return found
    if rule is NameRule.DISPLAY_LABEL:
        return label_violations(labels.get(DISPLAY_NAME_LABEL) or name, path)
    return label_violations(name, path)


def mesh_violations(mesh: str) -> list[Violation]:
    """The `mesh` of a mesh-scoped resource: the name of a Mesh."""
    return name_violations(mesh, NameRule.LABEL, {}, "mesh")


def label_violations(value: str, path: str) -> list[Violation]:
    if len(value) > LABEL_MAX:
        return [Violation(path, f"must be at most {LABEL_MAX} characters")]
    if not _LABEL.fullmatch(value):
        return [Violation(path, _LABEL_REASON)]
    return []


def _subdomain_violations(value: str, path: str) -> list[Violation]:
    if not value:
        return [Violation(path, "cannot be empty")]
    if len(value) > SUBDOMAIN_MAX:
        return [Violation(path, f"must be at most {SUBDOMAIN_MAX} characters")]
    if not _SUBDOMAIN.fullmatch(value):
        return [Violation(path, _SUBDOMAIN_REASON)]
    return []
