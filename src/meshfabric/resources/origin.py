"""The labels that say where a synced resource was made (Kuma's), read by KDS and xDS."""

from __future__ import annotations

ORIGIN_LABEL = "kuma.io/origin"
ZONE_LABEL = "kuma.io/zone"
DISPLAY_NAME_LABEL = "kuma.io/display-name"
ORIGIN_GLOBAL = "global"
ORIGIN_ZONE = "zone"


def synced_to_zone(labels: dict[str, str], zone: str) -> bool:
    """Whether a resource held in this zone arrived from global (made there or in another zone)."""
    origin = labels.get(ORIGIN_LABEL)
    return origin == ORIGIN_GLOBAL or (origin == ORIGIN_ZONE and labels.get(ZONE_LABEL) != zone)
