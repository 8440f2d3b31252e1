"""How a resource is named and labelled once it leaves the zone that made it (Kuma's scheme).

A resource synced from a zone to global is renamed `<name>-<hash>`, the hash covering its
mesh, name, zone and namespace, so that the same name made in two zones never collides at
global; its labels keep the original name and say where it came from.
"""

from __future__ import annotations

from meshfabric.resources.origin import DISPLAY_NAME_LABEL as DISPLAY_NAME_LABEL
from meshfabric.resources.origin import ORIGIN_GLOBAL as ORIGIN_GLOBAL
from meshfabric.resources.origin import ORIGIN_LABEL as ORIGIN_LABEL
from meshfabric.resources.origin import ORIGIN_ZONE as ORIGIN_ZONE
from meshfabric.resources.origin import ZONE_LABEL as ZONE_LABEL
from meshfabric.resources.origin import synced_to_zone as synced_to_zone

_FNV64_OFFSET = 0xCBF29CE484222325
_FNV64_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
# Kubernetes' "safe" alphabet: no vowels, so a hash never spells a word.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# The suffixed name still fits a Kubernetes object name (253 characters).
_NAME_LIMIT = 253
_SUFFIX_LENGTH = 1 + 16


def fnv64a(parts: tuple[str, ...]) -> int:
    """FNV-1a, 64 bits, over the UTF-8 bytes of the parts written one after another."""
    value = _FNV64_OFFSET
    for part in parts:
        for byte in part.encode():
            value = ((value ^ byte) * _FNV64_PRIME) & _MASK64
    return value


def hash_suffix(mesh: str, name: str, zone: str = "", namespace: str = "") -> str:
    """Kuma's 16-character suffix: the hash's hex digits mapped onto the safe alphabet."""
    digits = fnv64a((mesh, name, zone, namespace)).to_bytes(8, "big").hex()
    return "".join(_SAFE_ALPHABET[ord(digit) % len(_SAFE_ALPHABET)] for digit in digits)


def hashed_name(mesh: str, name: str, zone: str = "", namespace: str = "") -> str:
    """`name-<suffix>`, the name shortened first if the result would exceed 253 characters."""
    kept = name[: _NAME_LIMIT - _SUFFIX_LENGTH]
    return f"{kept}-{hash_suffix(mesh, name, zone, namespace)}"


def zone_labels(labels: dict[str, str], zone: str, display_name: str) -> dict[str, str]:
    """The labels of a zone's resource as global keeps it: its own plus where it came from."""
    return {
        **labels,
        ORIGIN_LABEL: ORIGIN_ZONE,
        ZONE_LABEL: zone,
        DISPLAY_NAME_LABEL: display_name,
    }


def global_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels of a resource made at global as the zones receive it."""
    return {**labels, ORIGIN_LABEL: ORIGIN_GLOBAL}


def made_in_zone(labels: dict[str, str], zone: str) -> bool:
    """Whether a resource held at global came from this zone."""
    return labels.get(ORIGIN_LABEL) == ORIGIN_ZONE and labels.get(ZONE_LABEL) == zone
