"""Start the control plane's components, keep them running, stop them in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import prometheus_client
import uvicorn
from starlette.types import ASGIApp

from meshfabric.api.app import create_app
from meshfabric.api.auth import ADMIN_GROUP
from meshfabric.api.context import ApiContext
from meshfabric.ca import provisioner as ca_provisioner
from meshfabric.ca.xds_server import XdsCertificateFiles, ensure_server_certificate
from meshfabric.cp.config import Mode, Settings, StoreType
from meshfabric.dns import default_generators, ensure_default_generators
from meshfabric.files import private_directory, write_private
from meshfabric.insights import MeshServiceGenerator, StatusUpdater
from meshfabric.insights.orphans import (
    PROXY_SUBSCRIPTIONS,
    ZONE_SUBSCRIPTIONS,
    close_orphaned_subscriptions,
)
from meshfabric.ipam import VipProvisioner
from meshfabric.kds.envoy_admin import ZoneTunnels
from meshfabric.kds.global_server import GlobalKds, KdsListen
from meshfabric.kds.zone_client import GlobalConnection, ZoneKds
from meshfabric.metrics import zone_registry
from meshfabric.ports import PortInUse, bind_tcp
from meshfabric.resources import REGISTRY
from meshfabric.store.manager import ResourceManager
from meshfabric.store.postgres import PostgresStore
from meshfabric.store.protocol import Store
from meshfabric.store.replicas import (
    PostgresReplicas,
    Replicas,
    SoleReplica,
    Work,
    application_name,
)
from meshfabric.store.sql import SqlStore
from meshfabric.store.sqlite import SqliteStore
from meshfabric.tokens import DATAPLANE, USER, ZONE, InvalidToken, TokenIssuer
from meshfabric.tokens.issuer import parse_duration
from meshfabric.xds.component import Listen, XdsComponent

log = logging.getLogger(__name__)

ADMIN_TOKEN_LIFETIME = "87600h"  # ten years: the operator rotates it by deleting the file


class StartRefused(Exception):
    """Starting would do harm; the message says why and what to do instead."""


async def open_store(settings: Settings, instance_id: str = "") -> SqlStore:
    """`instance_id` names this replica's database sessions, which tell it is alive."""
    if settings.store.type is StoreType.POSTGRES:
        postgres = settings.store.postgres
        # Opening the pool connects to the database: keep that off the event loop.
        store = await asyncio.to_thread(
            PostgresStore,
            postgres.dsn,
            postgres.pool_size,
            application_name(instance_id) if instance_id else "",
        )
        await store.listen()
        return store
    return SqliteStore(settings.sqlite_path)


def open_replicas(settings: Settings, instance_id: str) -> Replicas:
    """This replica among the others on the same store; one of them leads."""
    if settings.store.type is StoreType.POSTGRES:
        role = "global" if settings.mode is Mode.GLOBAL else f"zone {settings.zone.name}"
        return PostgresReplicas(settings.store.postgres.dsn, instance_id, role)
    return SoleReplica(instance_id)


async def ensure_admin_token(users: TokenIssuer, path: Path, store_is_new: bool = False) -> None:
    """Write an admin token on first start; keep a valid one, replace one that no longer is.

    An admin token next to a new store means the store was lost (a deleted database file, a
    wrong DSN): that start is refused (the caller says the store is new only when the
    operator did not ask to initialize one), so that no one loses data unawares.
    """
    existing = await asyncio.to_thread(_read_token, path)
    if existing is not None:
        if store_is_new:
            raise StartRefused(
                f"{path} holds an admin token, but the store is new and empty: its database is "
                "missing or not the one this data directory was used with. Restore it, or "
                "start with --initialize-store (store.initialize) to begin with an empty one "
                "and a new admin token"
            )
        try:
            await users.verify(existing)
            return
        except InvalidToken as reason:
            log.warning("replacing the admin token in %s: %s", path, reason)
    if not await users.signing_key_usable():
        log.error("replacing the unusable user token signing key: every user token is void")
        await users.replace_signing_key()
    token = await users.issue(
        {"name": "mesh-system:admin", "groups": [ADMIN_GROUP]}, parse_duration(ADMIN_TOKEN_LIFETIME)
    )
    await asyncio.to_thread(write_private, path, (token + "\n").encode())
    log.info("wrote the admin token to %s", path)


