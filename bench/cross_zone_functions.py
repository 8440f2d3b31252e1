"""What each function a generated sidecar adds costs per request, on the hand-written path.

The hand-written path through an ingress of `bench/cross_zone_baseline.py` (client Envoy,
SNI passthrough, server Envoy, application) runs as written and in variants that add the
functions the mesh's generated config has, built by the same code that generates them
(`xds/generate/failover.py`, the MeshTrafficPermission plugin) and written into the static
config as JSON: the outbound route's retry policy, the cluster's outlier detection, its
retry budget, the load assignment's priorities (an empty priority 0, the ingress at
priority 1, as for a service of another zone), the inbound's HTTP RBAC (deny all in the
listener, the rules on the route), the caller's certificate forwarded to the application
(XFCC). `--set one` adds them one at a time (and all at once), with the plain path twice as
a control of the noise; `--set all-but-one` takes all of them and leaves one out or replaces
it (retries on failures only, RBAC rules in the listener as Kuma has them) or adds one more
saving (no x-request-id made up); `--set retries` takes the retry policy apart; `--set
cheaper` compares what the generator now does.
Every variant has its own Envoys; the application is shared. Rounds go over every variant
in turn (each round starting one further), and each ratio to the plain path is the median
of per-round ratios. CPU is the user and system time per request answered, read from /proc
around each run: of the client Envoy, of the server Envoy, and of all three Envoys plus the
application; on a shared machine it varies less than requests/s.

    python -m bench.cross_zone_functions --set one --rounds 8 --seconds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from envoy.config.cluster.v3.cluster_pb2 import Cluster
from envoy.extensions.filters.network.rbac.v3.rbac_pb2 import RBAC as NetworkRbac
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from bench import cross_zone_baseline as baseline
from bench.ansible_resources import free_port
from bench.cross_zone_bench import answering, load, print_load
from bench.cross_zone_mesh import CLIENT, MESH, SERVICE, SNI, Processes, wait_for
from bench.header import print_header
from meshfabric.ca.builtin import RootCa, ensure_root
from meshfabric.dp.envoy import envoy_command
from meshfabric.lab.envoy_admin import is_live
from meshfabric.policies.meshtrafficpermission.plugin import HTTP_RBAC_FILTER, rbac_rules
from meshfabric.policies.meshtrafficpermission.rules import Permissions
from meshfabric.store.sqlite import SqliteStore
from meshfabric.xds.envoy import build as envoy
from meshfabric.xds.generate import failover

Config = dict[str, Any]
Edit = Callable[[Config, Config], None]  # (client, server)
_TICK = os.sysconf("SC_CLK_TCK")
HTTP_RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"


def _json(message: Message) -> Config:
    found: Config = MessageToDict(message, preserving_proto_field_name=True)
    return found


def _hardened_cluster() -> Config:
    cluster = Cluster()
    failover.harden_cluster(cluster)
    return _json(cluster)


_HARDENED = _hardened_cluster()
_RULES = _json(rbac_rules(MESH, Permissions(mesh_allowed=True)))  # the bench's allow-all


def _client_cluster(config: Config) -> Config:
    cluster: Config = config["static_resources"]["clusters"][0]
    return cluster


def _client_route(config: Config) -> Config:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    route: Config = hcm["typed_config"]["route_config"]["virtual_hosts"][0]["routes"][0]
    return route


def _server_chain(config: Config) -> Config:
    chain: Config = config["static_resources"]["listeners"][0]["filter_chains"][0]
    return chain


def _client_hcm(config: Config) -> Config:
    listener = config["static_resources"]["listeners"][0]
    hcm: Config = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def _server_hcm(config: Config) -> Config:
    hcm: Config = _server_chain(config)["filters"][0]["typed_config"]
    return hcm


# Each function edits the client's config and the server's, as the mesh's defaults do.


def retry_policy(client: Config, server: Config) -> None:
    _client_route(client)["route"]["retry_policy"] = _json(failover.retry_policy())


def retry_policy_on_failures_only(client: Config, server: Config) -> None:
    """The retry policy without retrying on the made-up-answer header (retriable-headers)."""
    policy = _json(failover.retry_policy())
    policy["retry_on"] = policy["retry_on"].replace(",retriable-headers", "")
    del policy["retriable_headers"]
    _client_route(client)["route"]["retry_policy"] = policy


def retry_policy_without(field: str) -> Edit:
    """The retry policy without one of its parts (`retry_priority`, `retry_host_predicate`)."""

    def edit(client: Config, server: Config) -> None:
        policy = _json(failover.retry_policy())
        del policy[field]
        _client_route(client)["route"]["retry_policy"] = policy

    return edit


def outlier_detection(client: Config, server: Config) -> None:
    _client_cluster(client)["outlier_detection"] = _HARDENED["outlier_detection"]


def retry_budget(client: Config, server: Config) -> None:
    _client_cluster(client)["circuit_breakers"] = _HARDENED["circuit_breakers"]


def priorities(client: Config, server: Config) -> None:
    assignment = _client_cluster(client)["load_assignment"]
    ingress = assignment["endpoints"][0]
    assignment["endpoints"] = [{"lb_endpoints": []}, {**ingress, "priority": 1}]


def http_rbac(client: Config, server: Config) -> None:
    hcm = _server_hcm(server)
    deny_all = {"@type": HTTP_RBAC, "rules": {}}
    hcm["http_filters"].insert(0, {"name": HTTP_RBAC_FILTER, "typed_config": deny_all})
    per_route = {"@type": HTTP_RBAC + "PerRoute", "rbac": {"rules": _RULES}}
    for virtual_host in hcm["route_config"]["virtual_hosts"]:
        virtual_host["typed_per_filter_config"] = {HTTP_RBAC_FILTER: per_route}


def http_rbac_admitting_the_mesh(client: Config, server: Config) -> None:
    """As `http_rbac`, but the route's override has no rules (nothing enforced): what the
    mesh's plugin generates when its rules admit every identity the mTLS handshake does."""
    http_rbac(client, server)
    per_route = {"@type": HTTP_RBAC + "PerRoute", "rbac": {}}
    for virtual_host in _server_hcm(server)["route_config"]["virtual_hosts"]:
        virtual_host["typed_per_filter_config"] = {HTTP_RBAC_FILTER: per_route}


