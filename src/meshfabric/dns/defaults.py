"""The HostnameGenerators a control plane makes when it starts, where Kuma makes them.

- Global: `synced-mesh-multi-zone-service` (`<name>.mzsvc.mesh.local` for every
  MeshMultiZoneService), `synced-universal-mesh-service` (`<name>.svc.<zone>.mesh.local` for
  every MeshService made in a zone) and `synced-mesh-external-service`
  (`<name>.extsvc.mesh.local` for every MeshExternalService made at global). They reach every
  zone over KDS.
- A zone syncing with global: `local-universal-mesh-service` (`<name>.svc.mesh.local` for the
  MeshServices made in this zone) and `local-mesh-external-service` (the same for its
  MeshExternalServices); they go up to global like anything the zone makes.
- A standalone control plane: the two local ones, for every MeshService and
  MeshExternalService (nothing there comes from another zone).

Each is made only when absent: an operator may change one, and one deleted comes back at the
next start (as in Kuma). The selectors differ from Kuma's because a MeshService synced to
another zone keeps `kuma.io/origin: zone` and its `kuma.io/zone` here (Kuma relabels it
`kuma.io/origin: global`), so the local generators also name this zone.
"""

from __future__ import annotations

import logging

from meshfabric.resources import Resource
from meshfabric.resources.origin import ORIGIN_GLOBAL, ORIGIN_LABEL, ORIGIN_ZONE, ZONE_LABEL
from meshfabric.store.errors import Conflict
from meshfabric.store.manager import ResourceManager

log = logging.getLogger(__name__)

_TYPE = "HostnameGenerator"


def default_generators(is_global: bool, zone: str | None) -> list[Resource]:
    """Global's (`is_global`), a federated zone's (`zone` set), or a standalone's."""
    if is_global:
        made_here = {ORIGIN_LABEL: ORIGIN_GLOBAL}
        return [
            _generator(
                "synced-mesh-multi-zone-service",
                "meshMultiZoneService",
                {ORIGIN_LABEL: ORIGIN_GLOBAL},
                "{{ .DisplayName }}.mzsvc.mesh.local",
                made_here,
            ),
            _generator(
                "synced-universal-mesh-service",
                "meshService",
                {ORIGIN_LABEL: ORIGIN_ZONE},
                "{{ .DisplayName }}.svc.{{ .Zone }}.mesh.local",
                made_here,
            ),
            _generator(
                "synced-mesh-external-service",
                "meshExternalService",
                {ORIGIN_LABEL: ORIGIN_GLOBAL},
                "{{ .DisplayName }}.extsvc.mesh.local",
                made_here,
            ),
        ]
    local = {ORIGIN_LABEL: ORIGIN_ZONE, ZONE_LABEL: zone} if zone else {}
    return [
        _generator(
            "local-universal-mesh-service",
            "meshService",
            local,
            "{{ .DisplayName }}.svc.mesh.local",
            local,
        ),
        _generator(
            "local-mesh-external-service",
            "meshExternalService",
            local,
            "{{ .DisplayName }}.extsvc.mesh.local",
            local,
        ),
    ]


async def ensure_default_generators(manager: ResourceManager, generators: list[Resource]) -> None:
    for generator in generators:
        if await manager.store.get(generator.key) is not None:
            continue
        try:
            await manager.apply(generator, expected_version=0)
        except Conflict:  # another replica on the same database made it first
            continue
        log.info("created the default HostnameGenerator %s", generator.name)


def _generator(
    name: str, kind: str, match: dict[str, str], template: str, labels: dict[str, str]
) -> Resource:
    spec = {"selector": {kind: {"matchLabels": match}}, "template": template}
    return Resource(_TYPE, "", name, spec, dict(labels))
