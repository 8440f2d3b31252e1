#!/usr/bin/env bash
# Two Kong Air services behind their sidecars, talking over mTLS: a call is denied until a
# MeshTrafficPermission allows it, then succeeds, nothing restarted.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
step() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }
wait_for() {  # wait_for SECONDS COMMAND...: retry the command until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "gave up waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}

api_port=$(free_port)
api="http://127.0.0.1:$api_port"
step "Start a zone control plane (REST on $api_port, xDS on a Unix socket)"
MESHFABRIC_LOG__FORMAT=text meshfabric-cp run --data-dir "$work/cp" --api-address 127.0.0.1 \
  --api-port "$api_port" --api-https-port 0 --diagnostics-port 0 --xds-port 0 \
  --xds-unix-socket "$work/xds.sock" \
  >"$work/cp.log" 2>&1 &
pids+=($!)
wait_for 30 curl -sf "$api/"
export MESHCTL_CONFIG="$work/meshctl.yaml"
meshctl config control-planes add --name demo --address "$api" \
  --auth-token-file "$work/cp/admin-token" >/dev/null

step "Create the kong-air mesh with the builtin CA: mTLS everywhere, deny by default"
meshctl apply -f - <<'YAML'
type: Mesh
name: kong-air
mtls:
  enabledBackend: ca-1
  backends:
    - name: ca-1
      type: builtin
YAML

flight_app=$(free_port); flight_inbound=$(free_port); booking_outbound=$(free_port)
step "Start flight-control (app on $flight_app) and its sidecar (inbound $flight_inbound)"
python3 scripts/demo/echo_app.py "$flight_app" flight-control &
pids+=($!)
meshctl generate dataplane-token --mesh kong-air --tag kuma.io/service=flight-control \
  >"$work/flight-control.token"
meshfabric-dp run --cp-address "unix://$work/xds.sock" --mesh kong-air --name flight-control-1 \
  --inbound "$flight_inbound:$flight_app:flight-control:http" \
  --dataplane-token-file "$work/flight-control.token" --admin-socket "$work/flight.admin" \
  >"$work/flight-dp.log" 2>&1 &
pids+=($!)

step "Start the booking sidecar, reaching flight-control on 127.0.0.1:$booking_outbound"
meshctl generate dataplane-token --mesh kong-air --tag kuma.io/service=booking >"$work/booking.token"
meshfabric-dp run --cp-address "unix://$work/xds.sock" --mesh kong-air --name booking-1 \
  --inbound "$(free_port):$(free_port):booking:http" --outbound "$booking_outbound:flight-control" \
  --dataplane-token-file "$work/booking.token" --admin-socket "$work/booking.admin" \
  >"$work/booking-dp.log" 2>&1 &
pids+=($!)

call() { curl -s -o "$work/body" -w '%{http_code}' "http://127.0.0.1:$booking_outbound/flights"; }
denied() { [[ $(call) == 403 ]]; }
allowed() { [[ $(call) == 200 ]]; }
wait_for 30 denied
step "booking -> flight-control without a permission:"
echo "HTTP $(call): $(cat "$work/body")"

step "Allow booking to call flight-control (MeshTrafficPermission)"
meshctl apply -f - <<'YAML'
type: MeshTrafficPermission
mesh: kong-air
name: booking-to-flight-control
spec:
  targetRef:
    kind: MeshService
    name: flight-control
  from:
    - targetRef:
        kind: MeshService
        name: booking
      default:
        action: Allow
YAML
wait_for 10 allowed
step "booking -> flight-control again (same processes, no restart):"
echo "HTTP $(call): $(cat "$work/body")"

step "What the control plane generated for flight-control-1"
meshctl inspect dataplane flight-control-1 --mesh kong-air
