"""Every knob of vox, in one pydantic settings object.

Read from (highest precedence first): the environment (`VOX_*`, plus `KAFKA_BOOTSTRAP` and
`CLICKHOUSE_URL`), then the TOML file named by `VOX_CONFIG` (keys are the field names below,
lower case), then these defaults. The README's configuration table lists each one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_origin
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vox.errors import ConfigError
from vox.core.customers.config import ScoringConfig
from vox.core.leaders.config import LeadersConfig
from vox.core.sentiment.config import SentimentConfig

CLICKHOUSE_URL_FORMS = "chdb:///path/to/dir or clickhouse://user:password@host:9000/database"


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where ClickHouse is: embedded chDB in a directory, or a server over the native protocol."""

    kind: Literal["chdb", "server"]
    database: str
    path: Path | None = None
    host: str = "localhost"
    port: int = 9000
    user: str = "default"
    password: str = ""
    secure: bool = False

    def describe(self) -> str:
        if self.kind == "chdb":
            return f"chDB at {self.path} (database {self.database})"
        return f"ClickHouse server {self.host}:{self.port} (database {self.database})"


def parse_clickhouse_url(url: str, default_database: str = "vox") -> ClickHouseTarget:
    """Parse `CLICKHOUSE_URL`; raise ValueError with a message that says what to fix."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        # chdb:///abs/path, or chdb://relative/path (host part taken as the first path segment)
        raw_path = unquote((parts.netloc or "") + parts.path)
        if not raw_path:
            raise ValueError(f"chdb URL needs a directory, like chdb:///var/lib/vox/chdb (got {url!r})")
        database = parse_qs(parts.query).get("database", [default_database])[0]
        return ClickHouseTarget(kind="chdb", path=Path(raw_path), database=database)
    if parts.scheme in ("clickhouse", "clickhouses"):
        if not parts.hostname:
            raise ValueError(f"clickhouse URL needs a host, like {CLICKHOUSE_URL_FORMS.split(' or ')[1]} (got {url!r})")
        try:
            port = parts.port or (9440 if parts.scheme == "clickhouses" else 9000)
        except ValueError:
            raise ValueError(f"the port in {url!r} is not a number") from None
        database = parts.path.lstrip("/") or default_database
        return ClickHouseTarget(
            kind="server",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=database,
            secure=parts.scheme == "clickhouses",
        )
    raise ValueError(f"must look like {CLICKHOUSE_URL_FORMS} (got {url!r})")


class Settings(BaseSettings):
    # env_ignore_empty: `KAFKA_BOOTSTRAP=` means unset, as operators expect
    model_config = SettingsConfigDict(env_prefix="VOX_", extra="forbid", populate_by_name=True, env_ignore_empty=True,
                                      env_nested_delimiter="__")

    home: Path = Field(Path(".vox"), description="Directory for local state: broker, chDB data, logs.")
    kafka_bootstrap: str | None = Field(
        None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP", "VOX_KAFKA_BOOTSTRAP", "kafka_bootstrap"),
        description="host:port[,host:port] of your Kafka cluster; unset: the local broker vox runs.",
    )
    kafka_timeout_s: float = Field(10.0, gt=0, le=300, description="How long to wait for Kafka before giving up.")
    kafka_port: int | None = Field(None, ge=1, le=65535, description="Port of the local broker; unset: a free one.")
    kafka_heap_mb: int = Field(512, ge=128, description="JVM heap of the local broker.")
    topic_prefix: str = Field("vox.", pattern=r"^[A-Za-z0-9._-]*$", description="Prefix of every vox topic.")
    topic_partitions: int = Field(4, ge=1, le=1000, description="Partitions of each topic `vox topics create` makes.")
    topic_replication: int = Field(1, ge=1, le=16, description="Replication factor of those topics.")
    clickhouse_url: str | None = Field(
        None,
        validation_alias=AliasChoices("CLICKHOUSE_URL", "VOX_CLICKHOUSE_URL", "clickhouse_url"),
        description=f"{CLICKHOUSE_URL_FORMS}; unset: chDB under VOX_HOME/chdb.",
    )
    consumer_group: str = Field("vox-worker", min_length=1, description="Kafka consumer group (and Faust app id).")
    consumer_session_timeout_s: float = Field(
        15.0, ge=6, le=300,  # brokers refuse less than group.min.session.timeout.ms (6 s by default)
        description="How long the group waits for a silent worker before giving its partitions to another.",
    )
    batch_max_events: int = Field(8000, ge=1, le=100_000, description="Largest batch the worker validates and writes "
                                  "(bigger batches spread the fixed cost of each ClickHouse and Kafka round trip).")
    batch_max_wait_s: float = Field(0.5, gt=0, le=60, description="Longest a batch waits to fill before it is written.")
    write_retry_max_s: float = Field(30.0, gt=0, description="Longest pause between retries of a failed ClickHouse write.")
    max_clock_skew_s: float = Field(86_400.0, ge=0, le=30 * 86_400, description="How far in the future of its "
                                    "ingestion an event's occurred_at may be (producers' clocks drift); later ones "
                                    "are dead letters (out_of_window).")
    stall_timeout_s: float = Field(60.0, gt=0, description="How long a stage may have work and commit nothing, or "
                                   "writes keep failing, before /healthz reports it stalled.")
    stall_exit_s: float = Field(900.0, ge=0, description="How long a stage may stay stalled before the worker exits "
                                "non-zero for its supervisor to restart it (0: never).")
    query_max_seconds: float = Field(30.0, gt=0, le=3600, description="Longest an analyst query (vox sql) may run.")
    query_max_rows: int = Field(100_000, ge=1, description="Most rows an analyst query (vox sql) may return.")
    web_host: str = Field("127.0.0.1", description="Address of the worker's HTTP server (/metrics).")
    web_port: int = Field(6066, ge=1, le=65535, description="Port of the worker's HTTP server.")
    log_level: Literal["debug", "info", "warn", "error"] = Field("warn", description="Worker log level.")
    stages: str = Field("customers,sentiment,leaders", description="Keyed stages the "
                        "worker and `vox replay` run, comma-separated: `customers`, `sentiment`, `leaders`, or "
                        "module:NAME of a `KeyedStage` (docs/architecture.md).")
    leaders: LeadersConfig = Field(default_factory=LeadersConfig, description="Per-topic interaction graphs and "
                                   "opinion leaders: docs/leaders.md.")
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig, description="Text sentiment, "
                                       "per-subject windows and shift alerts: docs/sentiment.md.")
    scoring: ScoringConfig = Field(default_factory=ScoringConfig, description="Customer scores: docs/scoring.md.")

    @field_validator("home")
    @classmethod
    def _check_home(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file: VOX_HOME names a directory for vox's local state")
        return value

    @field_validator("stages")
    @classmethod
    def _check_stages(cls, value: str) -> str:
        if not re.fullmatch(r"\s*[\w.:]+(\s*,\s*[\w.:]+)*\s*", value):
            raise ValueError(f"{value!r}: expected stage names separated by commas, each `customers` or module:NAME")
        return value

    def runs(self, stage: str) -> bool:
        """Whether the built-in stage `stage` is among VOX_STAGES."""
        return stage in (part.strip() for part in self.stages.split(","))

    @field_validator("clickhouse_url")
    @classmethod
    def _check_clickhouse_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clickhouse_url(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("VOX_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    # -- derived values ---------------------------------------------------------------------

    @property
    def clickhouse(self) -> ClickHouseTarget:
        url = self.clickhouse_url or f"chdb://{self.home.resolve() / 'chdb'}"
        return parse_clickhouse_url(url)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for a child process (`vox worker`)."""
        env = {}
        for field in type(self).model_fields:
            value = getattr(self, field)
            if field in GROUPS:
                for name, knob in value.model_dump(mode="json").items():
                    env[f"VOX_{field.upper()}__{name.upper()}"] = json.dumps(knob) if isinstance(knob, (dict, list)) \
                        else str(knob)  # fmt: skip
            elif value is not None:
                env[env_name(field)] = str(value.resolve() if isinstance(value, Path) else value)
        return env


