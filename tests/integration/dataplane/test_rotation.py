"""Workload certificates with a short lifetime rotate under traffic without a failed request."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.integration.dataplane.conftest import PairFactory
from tests.integration.dataplane.support import (
    HttpApp,
    Sidecar,
    ZoneControlPlane,
    mtls_mesh,
    permission,
    status_of,
)
from tests.support.net import wait_until

pytestmark = pytest.mark.envoy

LIFETIME_SECONDS = 3  # reissued at 80%: every 2.4 s
TRAFFIC_SECONDS = 8


def serving_certificates(proxy: Sidecar) -> set[str]:
    """Serial numbers of the workload certificates the Envoy holds right now."""
    certs = json.loads(proxy.admin("/certs"))["certificates"]
    return {cert["serial_number"] for entry in certs for cert in entry.get("cert_chain", [])}


def test_certificates_rotate_under_continuous_traffic_without_failures(
    control_plane: ZoneControlPlane, pair: PairFactory
) -> None:
    control_plane.apply(mtls_mesh("default", expiration=f"{LIFETIME_SECONDS}s"))
    control_plane.apply(permission("default", "web-to-backend", "backend", "web"))
    with HttpApp() as backend_app:
        services = pair(backend_app.port, "http")
        wait_until(lambda: status_of(services.url) == 200, 10, "the call to be allowed")

        statuses: list[int] = []
        certificates: set[str] = set()
        deadline = time.monotonic() + TRAFFIC_SECONDS
        with httpx.Client(timeout=2) as pooled:
            while time.monotonic() < deadline:
                # Alternate a kept-alive connection and a fresh one.
                if len(statuses) % 2:
                    statuses.append(pooled.get(services.url).status_code)
                else:
                    statuses.append(httpx.get(services.url, timeout=2).status_code)
                if len(statuses) % 20 == 0:
                    certificates |= serving_certificates(services.client)

    print(f"\n{len(statuses)} requests while {len(certificates)} certificates were served")
    assert [status for status in statuses if status != 200] == []
    assert len(certificates) >= TRAFFIC_SECONDS // LIFETIME_SECONDS + 1
