"""Which of Envoy's stats a MeshMetric keeps: its profiles and include rules, written as the
one RE2 expression Envoy's admin `/stats/prometheus?filter=` takes.

Envoy matches that expression against its own stat names (`cluster.backend.upstream_rq_time`),
before it turns them into Prometheus names (`envoy_cluster_upstream_rq_time`): so do the
rules here. Kuma's Basic profile is the same list of terms spelled that way. One expression
can add stats but cannot take any away: `exclude` rules are not applied (see
docs/differences-from-kuma.md).
"""

from __future__ import annotations

import re

from meshfabric.policies.meshmetric.api import Selector, Sidecar

# Kuma's Basic profile (golden signals, its dashboards, DNS), on Envoy's stat names.
BASIC_CONTAINS = (
    "rq_time", "cx_length_ms", "cx_count", "_rq", "bytes", "timeout", "health_check",
    "lb_healthy_panic", "cx_destroy", "membership_degraded", "membership_healthy",
    "membership_total", "error", "fail", "reset", "eject", "overflow", "cancelled",
    "max_duration_reached", "no_cluster", "no_route", "no_filter_chain", "reject", "denied",
    "days_until_first_cert_expiring", "rbac", "cx_active", "cx_connect", "circuit_breakers",
    "cx_total", "ssl.handshake", "ssl_context_update_by_sds",
)  # fmt: skip
BASIC_PREFIXES = ("server.", "control_plane.", "dns_filter", "dns.cares")
NOTHING = "^$"  # no stat has an empty name


def stats_filter(sidecar: Sidecar | None) -> str | None:
    """The filter expression for the sidecar settings; None when every stat is kept."""
    profiles = sidecar.profiles if sidecar else None
    names = {profile.name for profile in (profiles.appendProfiles or [])} if profiles else set()
    if "All" in names:
        return None
    terms = []
    if not names or "Basic" in names:  # Basic unless the policy names profiles
        terms += [re.escape(term) for term in BASIC_CONTAINS]
        terms += ["^" + re.escape(prefix) for prefix in BASIC_PREFIXES]
    terms += [_term(selector) for selector in (profiles.include or [] if profiles else [])]
    return "|".join(terms) if terms else NOTHING


def _term(selector: Selector) -> str:
    match = selector.match
    if selector.type == "Regex":
        return f"(?:{match})"
    if selector.type == "Prefix":
        return "^" + re.escape(match)
    if selector.type == "Exact":
        return f"^{re.escape(match)}$"
    return re.escape(match)  # Contains
