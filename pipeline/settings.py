"""One frozen settings object per process, built at the entry point and passed down.

Sources, highest priority first: CLI flags (passed as keyword overrides), environment variables
(``EDGEWATCH_*``, nested with ``__`` as in ``EDGEWATCH_DETECTOR__THRESHOLD=2.0``), an optional
YAML file (``--config``), then the defaults below. Components never read the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from edgewatch.errors import ConfigError

__all__ = ["DetectorSettings", "IncidentSettings", "KafkaSettings", "Settings", "WebhookSettings"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(BaseModel):
    model_config = _FROZEN

    bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]; unset = start the embedded broker"
    )
    client: Literal["kafka-python", "confluent"] = Field(
        "confluent",
        description="Kafka client library: confluent (librdkafka: fetching, batching and "
        "acknowledging on native threads; about twice the throughput) or kafka-python (pure "
        "Python)",
    )
    input_topic: str = Field("edgewatch.records", min_length=1)
    detections_topic: str = Field("edgewatch.detections", min_length=1)
    dlq_topic: str = Field("edgewatch.dlq", min_length=1)
    incidents_topic: str = Field("edgewatch.incidents", min_length=1)
    changelog_topic: str | None = Field(
        None,
        min_length=1,
        description="compacted topic of per-asset state snapshots: assets a rebalance moves "
        "resume where they were instead of warming up; unset = no snapshots",
    )
    commit_interval_ms: int = Field(
        1_000,
        ge=0,
        le=600_000,
        description="commit offsets (and write changelog snapshots) at most this often; "
        "0 = after every batch. Longer: fewer commits and snapshots, more re-processed after a "
        "crash (duplicates, never losses)",
    )
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
    """The cascade: windows -> scaler -> prefilter -> gate -> model -> threshold -> explain."""

    model_config = _FROZEN

    model: Path | None = Field(
        None,
        description="model card (.json), a shipped name (simulated, fd001) or online (no "
        "model: the unsupervised detector); unset = each shipped model for its own data set's "
        "streams, the online detector for all others",
    )
    alarm_rate: float = Field(
        0.002,
        gt=0.0,
        lt=0.05,
        description="online detector: target share of normal records it alarms on (its "
        "false-alarm rate); the threshold follows from it",
    )
    threshold: float | None = Field(None, description="unset = the card's validation threshold")
    scaling: Literal["card", "asset"] = Field(
        "card",
        description="scale readings by the card's training statistics (a per-asset card: each "
        "asset it lacks by its own), or every asset by its own (learned online; for sensors in "
        "other units than the model was trained on)",
    )
    prefilter: Literal["ewzscore", "online", "hst", "gaussian"] = "ewzscore"
    learn: Literal["all", "normal"] = Field(
        "normal", description="prefilter learns every window, or only those the gate skips"
    )
    relearn_after: int = Field(500, ge=1, description="skipped windows in a row, then learn")
    gate: Literal["off", "prefilter", "sentinel"] | None = Field(
        None,
        description="what wakes the model: off (every window), prefilter (the statistical "
        "prefilter at wake_rate) or sentinel (a small model, where it is unsure); unset: "
        "prefilter when wake_rate is set, else the sentinel where the model has one (the "
        "shipped models do), else off",
    )
    wake_rate: float | None = Field(
        None, gt=0.0, le=1.0, description="target share of windows that wake the model; unset = all"
    )
    sentinel: Path | None = Field(
        None, description="sentinel card (gate: sentinel); unset: the shipped model's own"
    )
    confidence: float = Field(
        0.9, ge=0.0, le=1.0, description="sentinel: answers where |p - 0.5| x 2 reaches this"
    )
    audit_every: int = Field(0, ge=0, description="wake every N-th skipped window (0 = never)")
    calibration: int = Field(
        5_000,
        ge=1,
        description="recent prefilter scores the gate's threshold is a quantile of (the first "
        "min(100, calibration) windows wake regardless)",
    )
    hold: int = Field(100, ge=0, description="windows an asset stays woken after a detection")
    stride: int = Field(1, ge=1)
    # 1,024: a fifth less CPU per record than 256 (numpy and ONNX Runtime calls are per chunk and
    # asset), and a full poll (2,000) is still two chunks, the model scoring one while the
    # member decodes the next. Results do not depend on it.
    batch_size: int = Field(
        1_024, ge=1, le=65_536, description="records a member processes at once (model micro-batch)"
    )
    top_channels: int = Field(3, ge=1)
    max_assets: int = Field(100_000, ge=1)


MIN_SECRET_CHARS = 16
_HOW_TO_SECRET = (
    "set EDGEWATCH_WEBHOOKS__SECRET to a random value of at least 16 characters, e.g. "
    "python -c 'import secrets; print(secrets.token_hex(32))'"
)


class WebhookSettings(BaseModel):
    """Alert webhooks for incident events; off until at least one URL is set."""

    model_config = _FROZEN

    urls: tuple[str, ...] = Field((), description="endpoints that receive every incident event")
    secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key shared with receivers")
    format: Literal["edgewatch", "alertmanager"] = "edgewatch"
    outbox: Path = Field(Path("edgewatch-outbox.sqlite"), description="durable delivery queue")
    timeout_s: float = Field(5.0, gt=0.0)
    backoff_ms: int = Field(500, ge=1, description="first retry delay (doubles, full jitter)")
    max_backoff_ms: int = Field(60_000, ge=1)
    rate_per_s: float = Field(20.0, gt=0.0, description="requests per second per endpoint")

    @model_validator(mode="after")
    def _secret_with_urls(self) -> WebhookSettings:
        secret = self.secret.get_secret_value()
        if self.urls and not secret:
            raise ValueError(
                f"webhooks.urls are set but webhooks.secret is empty; {_HOW_TO_SECRET}"
            )
        if secret and len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"webhooks.secret has {len(secret)} characters, fewer than {MIN_SECRET_CHARS}: "
                f"anyone could guess it; {_HOW_TO_SECRET}"
            )
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook url {url!r} must start with http:// or https://")
        return self


class IncidentSettings(BaseModel):
    model_config = _FROZEN

    k: int = Field(3, ge=1, description="anomalous windows among the last m that open one")
    m: int = Field(5, ge=1)
    quiet_ms: int | None = Field(
        None,
        ge=0,
        description="event time without anomalies to resolve; unset = 30 of the asset's "
        "sampling intervals",
    )
    update_ms: int | None = Field(
        None,
        ge=0,
        description="at most one update event this often; unset = 60 sampling intervals",
    )


def _redacted(value: Any) -> Any:
    """A rejected input as shown in an error, with any secret masked."""
    if isinstance(value, dict):
        return {k: "***" if "secret" in str(k) else _redacted(v) for k, v in value.items()}
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EDGEWATCH_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    emit: Literal["anomalies", "all"] = Field(
        "anomalies", description="write a detection for anomalous records only, or for all"
    )
    out: Path | None = Field(
        None, description="also append detections and incident events to this JSON-lines file"
    )
    data_dir: Path | None = Field(
        None, description="where data sets live (EDGEWATCH_DATA_DIR); unset = the user data dir"
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=0, le=65535, description="0 = any free port")
    metrics_asset_cap: int = Field(
        100, ge=0, le=10_000, description="assets with their own series; the rest are _other"
    )
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
        for group in ("kafka", "detector", "incidents", "webhooks"):
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
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} "
                f"(got {_redacted(err.get('input'))!r})"
                for err in exc.errors()
            )
            raise ConfigError(f"invalid settings: {problems}") from exc