def http_rbac_in_listener(client: Config, server: Config) -> None:
    """The rules in the listener's filter, no per-route config (as Kuma has them)."""
    rbac = {"@type": HTTP_RBAC, "rules": _RULES}
    _server_hcm(server)["http_filters"].insert(0, {"name": HTTP_RBAC_FILTER, "typed_config": rbac})


def network_rbac(client: Config, server: Config) -> None:
    rules = _json(envoy.pack(NetworkRbac(stat_prefix="inbound_rbac")))
    rules["rules"] = _RULES
    rbac = {"name": "envoy.filters.network.rbac", "typed_config": rules}
    _server_chain(server)["filters"].insert(0, rbac)


def forward_client_cert(client: Config, server: Config) -> None:
    hcm = _server_hcm(server)
    hcm["forward_client_cert_details"] = "SANITIZE_SET"
    hcm["set_current_client_cert_details"] = {"uri": True}


def no_request_id(client: Config, server: Config) -> None:
    """Neither HTTP connection manager makes up an x-request-id (Envoy's default does)."""
    for hcm in (_client_hcm(client), _server_hcm(server)):
        hcm["generate_request_id"] = False


Variant = tuple[Edit, ...]
MESH_DEFAULTS: Variant = (
    retry_policy,
    outlier_detection,
    retry_budget,
    priorities,
    http_rbac,
    forward_client_cert,
)


def _but(left_out: Edit, *instead: Edit) -> Variant:
    return tuple(edit for edit in MESH_DEFAULTS if edit is not left_out) + instead


SETS: dict[str, dict[str, Variant]] = {
    "one": {
        "hand-written": (),
        "hand-written again (control)": (),
        "+ retry policy": (retry_policy,),
        "+ outlier detection": (outlier_detection,),
        "+ retry budget": (retry_budget,),
        "+ priorities (remote at 1)": (priorities,),
        "+ HTTP RBAC (rules per route)": (http_rbac,),
        "+ network RBAC": (network_rbac,),
        "+ XFCC (caller's URI)": (forward_client_cert,),
        "+ all of the mesh's defaults": MESH_DEFAULTS,
    },
    "all-but-one": {
        "hand-written": (),
        "the mesh's defaults": MESH_DEFAULTS,
        "  but no retry policy": _but(retry_policy),
        "  retries on failures only": _but(retry_policy, retry_policy_on_failures_only),
        "  but no outlier detection": _but(outlier_detection),
        "  but no retry budget": _but(retry_budget),
        "  but no priorities": _but(priorities),
        "  but no RBAC": _but(http_rbac),
        "  RBAC rules in the listener": _but(http_rbac, http_rbac_in_listener),
        "  but no XFCC": _but(forward_client_cert),
        "  and no x-request-id made up": (*MESH_DEFAULTS, no_request_id),
    },
    "retries": {
        "hand-written": (),
        "hand-written again (control)": (),
        "+ retry policy": (retry_policy,),
        "  without previous_priorities": (retry_policy_without("retry_priority"),),
        "  without previous_hosts": (retry_policy_without("retry_host_predicate"),),
        "  on failures only": (retry_policy_on_failures_only,),
    },
    "cheaper": {
        "hand-written": (),
        "the mesh's defaults": MESH_DEFAULTS,
        "  RBAC with nothing to enforce": _but(http_rbac, http_rbac_admitting_the_mesh),
        "  and no x-request-id made up": (
            *_but(http_rbac, http_rbac_admitting_the_mesh),
            no_request_id,
        ),
        "  no RBAC, no x-request-id": (*_but(http_rbac), no_request_id),
    },
}


