"""What the API needs to know of the control plane's configuration, and nothing more.

The control plane builds it from its own settings, so the API never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ApiSettings:
    mode: Literal["global", "zone"] = "zone"
    zone: str = "default"  # this zone's name (zone mode)
    federated: bool = False  # a zone that syncs with a global control plane
    max_body_bytes: int = 4 * 1024 * 1024  # larger request bodies are refused with 413
    max_concurrent_per_client: int = 64  # requests in progress per client address; more: 429
    config: Mapping[str, Any] = field(default_factory=dict)  # all of it, as JSON, for /config
