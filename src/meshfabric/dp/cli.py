"""meshfabric-dp: run one Envoy proxy for one Dataplane."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import typer

from meshfabric.dataplane_api.envoy_admin_pb2 import Hello
from meshfabric.dataplane_api.node import METRICS_CLUSTER, DnsAddress, Features
from meshfabric.dp import dataplane as dataplanes
from meshfabric.dp import egress, ingress
from meshfabric.dp.access_log import access_log_forwarder
from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.dp.background import in_background
from meshfabric.dp.bootstrap import (
    ADS_CLUSTER,
    BootstrapParams,
    XdsProtocol,
    bootstrap,
    write_bootstrap,
)
from meshfabric.dp.dns_redirect import REDIRECTABLE, dns_redirect
from meshfabric.dp.envoy import EnvoySupervisor, envoy_command
from meshfabric.dp.envoy_admin import EnvoyAdmin, EnvoyAdminTunnel
from meshfabric.dp.metrics import metrics_server
from meshfabric.dp.metrics_push import metrics_pushes
from meshfabric.dp.netns import HostChangeFailed
from meshfabric.dp.registration import (
    ControlPlaneClient,
    RegistrationRefused,
    Unreachable,
    UntrustedControlPlane,
)
from meshfabric.dp.vips import vip_routes

log = logging.getLogger("meshfabric.dp")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

app = typer.Typer(
    help="Run an Envoy proxy of the mesh.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ProxyType(enum.StrEnum):
    SIDECAR = "sidecar"
    INGRESS = "ingress"
    EGRESS = "egress"

    @property
    def token_type(self) -> str:
        return "dataplane" if self is ProxyType.SIDECAR else self.value


@app.callback()
def _root() -> None:
    """Keeps `run` a subcommand."""


@app.command()
def run(
    cp_address: Annotated[
        str,
        typer.Option(
            help="xDS address of the zone control plane: https://host:port or grpcs://host:port "
            "(TLS; also the meaning of a bare host:port), unix:///path, or grpc://host:port "
            "(plaintext, needs --insecure); the port defaults to 5678"
        ),
    ],
    ca_cert_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            envvar="MESHFABRIC_DP_CA_CERT_FILE",
            help="CA that signed the control plane's xDS certificate (its <data_dir>/xds-ca.crt "
            "unless it was given one)",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            envvar="MESHFABRIC_DP_INSECURE",
            help="Allow a grpc:// (plaintext TCP) control plane: the token crosses in clear",
        ),
    ] = False,
    dataplane_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Dataplane YAML")
    ] = None,
    dataplane: Annotated[str | None, typer.Option(help="Dataplane YAML, inline")] = None,
    name: Annotated[str | None, typer.Option(help="Dataplane name (overrides the YAML)")] = None,
    mesh: Annotated[str | None, typer.Option(help="Mesh (overrides the YAML)")] = None,
    address: Annotated[str | None, typer.Option(help="The dataplane's address")] = None,
    inbound: Annotated[
        list[str] | None, typer.Option(help="PORT:SERVICE_PORT:SERVICE[:PROTOCOL], repeatable")
    ] = None,
    outbound: Annotated[list[str] | None, typer.Option(help="PORT:SERVICE, repeatable")] = None,
    dataplane_token_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="File with the token")
    ] = None,
    dataplane_token: Annotated[str | None, typer.Option(help="The dataplane token")] = None,
    proxy_type: Annotated[ProxyType, typer.Option(help="sidecar, ingress or egress")] = (
        ProxyType.SIDECAR
    ),
    admin_port: Annotated[int, typer.Option(help="Envoy admin port on 127.0.0.1")] = 9901,
    admin_socket: Annotated[
        Path | None, typer.Option(help="Envoy admin on this Unix socket instead of a port")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where the bootstrap goes (default: a temporary directory)")
    ] = None,
    xds_protocol: Annotated[XdsProtocol, typer.Option(help="delta or sotw")] = XdsProtocol.DELTA,
    envoy_log_level: Annotated[str, typer.Option(help="Envoy's --log-level")] = "warning",
    cp_wait_seconds: Annotated[
        float, typer.Option(help="How long to wait for an unreachable control plane")
    ] = 30,
    dns_address: Annotated[
        str | None,
        typer.Option(help="ADDRESS:PORT where Envoy answers the mesh's hostnames (UDP)"),
    ] = None,
    ingress_port: Annotated[
        int, typer.Option(help="With --proxy-type ingress: the port it listens on")
    ] = ingress.DEFAULT_INGRESS_PORT,
    advertised_address: Annotated[
        str | None,
        typer.Option(help="With --proxy-type ingress: the address other zones dial (required)"),
    ] = None,
    advertised_port: Annotated[
        int | None,
        typer.Option(
            help="With --proxy-type ingress: the port other zones dial [default: its port]"
        ),
    ] = None,
    egress_port: Annotated[
        int,
        typer.Option(
            help="With --proxy-type egress: the port it listens on, which the zone's "
            "sidecars dial at --address"
        ),
    ] = egress.DEFAULT_EGRESS_PORT,
    vips: Annotated[
        bool,
        typer.Option(
            help="Route the VIP ranges to lo (needs CAP_NET_ADMIN) and listen on every "
            "MeshService and MeshMultiZoneService VIP and port"
        ),
    ] = False,
    redirect_dns: Annotated[
        bool,
        typer.Option(
            help="Send this host's DNS queries (UDP port 53) to --dns-address, which must be "
            "on 127.0.0.1 (needs CAP_NET_ADMIN and nft)"
        ),
    ] = False,
) -> None:
    """Register the Dataplane, start Envoy, keep it running; deregister on SIGTERM/SIGINT."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per admin request
    try:
        if proxy_type is ProxyType.INGRESS:
            spec = ingress.spec(
                name, mesh, address, ingress_port, advertised_address, advertised_port
            )
        elif proxy_type is ProxyType.EGRESS:
            spec = egress.spec(name, mesh, address, egress_port)
        else:
            document = dataplane_file.read_text() if dataplane_file else dataplane
            spec = dataplanes.load(document, name, mesh, address, inbound or (), outbound or ())
        token = _token(dataplane_token, dataplane_token_file)
        control_plane = _control_plane(cp_address, ca_cert_file, insecure)
        dns = _dns(dns_address)
        redirect_port = _redirect_port(redirect_dns, dns)
    except ValueError as problem:
        _fail(str(problem))
    admin = (
        {"pipe": {"path": str(admin_socket)}}
        if admin_socket
        else {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
    )
    params = BootstrapParams(
        mesh=spec["mesh"],
        name=spec["name"],
        service=dataplanes.main_service(spec),
        proxy_type=proxy_type.token_type,
        token=token,
        control_plane=control_plane,
        admin_address=admin,
        xds_protocol=xds_protocol,
        features=Features(dns, vips),
    )
    code = asyncio.run(
        _run(spec, params, work_dir, envoy_log_level, cp_wait_seconds, redirect_port)
    )
    raise typer.Exit(code)


async def _run(
    spec: dict[str, Any],
    params: BootstrapParams,
    work_dir: Path | None,
    envoy_log_level: str,
    cp_wait_seconds: float,
    redirect_port: int | None,
) -> int:
    client = ControlPlaneClient(params.control_plane, params.token)
    try:
        await client.register(spec, params.proxy_type, cp_wait_seconds)
    except RegistrationRefused as refused:
        log.error("the control plane refused to register dataplane %s: %s", params.name, refused)
        return 2
    except UntrustedControlPlane as untrusted:
        log.error("not connecting to the control plane: %s", untrusted)
        return 2
    except Unreachable as unreachable:
        log.error("%s", unreachable)
        return 2
    log.info("registered dataplane %s/%s", params.mesh, params.name)
    directory = work_dir or Path(tempfile.mkdtemp(prefix="meshfabric-dp-"))
    metrics_socket = directory / "metrics.sock"
    metrics_push_socket = directory / "metrics-push.sock"
    access_log_pipe = directory / "access-log.fifo"
    features = dataclasses.replace(
        params.features,
        metrics_socket=str(metrics_socket),
        access_log_pipe=str(access_log_pipe),
        metrics_push_socket=str(metrics_push_socket),
    )
    params = dataclasses.replace(params, features=features)
    try:
        path = directory / "bootstrap.json"
        write_bootstrap(path, bootstrap(params))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with contextlib.AsyncExitStack() as host:
            if params.features.vips:
                await host.enter_async_context(vip_routes())
            if redirect_port is not None:
                await host.enter_async_context(dns_redirect(redirect_port))
            await host.enter_async_context(_admin_tunnel(params))
            hidden = (ADS_CLUSTER, METRICS_CLUSTER)
            await host.enter_async_context(
                metrics_server(metrics_socket, params.admin_address, hidden)
            )
            await host.enter_async_context(
                metrics_pushes(metrics_push_socket, params.admin_address, hidden)
            )
            await host.enter_async_context(access_log_forwarder(access_log_pipe))
            await EnvoySupervisor(envoy_command(path, envoy_log_level)).run(stop)
    except HostChangeFailed as problem:
        log.error("%s", problem)
        return 2
    finally:
        if work_dir is None:
            shutil.rmtree(directory, ignore_errors=True)
        await _deregister(client, params)
    return 0


@contextlib.asynccontextmanager
async def _admin_tunnel(params: BootstrapParams) -> AsyncIterator[None]:
    """The Envoy admin tunnel to the control plane, open while Envoy runs."""
    hello = Hello(mesh=params.mesh, name=params.name, proxy_type=params.proxy_type)
    admin = EnvoyAdmin(params.admin_address)
    tunnel = EnvoyAdminTunnel(params.control_plane, params.token, hello, admin)
    try:
        async with in_background(tunnel.run(), "envoy-admin-tunnel"):
            yield
    finally:
        await admin.aclose()


async def _deregister(client: ControlPlaneClient, params: BootstrapParams) -> None:
    try:
        await client.deregister(params.mesh, params.name, params.proxy_type)
        log.info("deregistered dataplane %s/%s", params.mesh, params.name)
    except RegistrationRefused as refused:
        log.warning("could not deregister dataplane %s: %s", params.name, refused)


def _control_plane(text: str, ca_cert_file: Path | None, insecure: bool) -> ControlPlaneAddress:
    address = ControlPlaneAddress.parse(text)
    if address.unix_socket:
        return address  # local: the socket's file mode guards it
    if not address.tls:
        if not insecure:
            raise ValueError(
                f"{address} is plaintext TCP: the dataplane token would cross in clear. "
                "Use grpcs:// with --ca-cert-file, a unix:// socket, or --insecure (labs only)"
            )
        return address
    if ca_cert_file is None:
        raise ValueError(
            f"{address} serves TLS: --ca-cert-file is needed to verify it "
            "(the control plane's <data_dir>/xds-ca.crt unless it was given a certificate)"
        )
    return dataclasses.replace(address, ca_cert_pem=ca_cert_file.read_text())


def _dns(text: str | None) -> DnsAddress | None:
    if not text:
        return None
    found = DnsAddress.parse(text)
    if found is None:
        raise ValueError(f'--dns-address "{text}": want ADDRESS:PORT, e.g. 127.0.0.1:15053')
    return found


def _redirect_port(redirect: bool, dns: DnsAddress | None) -> int | None:
    if not redirect:
        return None
    if dns is None or dns.address not in REDIRECTABLE:
        raise ValueError(
            "--redirect-dns sends the host's DNS queries to 127.0.0.1: it needs "
            "--dns-address on 127.0.0.1 (or 0.0.0.0), e.g. --dns-address 127.0.0.1:15053"
        )
    return dns.port


def _token(inline: str | None, file: Path | None) -> str:
    token = inline or (file.read_text().strip() if file else "")
    if not token:
        raise ValueError("a dataplane token is needed: --dataplane-token-file or --dataplane-token")
    return token


def _fail(message: str) -> None:
    typer.echo(f"meshfabric-dp: {message}", err=True)
    raise typer.Exit(2)


def main() -> None:
    app()