def _read_token(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


async def _is_empty(store: Store) -> bool:
    for rtype in REGISTRY:
        if (await store.list(rtype.name, None, limit=1)).total:
            return False
    return True


async def run(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; raises PortInUse, before anything starts, if a port is taken."""
    api_sockets = _bind_api(settings)
    async with AsyncExitStack() as stack:
        for api_socket in api_sockets:
            stack.callback(api_socket.close)
        # It holds the admin token, keys and (with SQLite) the database.
        await asyncio.to_thread(private_directory, settings.data_dir)
        instance_id = uuid.uuid4().hex[:12]
        store = await open_store(settings, instance_id)
        stack.push_async_callback(store.close)
        users = TokenIssuer(store, USER)
        refuse_new = not settings.store.initialize and store.schema_created
        await ensure_admin_token(
            users, settings.admin_token_path, refuse_new and await _is_empty(store)
        )
        manager = ResourceManager(store)
        generators = default_generators(settings.mode is Mode.GLOBAL, _federated_zone(settings))
        await ensure_default_generators(manager, generators)
        dataplanes = TokenIssuer(store, DATAPLANE)
        replicas = open_replicas(settings, instance_id)
        xds = await _start_xds(settings, manager, dataplanes, instance_id)
        if xds is not None:
            stack.push_async_callback(xds.stop)
        zones = TokenIssuer(store, ZONE)
        kds_work, zone_tunnels = await _start_kds(settings, stack, store, zones, replicas, xds)
        _run_in_background(
            stack,
            replicas.lead({**_work_done_once(settings, store, replicas), **kds_work}),
            "leader",
        )
        ctx = ApiContext(
            settings=settings.for_api(),
            manager=manager,
            registry=REGISTRY,
            users=users,
            zones=zones,
            dataplanes=dataplanes,
            instance_id=instance_id,
            inspector=xds.inspector if xds is not None else None,
            envoy_admin=xds.envoy_admin if xds is not None else None,
            zone_tunnels=zone_tunnels,
            store_health=store.health,
        )
        if settings.diagnostics.port:
            zone = "global" if settings.mode is Mode.GLOBAL else settings.zone.name
            prometheus_client.start_http_server(
                settings.diagnostics.port, settings.diagnostics.address, zone_registry(zone)
            )
        servers = await _api_servers(settings, create_app(ctx))
        _stop_on_signals(servers)
        log.info(
            "control plane started",
            extra={
                "mode": settings.mode.value,
                "api_port": settings.api.port,
                "api_https_port": settings.api.https_port if settings.api.https_enabled else None,
            },
        )
        await asyncio.gather(
            *(
                server.serve(sockets=[api_socket])
                for server, api_socket in zip(servers, api_sockets, strict=True)
            )
        )
        log.info("control plane stopping")


def _federated_zone(settings: Settings) -> str | None:
    return settings.zone.name if settings.federated else None


class _ApiServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the control plane, which stops all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind_api(settings: Settings) -> list[socket.socket]:
    """The plaintext port's socket, and the HTTPS port's unless it is turned off."""
    config = settings.api
    sockets = [bind_tcp("the REST API", config.address, config.port)]
    if config.https_enabled:
        try:
            sockets.append(bind_tcp("the HTTPS REST API", config.https_address, config.https_port))
        except PortInUse:
            sockets[0].close()
            raise
    return sockets


async def _api_servers(settings: Settings, app: ASGIApp) -> list[uvicorn.Server]:
    """The plaintext port, and the HTTPS port unless it is turned off."""
    config = settings.api
    common: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "off"}
    if config.address not in ("127.0.0.1", "::1", "localhost"):
        log.warning(
            "the plaintext API port %s listens on %s: tokens cross the network in clear; "
            "use the HTTPS port %s, or api.address 127.0.0.1",
            config.port,
            config.address,
            config.https_port,
        )
    plain = uvicorn.Config(app, host=config.address, port=config.port, **common)
    servers: list[uvicorn.Server] = [_ApiServer(plain)]
    if config.https_enabled:
        cert, key = await asyncio.to_thread(_api_tls_files, settings)
        https = uvicorn.Config(
            app,
            host=config.https_address,
            port=config.https_port,
            ssl_certfile=cert,
            ssl_keyfile=key,
            **common,
        )
        servers.append(_ApiServer(https))
    return servers


def _api_tls_files(settings: Settings) -> tuple[Path, Path]:
    """The HTTPS port's (certificate, key) files: configured, else generated in the data
    directory, beside the CA that clients verify it with (`<data_dir>/api-ca.crt`)."""
    config = settings.api
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        return config.tls_cert_file, config.tls_key_file
    files = XdsCertificateFiles.named(
        settings.data_dir, "api", "API", "meshctl config control-planes add --ca-cert-file"
    )
    ensure_server_certificate(files, _own_names(config.https_address, config.tls_extra_sans))
    return files.cert, files.key


def _run_in_background(stack: AsyncExitStack, work: Coroutine[Any, Any, None], name: str) -> None:
    """Run until the control plane stops; a failure is logged, not fatal."""
    task = asyncio.create_task(work, name=name)
    task.add_done_callback(_log_failure)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())


async def _start_xds(
    settings: Settings, manager: ResourceManager, tokens: TokenIssuer, instance_id: str
) -> XdsComponent | None:
    """Zone control planes serve their proxies; the global one has none."""
    if settings.mode is not Mode.ZONE:
        return None
    xds = XdsComponent(
        manager,
        tokens,
        instance_id,
        settings.xds.debounce_ms / 1000,
        creates_ca_roots=not settings.federated,  # a federated zone's CAs come from global
        zone=settings.zone.name,
        accepts_zone_tokens=settings.federated,
    )
    tls = await asyncio.to_thread(_xds_tls, settings)
    config = settings.xds
    await xds.start(Listen(config.address, config.port, config.unix_socket, tls))
    return xds


def _work_done_once(settings: Settings, store: SqlStore, replicas: Replicas) -> Work:
    """What the leader among the replicas does, besides a zone's KDS connection."""
    work: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}
    if not settings.federated:  # a federated zone gets its meshes' CAs from global
        work["ca-provisioner"] = lambda: ca_provisioner.run(store)
    if settings.mode is Mode.ZONE:  # VIPs are local to a zone, like the proxies using them
        work["vip-allocator"] = lambda: VipProvisioner(store).run()
        # A zone's Dataplanes are its own: only there are MeshServices made from them.
        grace = settings.mesh_service.deletion_grace_period_s
        work["meshservice-generator"] = lambda: MeshServiceGenerator(
            store, settings.zone.name, grace
        ).run()
    # Global holds zones' streams, a zone its proxies' (global's DataplaneInsights are copies).
    held = ZONE_SUBSCRIPTIONS if settings.mode is Mode.GLOBAL else PROXY_SUBSCRIPTIONS
    work["offline-marker"] = lambda: close_orphaned_subscriptions(store, replicas, held)
    # Proxies connect to zone control planes: only there are they counted.
    counts_proxies = settings.mode is Mode.ZONE
    work["status-updater"] = lambda: StatusUpdater(store, settings.zone.name, counts_proxies).run()
    return work


async def _start_kds(
    settings: Settings,
    stack: AsyncExitStack,
    store: SqlStore,
    zones: TokenIssuer,
    replicas: Replicas,
    xds: XdsComponent | None,
) -> tuple[Work, ZoneTunnels | None]:
    """Global serves its zones on every replica; a federated zone dials global from its
    leader (the work returned, with, on global, the zones' streams that Envoy admin
    requests are forwarded on); a standalone zone does neither."""
    config = settings.kds
    if settings.mode is Mode.GLOBAL:
        server = GlobalKds(store, zones, replicas.instance_id, config.max_message_bytes)
        tls = await asyncio.to_thread(_kds_tls, settings)
        await server.start(KdsListen(config.address, config.port, tls))
        stack.push_async_callback(server.stop)
        return {}, server.envoy_admin
    if settings.federated:
        assert settings.zone.token_file is not None  # the configuration requires it
        assert xds is not None  # a zone serves xDS
        connection = GlobalConnection(
            settings.zone.global_addresses, settings.zone.token_file, settings.zone.global_ca_file
        )
        tunnels = xds.envoy_admin
        client = ZoneKds(
            store,
            settings.zone.name,
            connection,
            config.max_message_bytes,
            lambda request: tunnels.ask(request.mesh or "default", request.name, request),
        )
        return {"kds-zone": client.run}, None
    return {}, None


def _kds_tls(settings: Settings) -> tuple[bytes, bytes]:
    """The KDS port's (certificate, key): configured, else generated in the data directory,
    beside the CA that zones verify it with (`--global-ca-file <data_dir>/kds-ca.crt`)."""
    config = settings.kds
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        return config.tls_cert_file.read_bytes(), config.tls_key_file.read_bytes()
    if settings.store.type is StoreType.POSTGRES:
        log.warning(
            "the KDS certificate is generated in %s, this replica's own: with several "
            "replicas of global, give each the same one (kds.tls_cert_file) for zones to trust",
            settings.data_dir,
        )
    files = XdsCertificateFiles.named(
        settings.data_dir, "kds", "KDS", "meshfabric-cp run --mode zone --global-ca-file"
    )
    return ensure_server_certificate(files, _own_names(config.address, config.tls_extra_sans))


def _xds_tls(settings: Settings) -> tuple[bytes, bytes] | None:
    """The TCP xDS port's (certificate, key): configured, else generated in the data directory."""
    config = settings.xds
    if config.insecure:
        log.warning(
            "xds.insecure: the xDS port serves without TLS, dataplane tokens cross in clear"
        )
        return None
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        return config.tls_cert_file.read_bytes(), config.tls_key_file.read_bytes()
    files = XdsCertificateFiles.in_directory(settings.data_dir)
    return ensure_server_certificate(files, _own_names(config.address, config.tls_extra_sans))


def _own_names(address: str, extra: list[str]) -> list[str]:
    """Every name a client may dial; a wildcard listen address is no name of its own."""
    own = [] if address in ("0.0.0.0", "::", "") else [address]
    return [*own, "127.0.0.1", "localhost", socket.gethostname(), *extra]


def _stop_on_signals(servers: list[uvicorn.Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
