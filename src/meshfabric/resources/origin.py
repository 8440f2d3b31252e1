"""The labels that say where a synced resource was made (Kuma's), read by KDS and xDS."""

from __future__ import annotations

ORIGIN_LABEL = "kuma.io/origin"
ZONE_LABEL = "kuma.io/zone"
DISPLAY_NAME_LABEL = "kuma.io/display-name"
ORIGIN_GLOBAL = "global"
ORIGIN_ZONE = "zone"
