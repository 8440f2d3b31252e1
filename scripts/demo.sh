#!/usr/bin/env bash
# The Kong Air demo: a standalone control plane on this machine, Kong Air's mesh applied
# with meshctl, read back, changed with a dry run first, and stopped cleanly; then two
# Kong Air services talking through their sidecars over mTLS; then global and two zones in
# the local lab, deployed with the collection's site.yml over SSH and synced over KDS, with
# flight-control failing over from us-east-1 to eu-west-1 under load and back, then where
# to look: Prometheus, one cross-zone request's trace and its access-log lines
# (scripts/demo/).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d -t meshfabric-demo-XXXX)
export MESHCTL_CONFIG="$work/meshctl.yaml"
cp_pid=""

cleanup() {
  if [ -n "$cp_pid" ] && kill -0 "$cp_pid" 2>/dev/null; then
    kill -TERM "$cp_pid"
    wait "$cp_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

step "Start a standalone control plane (SQLite in $work)"
api_port=$(free_port)
MESHFABRIC_LOG__FORMAT=text meshfabric-cp run --data-dir "$work/cp" \
  --api-address 127.0.0.1 --api-port "$api_port" --api-https-port 0 --diagnostics-port 0 --xds-port 0 \
  >"$work/cp.log" 2>&1 &  # no proxies in this part: xDS on any free port
cp_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$api_port/" >/dev/null && break
  kill -0 "$cp_pid" 2>/dev/null || { cat "$work/cp.log"; exit 1; }
  sleep 0.1
done
show curl -s "http://127.0.0.1:$api_port/"
echo
echo "The admin token was written to $work/cp/admin-token"

step "Point meshctl at it"
show meshctl config control-planes add --name demo --address "http://127.0.0.1:$api_port" \
  --auth-token-file "$work/cp/admin-token"

step "Apply Kong Air's mesh, services and policies"
show meshctl apply -f examples/kong-air/

step "Read them back"
show meshctl get meshes
show meshctl get meshservices
show meshctl get meshtrafficpermissions
show meshctl inspect meshes

step "A typo is refused with the field path, and nothing is applied"
sed 's/action: Allow/action: Alow/' examples/kong-air/20-policies.yaml >"$work/typo.yaml"
show meshctl apply -f "$work/typo.yaml" || true

step "Plan a change first: the dry run shows the diff and writes nothing"
sed 's/requestTimeout: 5s/requestTimeout: 3s/' examples/kong-air/20-policies.yaml >"$work/change.yaml"
show meshctl apply --dry-run -f "$work/change.yaml"
show meshctl apply -f "$work/change.yaml"

step "Ansible: apply Kong Air with meshfabric.mesh.resources, then again: nothing changes"
show scripts/demo-ansible.sh "http://127.0.0.1:$api_port" "$work/cp/admin-token" examples/kong-air

step "Stop the control plane"
kill -TERM "$cp_pid"
wait "$cp_pid" || true
cp_pid=""
echo "stopped; the demo leaves nothing running"

step "Two Kong Air services behind sidecars: mTLS, a denied call, a permission, success"
scripts/demo/mtls-sidecars.sh

step "Kong Air in three zones of the local lab: KDS sync, then flight-control failing over"
python3 scripts/demo/multizone.py
