"""The metrics settings, read once like the others (environment, then `.env`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from aijobs.settings import SettingsError


class MetricsSettings(BaseSettings):
    """Where worker groups serve their metrics; the API always serves /metrics."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port an `aijobs worker` group serves /metrics on, at HOST; 0 turns it off.",
    )


@lru_cache(maxsize=1)
def get_metrics_settings() -> MetricsSettings:
    """The process-wide metrics settings; a bad value is one line naming the variable."""
    try:
        return MetricsSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
