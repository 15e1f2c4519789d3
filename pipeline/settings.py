"""One frozen settings object per process, built at the entry point and passed down.

Sources, highest priority first: CLI flags (passed as keyword overrides), environment variables
(``EDGEWATCH_*``, nested with ``__`` as in ``EDGEWATCH_DETECTOR__THRESHOLD=2.0``), an optional
YAML file (``--config``), then the defaults below. Components never read the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from edgewatch.errors import ConfigError

__all__ = ["DetectorSettings", "KafkaSettings", "Settings"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(BaseModel):
    model_config = _FROZEN

    bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]; unset = start the embedded broker"
    )
    input_topic: str = Field("edgewatch.records", min_length=1)
    detections_topic: str = Field("edgewatch.detections", min_length=1)
    dlq_topic: str = Field("edgewatch.dlq", min_length=1)
    group_id: str = Field("edgewatch", min_length=1)
    partitions: int = Field(6, ge=1, le=1024, description="partitions of topics we create")
    max_poll_records: int = Field(2_000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(200, ge=1, le=60_000)
    # Upper bound on a fetch's long poll: caps the wait for fresh data on brokers that do not
    # answer a waiting fetch as soon as data arrives. Costs only idle round trips.
    fetch_max_wait_ms: int = Field(100, ge=0, le=60_000)
    # Kept short: a member that stops polling this long is replaced. Batches take milliseconds.
    max_poll_interval_ms: int = Field(10_000, ge=1_000)
    session_timeout_ms: int = Field(10_000, ge=1_000)


class DetectorSettings(BaseModel):
    model_config = _FROZEN

    fading_factor: float = Field(0.0005, gt=0.0, lt=1.0)
    warmup: int = Field(200, ge=2)
    threshold: float = Field(1.55, gt=0.0)
    max_assets: int = Field(100_000, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EDGEWATCH_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    emit: Literal["anomalies", "all"] = Field(
        "anomalies", description="write a detection for anomalous records only, or for all"
    )
    data_dir: Path | None = Field(
        None, description="where data sets live (EDGEWATCH_DATA_DIR); unset = the user data dir"
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=0, le=65535, description="0 = any free port")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Build the settings; `ConfigError` names each bad field, its rule and its value.

        ``overrides`` are CLI values (``None`` means not given); nested groups take dicts, e.g.
        ``kafka={"bootstrap_servers": "localhost:9092"}``.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        for group in ("kafka", "detector"):
            if isinstance(given.get(group), dict):
                given[group] = {k: v for k, v in given[group].items() if v is not None} or None
                if given[group] is None:
                    del given[group]
        target: type[Settings] = cls
        if config_file is not None:
            if not config_file.is_file():
                raise ConfigError.invalid(
                    "--config", "must name an existing YAML file", config_file
                )
            target = type(
                "FileSettings",
                (cls,),
                {"model_config": {**cls.model_config, "yaml_file": config_file}},
            )
        try:
            return target(**given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} (got {err.get('input')!r})"
                for err in exc.errors()
            )
            raise ConfigError(f"invalid settings: {problems}") from exc
