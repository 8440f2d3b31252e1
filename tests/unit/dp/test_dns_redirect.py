"""meshfabric-dp --redirect-dns: what it asks of the DNS listener, and the rule it installs."""

from __future__ import annotations

from typer.testing import CliRunner

from meshfabric.dp.cli import app
from meshfabric.dp.dns_redirect import ruleset

BASE = ["run", "--name", "web-1", "--mesh", "default", "--address", "10.10.1.14"]
TOKEN = ["--dataplane-token", "x", "--cp-address", "unix:///nonexistent.sock"]


def test_a_redirect_needs_a_dns_listener_on_the_loopback_it_lands_on() -> None:
    for dns in ([], ["--dns-address", "10.10.1.14:15053"]):
        result = CliRunner().invoke(app, [*BASE, *TOKEN, *dns, "--redirect-dns"])
        assert result.exit_code == 2
        assert "--redirect-dns sends the host's DNS queries to 127.0.0.1" in result.stderr


def test_the_rule_redirects_udp_queries_only_so_the_listeners_tcp_lookups_pass() -> None:
    rules = ruleset(15053)
    assert "udp dport 53 redirect to :15053" in rules
    assert "tcp" not in rules
    # Replaced whole in one transaction, whether or not a sidecar here made it before.
    assert rules.startswith("add table ip meshfabric_dp_dns\ndelete table ip meshfabric_dp_dns\n")