@dataclass(frozen=True)
class Measured:
    rate: float
    p50: float
    client_cpu: float  # seconds per request, the client Envoy's
    server_cpu: float  # the server Envoy's
    cpu: float  # all three Envoys' and the application's


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


class Path3:
    """One variant's client, passthrough and server Envoys in front of the application."""

    def __init__(self, name: str, work: Path, processes: Processes) -> None:
        self.name, self.work, self.processes = name, work, processes
        self.url = ""
        self.pids: list[int] = []

    async def start(self, ca: RootCa, variant: Variant, app_port: int, app_pid: int) -> None:
        server, ingress, listen = free_port(), free_port(), free_port()
        hop = baseline.Hop(listen, ingress)
        configs: dict[str, Config] = {
            "server": baseline.server(ca, SERVICE, server, app_port, self._admin("server")),
            "ingress": baseline.passthrough(SNI, ingress, server, self._admin("ingress")),
            "client": baseline.client(ca, CLIENT, SERVICE, SNI, [hop], self._admin("client")),
        }
        for edit in variant:
            edit(configs["client"], configs["server"])
        for role, config in configs.items():  # the server first: the others dial it
            key = f"{self.name}-{role}"
            path = self.work / f"{key}.json"
            path.write_text(json.dumps(config))
            self.processes.start(key, envoy_command(path, "error"))
            await wait_for(partial(is_live, self._admin(role)), 60, f"{key}'s Envoy")
            self.pids.append(self.processes.started[key].pid)
        self.pids.append(app_pid)
        self.url = f"http://127.0.0.1:{listen}/"

    def _admin(self, role: str) -> Path:
        return self.work / f"{self.name}-{role}.admin"

    async def measure(self, args: argparse.Namespace) -> Measured:
        before = [cpu_seconds([pid]) for pid in self.pids]
        run = await load(self.url, args.connections, args.seconds)
        requests = run.rate * args.seconds
        used = [
            (cpu_seconds([pid]) - was) / requests
            for pid, was in zip(self.pids, before, strict=True)
        ]
        server, _, client, _ = used  # in the order started, the application last
        return Measured(run.rate, run.p50, client, server, sum(used))


_FIELDS = ("rate", "p50", "client_cpu", "server_cpu", "cpu")


def report(results: dict[str, list[Measured]]) -> None:
    plain = results["hand-written"]

    def ratio(runs: list[Measured], field: str) -> float:
        pairs = zip(runs, plain, strict=True)
        return statistics.median(
            float(getattr(run, field) / getattr(base, field)) for run, base in pairs
        )

    def median(runs: list[Measured], field: str) -> float:
        return statistics.median(float(getattr(run, field)) for run in runs)

    print(
        f"{'variant':<32} {'req/s':>8} {'p50 ms':>7}  CPU us/request: {'client':>6} {'server':>6}"
        f" {'all':>6}   ratios to hand-written: req/s, p50, client, server, all CPU"
    )
    for name, runs in results.items():
        ratios = " ".join(f"{ratio(runs, field):.3f}x" for field in _FIELDS)
        cpu = " ".join(f"{median(runs, field) * 1e6:>6.1f}" for field in _FIELDS[2:])
        print(
            f"{name:<32} {median(runs, 'rate'):>8.1f} {median(runs, 'p50') * 1e3:>7.3f}"
            f"  {'':>15} {cpu}   {ratios}",
            flush=True,
        )


async def run(args: argparse.Namespace) -> None:
    variants = SETS[args.set]
    with tempfile.TemporaryDirectory(prefix="mfzf-", dir="/tmp") as directory:
        work = Path(directory)
        processes = Processes(work)
        store = SqliteStore(work / "ca.db")
        try:
            ca = await ensure_root(store, MESH, "ca-1")
            app_port = await processes.app("app", "answer")
            app_pid = processes.started["app"].pid
            paths = {}
            for index, (name, variant) in enumerate(variants.items()):
                paths[name] = Path3(f"v{index}", work, processes)
                await paths[name].start(ca, variant, app_port, app_pid)
                await answering(paths[name].url)
            print(
                f"## The hand-written ingress path, variants {args.set!r}: wrk, "
                f"{args.connections} connections, {args.seconds} s per run, {args.rounds} rounds",
                flush=True,
            )
            results: dict[str, list[Measured]] = {name: [] for name in variants}
            names = list(variants)
            for round_index in range(args.rounds):
                start = round_index % len(names)
                for name in names[start:] + names[:start]:
                    results[name].append(await paths[name].measure(args))
                print_load()
            report(results)
        finally:
            processes.stop_all()
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--set", choices=list(SETS), default="one", help="which variants")
    args = parser.parse_args()
    print_header()
    print_load()
    asyncio.run(run(args))
    print_load()


if __name__ == "__main__":
    main()
