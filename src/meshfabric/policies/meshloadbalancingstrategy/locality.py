"""Which locality and EDS priority each endpoint gets under `localityAwareness` (Kuma's rules).

- Nothing set, or `disabled: false` alone: the default, this zone's instances at priority 0
  and the other zones' ingresses at priority 1 (see `xds/model/crosszone.py`).
- `disabled: true` alone: every endpoint at priority 0, whatever its zone.
- `localZone` or `crossZone` set (they win over `disabled`): this zone's instances at
  priority 0, in one locality per affinity tag the client has (weighted 90/9/1 % unless the
  policy gives weights) and one for the rest; another zone's ingress at the priority of the
  first `crossZone.failover` rule that applies to this zone and admits that zone (rule i gives
  priority i + 1, so the rules' order is the failover order); a zone no rule admits is left
  out, and with no rules at all every other zone is. With zoneEgress the endpoints towards
  a zone are this zone's egresses, labelled with that zone: the same rules apply. Envoy
  spills to the next priority once the healthy share of one drops under `failoverThreshold`
  (50 % unless set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from meshfabric.policies.meshloadbalancingstrategy.api import Failover, LocalityAwareness
from meshfabric.resources.common import decimal_of
from meshfabric.xds.model.endpoint import Endpoint

DEFAULT_FAILOVER_THRESHOLD = Decimal(50)  # percent, Kuma's default: overprovisioning factor 200


@dataclass(frozen=True, order=True)
class Locality:
    priority: int
    zone: str
    sub_zone: str = ""  # "key=value" of the affinity tag its endpoints share with the client
    weight: int = 1


@dataclass(frozen=True)
class Affinity:
    """This zone's instances that have the client's value of a tag, and their share."""

    key: str
    value: str
    weight: int


@dataclass(frozen=True)
class ZoneRule:
    """One `crossZone.failover` rule that applies to this zone."""

    type: str  # Any, AnyExcept, Only, None
    zones: frozenset[str]
    priority: int

    def admits(self, zone: str) -> bool:
        if self.type == "Any":
            return True
        if self.type == "AnyExcept":
            return zone not in self.zones
        return self.type == "Only" and zone in self.zones


@dataclass(frozen=True)
class LocalityPlan:
    """How one client's traffic to one destination spreads over zones and localities."""

    local_zone: str
    flat: bool  # locality awareness off: every endpoint at priority 0
    affinities: tuple[Affinity, ...] = ()
    zone_rules: tuple[ZoneRule, ...] = ()
    weighted: bool = False  # affinity tags configured: Envoy weighs this zone's localities
    overprovisioning_factor: int | None = None

    def place(
        self, endpoints: Sequence[Endpoint], tags_of: Callable[[Endpoint], Mapping[str, str]]
    ) -> dict[Locality, list[Endpoint]]:
        """Each endpoint kept, by its locality, lowest priority first."""
        placed: dict[Locality, list[Endpoint]] = {}
        for endpoint in endpoints:
            locality = self._locality(endpoint, tags_of)
            if locality is not None:
                placed.setdefault(locality, []).append(endpoint)
        return dict(sorted(placed.items()))

    def _locality(
        self, endpoint: Endpoint, tags_of: Callable[[Endpoint], Mapping[str, str]]
    ) -> Locality | None:
        if endpoint.zone is None:
            tags = tags_of(endpoint)
            for affinity in self.affinities:
                if tags.get(affinity.key) == affinity.value:
                    sub_zone = f"{affinity.key}={affinity.value}"
                    return Locality(0, self.local_zone, sub_zone, affinity.weight)
            return Locality(0, self.local_zone)
        if self.flat:
            return Locality(0, endpoint.zone)
        rule = next((rule for rule in self.zone_rules if rule.admits(endpoint.zone)), None)
        return None if rule is None else Locality(rule.priority, endpoint.zone)


def plan(
    conf: LocalityAwareness, local_zone: str, client_tag: Callable[[str], str | None]
) -> LocalityPlan | None:
    """The plan for a client in `local_zone` whose tag values `client_tag` gives; None when
    the default (local first, the other zones after) applies."""
    if conf.localZone is None and conf.crossZone is None:
        return LocalityPlan(local_zone, flat=True) if conf.disabled else None
    tags = (conf.localZone.affinityTags if conf.localZone else None) or []
    affinities = []
    for index, tag in enumerate(tags):
        value = client_tag(tag.key)
        if value is not None:
            # Unweighted tags get 90 % of what the ones before them leave: 90, 9, 1 ...
            weight = tag.weight if tag.weight is not None else 9 * 10 ** (len(tags) - index - 1)
            affinities.append(Affinity(tag.key, value, weight))
    cross = conf.crossZone
    rules = (
        [_zone_rule(index, rule, local_zone) for index, rule in enumerate(cross.failover or [])]
        if cross
        else []
    )
    threshold = cross.failoverThreshold if cross else None
    percentage = decimal_of(threshold.percentage) if threshold else None
    return LocalityPlan(
        local_zone,
        flat=False,
        affinities=tuple(affinities),
        zone_rules=tuple(rule for rule in rules if rule is not None),
        weighted=bool(tags),
        overprovisioning_factor=overprovisioning_factor(percentage or DEFAULT_FAILOVER_THRESHOLD),
    )


def overprovisioning_factor(threshold: Decimal) -> int:
    """Envoy sends a priority `healthy % x factor / 100` of the load (at most all of it), so the
    next priority starts to get traffic once the healthy share drops under 10000 / factor %."""
    return round(Decimal(10_000) / threshold)


def _zone_rule(index: int, rule: Failover, local_zone: str) -> ZoneRule | None:
    if rule.from_ is not None and local_zone not in rule.from_.zones:
        return None  # a rule for clients in other zones
    return ZoneRule(rule.to.type, frozenset(rule.to.zones or ()), index + 1)
