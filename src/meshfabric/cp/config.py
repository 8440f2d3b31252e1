"""Control-plane configuration: defaults, then a YAML file, then MESHFABRIC_* variables.

Every key can be set from the environment: nested keys join with a double underscore,
so `api.port` is MESHFABRIC_API__PORT and `store.postgres.dsn` MESHFABRIC_STORE__POSTGRES__DSN.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from meshfabric.api.settings import ApiSettings
from meshfabric.cp.config_file import ENV_PREFIX, ConfigFile, explain


class Mode(enum.StrEnum):
    GLOBAL = "global"
    ZONE = "zone"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiConfig(Section):
    address: str = Field(
        "0.0.0.0", description="Address of the plaintext port (loopback and labs; tokens in clear)"
    )
    port: int = Field(
        5681, ge=0, le=65535, description="Plaintext REST API port (0 picks a free port)"
    )
    https_enabled: bool = Field(True, description="Also serve the API over HTTPS")
    https_address: str = Field("0.0.0.0", description="Address of the HTTPS port")
    https_port: int = Field(5682, ge=0, le=65535, description="HTTPS REST API port")
    tls_cert_file: Path | None = Field(
        None, description="PEM certificate of the HTTPS port; default: generated in data_dir"
    )
    tls_key_file: Path | None = Field(None, description="PEM key of tls_cert_file")
    tls_extra_sans: list[str] = Field(
        [], description="More names or addresses for the generated certificate"
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Larger request bodies are refused with 413"
    )
    max_concurrent_per_client: int = Field(
        64, ge=1, description="Requests one client address may have in progress; more get 429"
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> ApiConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("api.tls_cert_file and api.tls_key_file must be set together")
        return self


class DiagnosticsConfig(Section):
    address: str = Field("127.0.0.1", description="Address of /metrics (Prometheus)")
    port: int = Field(5680, ge=0, le=65535, description="Prometheus metrics port (0 disables)")


class ServerTls(Section):
    """The certificate of a TLS port: configured, or generated in data_dir with its CA."""

    tls_cert_file: Path | None = Field(
        None, description="PEM certificate of the port; default: generated in data_dir"
    )
    tls_key_file: Path | None = Field(None, description="PEM key of tls_cert_file")
    tls_extra_sans: list[str] = Field(
        [], description="More names or addresses for the generated certificate"
    )

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            section = type(self).__name__.removesuffix("Config").lower()
            raise ValueError(
                f"{section}.tls_cert_file and {section}.tls_key_file must be set together"
            )
        return self


class XdsConfig(ServerTls):
    address: str = Field("0.0.0.0", description="Address of the xDS server (ADS, registration)")
    port: int = Field(5678, ge=0, le=65535, description="xDS port (0 picks a free port)")
    unix_socket: Path | None = Field(
        None, description="Also serve xDS on this Unix socket (proxies on the same host)"
    )
    debounce_ms: int = Field(
        20, ge=0, description="Changes arriving within this window are applied together"
    )
    insecure: bool = Field(
        False, description="Serve the TCP port without TLS (labs only: tokens cross in clear)"
    )


class KdsConfig(ServerTls):
    address: str = Field("0.0.0.0", description="Address of global's KDS server (zones dial it)")
    port: int = Field(5685, ge=0, le=65535, description="Global's KDS port (0 picks a free port)")
    max_message_bytes: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        description="gRPC message limit of KDS on both ends; larger syncs are split under it",
    )


class SqliteConfig(Section):
    path: Path | None = Field(None, description="Database file; default <data_dir>/meshfabric.db")


class PostgresConfig(Section):
    dsn: str = Field("", description="libpq connection string, e.g. postgresql://u:p@host/db")
    pool_size: int = Field(4, ge=1, description="Connections per control-plane replica")


class StoreType(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class StoreConfig(Section):
    type: StoreType = StoreType.SQLITE
    initialize: bool = Field(
        False,
        description="Start on an empty store although data_dir holds an admin token of an "
        "earlier one (without it, that start is refused: the database was probably lost)",
    )
    sqlite: SqliteConfig = SqliteConfig()
    postgres: PostgresConfig = PostgresConfig()


class ZoneConfig(Section):
    name: str = Field("default", description="This zone's name (zone mode)")
    global_address: str = Field(
        "",
        description="KDS address of the global control plane, grpcs://HOST:PORT, or several "
        "comma-separated (global's replicas, dialled in turn); empty runs a standalone zone",
    )
    token_file: Path | None = Field(
        None, description="Zone token global issued for this zone (meshctl generate zone-token)"
    )
    global_ca_file: Path | None = Field(
        None,
        description="CA of global's KDS certificate (its data_dir/kds-ca.crt); "
        "default: the system's CAs",
    )

    @model_validator(mode="after")
    def _federation_is_complete(self) -> ZoneConfig:
        if not self.global_address:
            return self
        for address in self.global_addresses:
            if not address.startswith("grpcs://") or ":" not in address[8:]:
                raise ValueError(
                    f'zone.global_address "{address}" must look like grpcs://HOST:PORT '
                    "(several: comma-separated)"
                )
        if self.token_file is None:
            raise ValueError("zone.token_file must be set when zone.global_address is")
        return self

    @property
    def global_addresses(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.global_address.split(","))


class MeshServiceConfig(Section):
    deletion_grace_period_s: float = Field(
        3600,
        ge=0,
        description="How long a MeshService generated from Dataplanes outlives its last "
        "Dataplane (Kuma's default: 1h)",
    )


class LogFormat(enum.StrEnum):
    JSON = "json"
    TEXT = "text"


class LogConfig(Section):
    level: str = "INFO"
    format: LogFormat = LogFormat.JSON


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    mode: Mode = Mode.ZONE
    data_dir: Path = Field(
        Path.home() / ".meshfabric",
        description="Holds the SQLite database and the admin token file",
    )
    api: ApiConfig = ApiConfig()
    diagnostics: DiagnosticsConfig = DiagnosticsConfig()
    xds: XdsConfig = XdsConfig()
    kds: KdsConfig = KdsConfig()
    store: StoreConfig = StoreConfig()
    zone: ZoneConfig = ZoneConfig()
    mesh_service: MeshServiceConfig = MeshServiceConfig()
    log: LogConfig = LogConfig()

    @model_validator(mode="after")
    def _postgres_needs_dsn(self) -> Settings:
        if self.store.type is StoreType.POSTGRES and not self.store.postgres.dsn:
            raise ValueError("store.postgres.dsn must be set when store.type is postgres")
        return self

    @property
    def federated(self) -> bool:
        """A zone that syncs with a global control plane."""
        return self.mode is Mode.ZONE and bool(self.zone.global_address)

    def for_api(self) -> ApiSettings:
        return ApiSettings(
            mode="global" if self.mode is Mode.GLOBAL else "zone",
            zone=self.zone.name,
            federated=self.federated,
            max_body_bytes=self.api.max_body_bytes,
            max_concurrent_per_client=self.api.max_concurrent_per_client,
            config=self.model_dump(mode="json"),
        )

    @property
    def admin_token_path(self) -> Path:
        return self.data_dir / "admin-token"

    @property
    def sqlite_path(self) -> Path:
        return self.store.sqlite.path or self.data_dir / "meshfabric.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file; flags (init) win over both.
        return (init_settings, env_settings)


def load(file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the file (if any), the environment and explicit overrides, in rising order.

    Raises ConfigError naming the file, line and key of every invalid setting.
    """
    parsed = ConfigFile(file) if file is not None else None
    try:
        env_only = Settings.model_validate({})  # applies MESHFABRIC_* over the defaults
        merged = _deep_merge(
            parsed.values if parsed else {}, env_only.model_dump(exclude_defaults=True)
        )
        merged = _deep_merge(merged, {k: v for k, v in overrides.items() if v is not None})
        return Settings(**merged)
    except ValidationError as error:
        raise explain(error, Settings, parsed) from None


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
