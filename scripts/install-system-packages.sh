#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real (a fresh machine has none
# of them running). Idempotent: packages already present are left alone.
set -euo pipefail

PACKAGES=(
  postgresql  # the PostgreSQL store backend, started by the tests
  curl        # the demo shows raw API answers and calls services through their sidecars
  iproute2    # meshfabric-lab: `ip netns exec` runs programs inside the lab's hosts
  nftables    # meshfabric-lab: the firewall of each zone's router; meshfabric-dp --redirect-dns
  openssh-server  # meshfabric-lab: sshd in every lab host, so Ansible reaches it over SSH
  netcat-openbsd  # meshfabric-lab: nc is the ssh ProxyCommand into a lab host's namespace
  supervisor  # the collection's roles run services with it on hosts without systemd (the lab's)
  prometheus  # telemetry tests: a real Prometheus scrapes proxies through the discovery endpoint
  wrk         # bench/cross_zone_bench.py: the fixed-connection HTTP load through each path
  valgrind    # bench/telemetry_instructions.py: counts Envoy's instructions per request
  rsyslog     # telemetry tests: the central sink that MeshAccessLog Tcp lines from both zones reach
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or install them first)" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
