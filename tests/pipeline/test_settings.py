from __future__ import annotations

from pathlib import Path

import pytest

from edgewatch.errors import ConfigError
from edgewatch.pipeline.settings import Settings


def test_defaults() -> None:
    s = Settings.load()
    assert s.kafka.bootstrap_servers is None
    assert s.kafka.max_poll_interval_ms <= 10_000
    assert s.emit == "anomalies"


def test_precedence_flags_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "edgewatch.yaml"
    config.write_text(
        "kafka:\n  group_id: from-file\n  input_topic: file-topic\ndetector:\n  threshold: 0.4\n"
    )
    monkeypatch.setenv("EDGEWATCH_KAFKA__GROUP_ID", "from-env")
    monkeypatch.setenv("EDGEWATCH_DETECTOR__AUDIT_EVERY", "33")
    s = Settings.load(config, kafka={"bootstrap_servers": "k:9092", "input_topic": None})
    assert s.kafka.bootstrap_servers == "k:9092"  # flag
    assert s.kafka.group_id == "from-env"  # env beats file
    assert s.kafka.input_topic == "file-topic"  # file beats default; a None flag is "not given"
    assert s.detector.threshold == 0.4
    assert s.detector.audit_every == 33


def test_frozen() -> None:
    s = Settings.load()
    with pytest.raises(Exception, match="frozen"):
        s.emit = "all"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"kafka": {"partitions": 0}}, "kafka.partitions"),
        ({"emit": "some"}, "emit"),
        ({"detector": {"wake_rate": 2}}, "detector.wake_rate"),
        ({"detector": {"prefilter": "magic"}}, "detector.prefilter"),
        ({"incidents": {"k": 0}}, "incidents.k"),
        ({"webhooks": {"urls": ["http://h/"]}}, "webhooks.secret"),
        ({"webhooks": {"urls": ["ftp://h/"], "secret": "s" * 16}}, "http://"),
        ({"webhooks": {"urls": ["http://h/"], "secret": "change-me"}}, "fewer than 16"),
        ({"metrics_port": 70000}, "metrics_port"),
    ],
)
def test_errors_name_the_field_and_value(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as info:
        Settings.load(**overrides)
    assert "got" in str(info.value)


def test_missing_or_unknown_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        Settings.load(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka:\n  grup_id: typo\n")
    with pytest.raises(ConfigError, match="grup_id"):
        Settings.load(bad)


def test_secrets_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(webhooks={"urls": ["ftp://h/"], "secret": "hunter2"})
    assert "hunter2" not in str(info.value)