ENV_NAMES = {"kafka_bootstrap": "KAFKA_BOOTSTRAP", "clickhouse_url": "CLICKHOUSE_URL"}
#: the settings that are groups of their own, set as VOX_<GROUP>__<FIELD>
GROUPS = {"scoring": ScoringConfig, "sentiment": SentimentConfig, "leaders": LeadersConfig}


def env_name(field: str) -> str:
    return ENV_NAMES.get(field, f"VOX_{field.upper()}")


def known_variables() -> set[str]:
    """Every VOX_ variable vox reads."""
    names = {env_name(field) for field in Settings.model_fields} | {"VOX_CONFIG", "VOX_KAFKA_BOOTSTRAP",
                                                                    "VOX_CLICKHOUSE_URL"}  # fmt: skip
    return names | {f"VOX_{group.upper()}__{field.upper()}" for group, config in GROUPS.items()
                    for field in config.model_fields}  # fmt: skip


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and VOX_CONFIG, or a ConfigError naming what to fix."""
    config_file = os.environ.get("VOX_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"VOX_CONFIG names {config_file!r}, which is not a readable file")
    unknown = sorted(name for name in os.environ if name.startswith("VOX_") and name not in known_variables())
    if unknown:  # pydantic-settings ignores a variable it does not know: a typo would go unseen
        raise ConfigError(f"{unknown[0]}: unknown setting (see the configuration table in README.md)")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "extra_forbidden" and config_file:  # only the file can hold unknown keys
            key = str(first["loc"][0]) if first["loc"] else "?"
            hint = ": keys are written in lower case without VOX_" if key.upper().startswith("VOX_") else ""
            raise ConfigError(f"VOX_CONFIG file {config_file}: key {key!r}: unknown setting{hint} "
                              "(see the configuration table in README.md)") from None  # fmt: skip
        field = "__".join(str(part) for part in first["loc"][:2]) if first["loc"] else "settings"
        field = field if field.split("__")[0] in GROUPS else field.split("__")[0]
        field = next((name for name, env in ENV_NAMES.items() if field == env), field)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown setting (see the configuration table in README.md)"
        raise ConfigError(f"{env_name(field.lower())}: {message}") from None
    except ValueError as exc:  # a list or dict variable that is not JSON, or a malformed TOML file
        not_json = _not_json_variable()
        if not_json:
            raise ConfigError(f"{not_json}: not valid JSON; lists and dicts are written as JSON, "
                              "e.g. VOX_SCORING__COMPETENCE_CUTS='[30, 70]'") from None  # fmt: skip
        raise ConfigError(f"VOX_CONFIG file {config_file}: {exc}") from None


def _not_json_variable() -> str | None:
    """The first VOX_<GROUP>__ variable of a list or dict setting whose value does not parse as JSON."""
    for name, value in sorted(os.environ.items()):
        group, _, field_name = name.removeprefix("VOX_").partition("__")
        config = GROUPS.get(group.lower())
        field = config.model_fields.get(field_name.lower()) if config and field_name else None
        if field is None or get_origin(field.annotation) not in (dict, tuple, list):
            continue
        try:
            json.loads(value)
        except ValueError:
            return name
    return None
