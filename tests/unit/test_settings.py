from __future__ import annotations

from pathlib import Path

import pytest

from vox.errors import ConfigError
from vox.settings import load_settings, parse_clickhouse_url


def test_chdb_url_with_database() -> None:
    target = parse_clickhouse_url("chdb:///var/lib/vox?database=shop")
    assert (target.kind, target.path, target.database) == ("chdb", Path("/var/lib/vox"), "shop")


def test_server_url() -> None:
    target = parse_clickhouse_url("clickhouse://analyst:s%40cret@ch.internal:9001/marketing")
    assert (target.kind, target.host, target.port, target.user, target.password, target.database) == (
        "server", "ch.internal", 9001, "analyst", "s@cret", "marketing")  # fmt: skip
    assert parse_clickhouse_url("clickhouses://h/db").port == 9440


@pytest.mark.parametrize("url, words", [
    ("localhost:9000", "must look like chdb:///path"),
    ("postgres://h/db", "must look like"),
    ("clickhouse:///db", "needs a host"),
    ("clickhouse://h:port/db", "port"),
    ("chdb://", "needs a directory"),
])  # fmt: skip
def test_malformed_clickhouse_url_says_what_to_fix(url: str, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKHOUSE_URL", url)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("CLICKHOUSE_URL: ") and words in message and "\n" not in message


def test_environment_overrides_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "vox.toml"
    config.write_text('topic_partitions = 12\nbatch_max_events = 500\nkafka_bootstrap = "k1:9092"\n')
    monkeypatch.setenv("VOX_CONFIG", str(config))
    monkeypatch.setenv("VOX_BATCH_MAX_EVENTS", "300")
    settings = load_settings()
    assert (settings.topic_partitions, settings.batch_max_events, settings.kafka_bootstrap) == (12, 300, "k1:9092")


def test_unknown_key_in_config_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "vox.toml"
    config.write_text("topic_partitons = 12\n")
    monkeypatch.setenv("VOX_CONFIG", str(config))
    with pytest.raises(ConfigError, match=f"VOX_CONFIG file {config}: key 'topic_partitons': unknown setting"):
        load_settings()
    config.write_text("VOX_TOPIC_PARTITIONS = 12\n")
    with pytest.raises(ConfigError, match="key 'VOX_TOPIC_PARTITIONS': unknown setting: keys are written in lower case"):
        load_settings()


@pytest.mark.parametrize("variable, value, words", [
    ("VOX_TYPO", "1", "VOX_TYPO: unknown setting"),
    ("VOX_CONFIG", "/nowhere/vox.toml", "not a readable file"),
    ("VOX_TOPIC_PARTITIONS", "0", "VOX_TOPIC_PARTITIONS: Input should be greater than or equal to 1"),
    ("VOX_STAGES", "customers,nowhere:STAGE", "VOX_STAGES: cannot load stage 'nowhere:STAGE'"),
    ("VOX_STAGES", "vox.settings:Settings", "is not a built-in stage"),
    ("VOX_STAGES", "customers,,", "VOX_STAGES: 'customers,,': expected stage names separated by commas"),
])  # fmt: skip
def test_a_bad_variable_is_named_with_what_to_fix(variable: str, value: str, words: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from vox.stages import declared_stages

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=words):
        declared_stages(load_settings())


def test_nested_scoring_variables_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOX_SCORING__HYSTERESIS", "5")
    assert load_settings().scoring.hysteresis == 5


def test_default_clickhouse_is_chdb_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLICKHOUSE_URL", raising=False)
    monkeypatch.setenv("VOX_HOME", str(tmp_path))
    target = load_settings().clickhouse
    assert (target.kind, target.path, target.database) == ("chdb", tmp_path / "chdb", "vox")


def test_a_list_setting_that_is_not_json_names_its_variable_not_a_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOX_CONFIG", raising=False)
    monkeypatch.setenv("VOX_SCORING__FEEDS", "contributions,posts")
    with pytest.raises(ConfigError, match=r"^VOX_SCORING__FEEDS: not valid JSON; lists and dicts are written as JSON"):
        load_settings()
    monkeypatch.setenv("VOX_SCORING__FEEDS", '["contributions", "posts"]')
    assert load_settings().scoring.feeds == ("contributions", "posts")


@pytest.mark.parametrize("name", ["VOX_LEADERS__EXPERT_WEIGHTS", "VOX_LEADERS__EDGE_WEIGHTS"])
def test_a_dict_setting_of_any_group_that_is_not_json_names_its_variable(monkeypatch: pytest.MonkeyPatch,
                                                                         name: str) -> None:  # fmt: skip
    monkeypatch.delenv("VOX_CONFIG", raising=False)
    monkeypatch.setenv(name, "who=1")
    with pytest.raises(ConfigError, match=f"^{name}: not valid JSON; lists and dicts are written as JSON"):
        load_settings()
