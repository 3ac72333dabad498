"""Settings, read once from the environment (and `.env` when present)."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Where runtime state lives unless told otherwise; git ignores it.
VAR_DIR = Path("var")

#: A list read from one comma-separated variable rather than from JSON.
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every knob of aijobs; each field's description is its documentation."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    database_url: str = Field(
        f"sqlite+aiosqlite:///{VAR_DIR}/aijobs.db",
        description="SQLAlchemy async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for Dramatiq; unset means embedded mode (in-memory broker)."
    )
    redis_namespace: str = Field(
        "aijobs",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Prefix of every Redis key, so deployments can share one Redis.",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="Key for the OpenAI-compatible provider; unset uses the local summariser."
    )
    openai_base_url: str = Field(
        "https://api.openai.com/v1", description="Base URL of the OpenAI-compatible server."
    )
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the provider.")
    openai_timeout_s: float = Field(
        60.0, gt=0, description="Timeout of one provider request, in seconds."
    )
    data_dir: Path = Field(
        VAR_DIR / "data", description="Root of the files `input_file_path` may name."
    )
    web_dist_dir: Path = Field(
        Path("web/dist"), description="The dashboard's production build, served under /ui/."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe level that is logged."
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="console for people, json for log shippers."
    )
    job_max_retries: int = Field(
        3, ge=0, le=100, description="Retries of a transient failure before the job fails."
    )
    job_min_backoff_ms: int = Field(
        1000, ge=1, description="Backoff before the first retry, doubled each retry, with jitter."
    )
    job_max_backoff_ms: int = Field(60000, ge=1, description="Longest backoff between retries.")
    job_time_limit_s: float = Field(
        3600.0, gt=0, description="Longest one attempt may run before it fails."
    )
    job_max_age_s: float = Field(
        86400.0, gt=0, description="A job message older than this is dropped and its job failed."
    )
    job_lease_s: float = Field(
        30.0, ge=1, description="Lease a running job renews; a dead worker's job returns after it."
    )
    job_retention_days: float = Field(
        30.0, gt=0, description="Finished jobs older than this are purged by maintenance."
    )
    job_resend_after_s: float = Field(
        60.0, gt=0, description="A pending job whose message is older than this is sent again."
    )
    maintenance_interval_s: float = Field(
        60.0, gt=0, description="Period of maintenance in embedded mode (the scheduler uses cron)."
    )
    worker_processes: int = Field(
        2, ge=1, le=64, description="Worker processes `aijobs worker` starts."
    )
    worker_threads: int = Field(
        16, ge=1, le=256, description="Threads (concurrent jobs) per worker process."
    )
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port an `aijobs worker` group serves /metrics on, at HOST; 0 turns it off.",
    )
    auth_enabled: bool = Field(
        True,
        description="Require `Authorization: Bearer KEY`; off is allowed only on a loopback HOST.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Server secret that keys the stored API key hashes and the webhook secrets; "
        "unset, one is made in DATA_DIR/secret_key. Every API and worker process needs the same.",
    )
    auth_cache_s: float = Field(
        5.0,
        ge=0,
        description="How long an API process trusts a key it checked; a revoked key is refused "
        "within this time. 0 checks the database on every request.",
    )
    rate_limit_per_minute: int = Field(
        600, ge=0, description="Requests one API key may make per minute; 0 turns limiting off."
    )
    cors_origins: CommaList = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser, comma-separated.",
    )
    webhook_max_attempts: int = Field(
        5, ge=1, le=50, description="Deliveries of one webhook before it is marked failed."
    )
    webhook_min_backoff_ms: int = Field(
        1000, ge=1, description="First delay between webhook deliveries; doubles each time."
    )
    webhook_max_backoff_ms: int = Field(
        300000, ge=1, description="Longest delay between webhook deliveries."
    )
    webhook_timeout_s: float = Field(
        10.0, gt=0, le=120, description="How long one webhook delivery may take."
    )
    webhook_allowed_networks: CommaList = Field(
        default_factory=list,
        description="CIDRs webhooks may reach although private or loopback, comma-separated "
        "(`aijobs dev` allows 127.0.0.0/8 and ::1).",
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        description=(
            "Database connections each pool keeps open; API and worker processes have"
            " two, one for transactions and one for single-statement writes."
        ),
    )
    db_max_overflow: int = Field(
        10, ge=0, description="Extra connections each pool may open under bursts."
    )

    @field_validator("redis_url", "openai_api_key", "secret_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("auth_enabled", mode="before")
    @classmethod
    def _empty_is_on(cls, value: object) -> object:
        # `AUTH_ENABLED=` leaves the choice to the command: on, but off under `aijobs dev`.
        return True if value == "" else value

    @field_validator("cors_origins", "webhook_allowed_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]

        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql+asyncpg:// or sqlite+aiosqlite://")

        return value

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: in-memory broker, in-process worker."""
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


def load_settings() -> Settings:
    """Read the settings, turning a validation error into one line per variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
