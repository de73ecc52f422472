"""Settings shared by every service: where NATS is, where data lives, which store to use.

Each service has its own settings class too (its own env prefix) for what is its alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class LaokeSettings(BaseSettings):
    """`LAOKE_*` environment variables; built once at start-up and passed down."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Folder for NATS's store and SQLite files.")
    nats_url: str | None = Field(
        None,
        description="Connect to this NATS server or cluster (comma-separated URLs) "
        "instead of starting an embedded one.",
    )
    nats_port: int = Field(4222, description="Port of the embedded NATS server (0 = any free).")
    nats_sync_interval: str = Field(
        "always",
        description="JetStream fsync of the embedded server: 'always' (no acknowledged write "
        "lost on power loss, see docs/reliability.md) or an interval such as '1s' or '2m'.",
    )
    nats_user: str | None = Field(
        None, description="This process's NATS user, on a server that asks for one."
    )
    nats_password: str | None = Field(None, description="The password of `nats_user`.")
    nats_auth: Literal["on", "off"] = Field(
        "on", description="The embedded NATS server asks for users (laoke/natsauth.py)."
    )
    nats_dealerships: list[str] = Field(
        ["demo-4s"], description="Dealerships given a NATS user by the embedded server."
    )
    stream_replicas: int = Field(1, ge=1, le=5, description="Replicas of each JetStream stream.")
    retention_dedupe_window_s: float = Field(
        3600.0, description="JetStream dedupe window on RETENTION (crash-retry cover)."
    )
    master_key: str | None = Field(
        None,
        description="The master key wrapping every customer's data key: 32 random bytes in "
        "base64 (`openssl rand -base64 32`). Unset: `<data_dir>/master.key`, generated on "
        "first start (laoke/keyring.py, docs/crypto.md).",
    )
    encryption: Literal["on", "off"] = Field(
        "on",
        description="Seal personal fields on RETENTION with each customer's key; off only to "
        "measure what it costs (laoke/bench).",
    )
    store: Literal["sqlite", "postgres"] = Field("sqlite", description="Event and read store.")
    postgres_dsn: str = Field(
        "postgresql://laoke:laoke@127.0.0.1:5432/laoke",
        description="Used when store=postgres.",
    )
    auth: Literal["on", "off"] = Field(
        "on", description="API keys on the HTTP API (off only for local development)."
    )
    http_host: str = Field(
        "127.0.0.1", description="Address of the HTTP API (0.0.0.0 only inside a container)."
    )
    http_port: int = Field(8080, description="Port of the HTTP API (read API and POST /v1/events).")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as JSON objects (laoke/logs.py)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG adds a line per message handled."
    )
    otlp_endpoint: str | None = Field(
        None,
        description="Send traces (OpenTelemetry, OTLP over HTTP) to this collector, e.g. "
        "http://127.0.0.1:4318; off unless this or OTEL_EXPORTER_OTLP_ENDPOINT is set "
        "(laoke/tracing.py).",
    )
    aggregate_cache: int = Field(
        20_000,
        ge=0,
        description="Aggregates a deciding service (complaints, outreach, referrals, "
        "workshop) keeps in memory between messages, most recently used first; 0: none "
        "(laoke/work.py).",
    )
    partitions: int = Field(
        1,
        ge=1,
        le=64,
        description="Partitions of the work by dealership, fixed for a deployment "
        "(laoke/partitions.py, docs/scale.md).",
    )
    partitions_owned: Annotated[list[int], NoDecode] = Field(
        [],
        description="The partitions this replica runs, e.g. '0,2' (empty: all of them).",
    )

    @field_validator("partitions_owned", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _owned_partitions_exist(self) -> Self:
        unknown = [p for p in self.partitions_owned if not 0 <= p < self.partitions]
        if unknown:
            raise ValueError(
                f"partitions_owned {unknown} outside 0..{self.partitions - 1} (LAOKE_PARTITIONS)"
            )
        return self

    def sqlite_path(self, name: str) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / f"{name}.sqlite3"
