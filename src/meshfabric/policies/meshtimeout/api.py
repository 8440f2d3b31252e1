"""MeshTimeout: connection, idle and HTTP timeouts, so that no request hangs forever."""

from __future__ import annotations

from collections.abc import Sequence

from meshfabric.resources.common import (
    Duration,
    MatchedRuleItem,
    PolicySpec,
    PositiveDuration,
    Strict,
    TargetRefRules,
    confs,
    match_violations,
)
from meshfabric.resources.errors import Violation
from meshfabric.resources.model import policy_type


class Http(Strict):
    requestTimeout: Duration | None = None
    streamIdleTimeout: Duration | None = None
    maxStreamDuration: Duration | None = None
    maxConnectionDuration: Duration | None = None
    requestHeadersTimeout: Duration | None = None


class Conf(Strict):
    # Zero would mean "never connect": only idle and HTTP timeouts can be switched off with 0.
    connectionTimeout: PositiveDuration | None = None
    idleTimeout: Duration | None = None
    http: Http | None = None


class Spec(PolicySpec[Conf]):
    rules: Sequence[MatchedRuleItem[Conf]] | None = None


_GATEWAY_OR_ROUTE = ("MeshGateway", "MeshHTTPRoute")
_ROUTE_ONLY = "can't be specified when top-level TargetRef is referencing MeshHTTPRoute"
_PER_SOURCE = (
    "can't be specified when matches contain spiffeID "
    "because this field cannot be conditioned on source identity"
)


def _conf_violations(spec: Spec) -> list[Violation]:
    top_kind = spec.targetRef.kind if spec.targetRef is not None else "Mesh"
    violations = []
    for path, item, conf in confs(spec):
        if top_kind in _GATEWAY_OR_ROUTE and path.startswith("from"):
            continue  # `from` itself is refused: Kuma does not look into its entries
        http = conf.http
        if conf.connectionTimeout is None and conf.idleTimeout is None and http is None:
            violations.append(Violation(path, "at least one timeout should be configured"))
            continue
        if top_kind == "MeshHTTPRoute":
            violations += _set_fields(path, conf, _ROUTE_ONLY, "connectionTimeout", "idleTimeout")
            violations += _set_fields(
                f"{path}.http", http, _ROUTE_ONLY, "maxStreamDuration", "maxConnectionDuration"
            )
        # requestHeadersTimeout alone does not count: Kuma asks for one of the other four.
        if (
            http is not None
            and not any((http.requestTimeout, http.streamIdleTimeout, http.maxStreamDuration))
            and not http.maxConnectionDuration
        ):
            reason = "at least one timeout in this section should be configured"
            violations.append(Violation(f"{path}.http", reason))
        matches = getattr(item, "matches", None) or []
        rule_path = path.removesuffix(".default")
        for index, match in enumerate(matches):
            violations += match_violations(f"{rule_path}.matches[{index}]", match)
        if any(match.spiffeID is not None for match in matches):
            # Envoy applies these before the client's identity is known.
            violations += _set_fields(path, conf, _PER_SOURCE, "connectionTimeout", "idleTimeout")
            violations += _set_fields(
                f"{path}.http",
                http,
                _PER_SOURCE,
                "requestHeadersTimeout",
                "maxStreamDuration",
                "maxConnectionDuration",
            )
    return violations


def _set_fields(path: str, model: Strict | None, reason: str, *names: str) -> list[Violation]:
    if model is None:
        return []
    return [Violation(f"{path}.{name}", reason) for name in names if getattr(model, name)]


TYPE = policy_type(
    name="MeshTimeout",
    plural="meshtimeouts",
    short_name="mt",
    schema=Spec,
    semantic_checks=(
        TargetRefRules(
            top=(
                "Mesh",
                "MeshSubset",
                "Dataplane",
                "MeshGateway",
                "MeshService",
                "MeshServiceSubset",
                "MeshHTTPRoute",
            ),
            from_=("Mesh",),
            to=(
                "Mesh",
                "MeshService",
                "MeshExternalService",
                "MeshMultiZoneService",
                "MeshHTTPRoute",
            ),
            from_by_top=dict.fromkeys(_GATEWAY_OR_ROUTE, ()),
            to_by_top=dict.fromkeys(_GATEWAY_OR_ROUTE, ("Mesh", "MeshExternalService")),
            needs_section=True,
        ),
        _conf_violations,
    ),
)
