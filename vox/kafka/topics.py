"""vox's Kafka topics: names, which family each carries, creating them, reaching the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass

from vox.errors import UnreachableError, VoxError
from vox.settings import Settings

#: input topic suffix -> event family it carries
INPUT_TOPICS = {"reviews": "review", "votes": "vote", "posts": "post", "clicks": "click"}
DLQ = "dlq"
SIGNALS = "signals"  # internal: signals keyed by the customer they are about
SEGMENTS = "segments"  # out: a customer moved between typology cells


@dataclass(frozen=True)
class TopicNames:
    inputs: dict[str, str]  # topic name -> family
    dlq: str
    signals: str
    segments: str

    def for_family(self, family: str) -> str:
        return next(topic for topic, fam in self.inputs.items() if fam == family)

    @property
    def all(self) -> list[str]:
        return [*self.inputs, self.dlq, self.signals, self.segments]


def topic_names(settings: Settings) -> TopicNames:
    return TopicNames(
        inputs={settings.topic(suffix): family for suffix, family in INPUT_TOPICS.items()},
        dlq=settings.topic(DLQ),
        signals=settings.topic(SIGNALS),
        segments=settings.topic(SEGMENTS),
    )


def ingest_group(consumer_group: str) -> str:
    """The consumer group of the worker's ingest stage, which reads the input topics. The scoring
    stage is a Faust app whose group is the configured name; a group has one protocol, so the
    two cannot share it."""
    return f"{consumer_group}.ingest"


def bootstrap(settings: Settings) -> str:
    """The cluster to use: KAFKA_BOOTSTRAP, else the local broker `vox kafka start` runs."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    state = settings.home / "kafka" / "broker.json"
    if state.is_file():
        return json.loads(state.read_text())["bootstrap"]
    raise UnreachableError("no Kafka: run `vox kafka start` for a local broker, or set KAFKA_BOOTSTRAP")


def admin_client(servers: str, timeout_s: float = 10.0):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(
            bootstrap_servers=servers.split(","),
            client_id="vox-admin",
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except (KafkaError, OSError) as exc:
        raise UnreachableError(
            f"cannot reach Kafka at {servers} ({type(exc).__name__}); is the broker running "
            "(`vox kafka status`), and is KAFKA_BOOTSTRAP right?"
        ) from None


@dataclass(frozen=True)
class TopicMismatch:
    """An existing topic whose partition count differs from VOX_TOPIC_PARTITIONS."""

    topic: str
    partitions: int
    keyed: bool  # a keyed stage's topic: its records go to partition hash(key) % VOX_TOPIC_PARTITIONS

    def describe(self, wanted: int) -> str:
        return f"exists with {self.partitions} partitions, not VOX_TOPIC_PARTITIONS={wanted}"


def create_topics(settings: Settings) -> dict[str, str]:
    """Create every vox topic that does not exist yet; return topic -> 'created' | 'exists' | how
    an existing one differs. Raise if a keyed stage's topic has another partition count than
    VOX_TOPIC_PARTITIONS: its keys would be looked for in the wrong partitions."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    from vox.stages import declared_stages

    stage_topics = [settings.topic(suffix) for stage in declared_stages(settings) for suffix in (stage.topic, *stage.outputs)]
    admin = admin_client(bootstrap(settings), settings.kafka_timeout_s)
    try:
        existing = set(admin.list_topics())
        wanted = list(dict.fromkeys([*topic_names(settings).all, *stage_topics]))
        # checked before creating any: new topics beside mismatched ones would only add to the mess
        mismatches = _partition_mismatches(admin, [t for t in wanted if t in existing], set(stage_topics),
                                           settings.topic_partitions)  # fmt: skip
        keyed = [m for m in mismatches if m.keyed]
        if keyed:
            counts = sorted({m.partitions for m in keyed})
            listed = "; ".join(", ".join(sorted(m.topic for m in keyed if m.partitions == n)) + f" {n}" for n in counts)
            raise VoxError(f"the keyed stages' topics must have VOX_TOPIC_PARTITIONS={settings.topic_partitions} "
                           f"partitions; they have: {listed}. Set VOX_TOPIC_PARTITIONS to their count (Kafka "
                           "cannot repartition a topic in place)")  # fmt: skip
        outcome = {m.topic: m.describe(settings.topic_partitions) for m in mismatches}
        for topic in wanted:
            if topic in existing:
                outcome.setdefault(topic, "exists")
                continue
            try:
                admin.create_topics(
                    [NewTopic(topic, settings.topic_partitions, settings.topic_replication)], validate_only=False
                )
                outcome[topic] = "created"
            except TopicAlreadyExistsError:  # created by someone else meanwhile
                outcome[topic] = "exists"
            except KafkaError as exc:
                raise VoxError(f"cannot create topic {topic}: {exc}") from None
        return {topic: outcome[topic] for topic in wanted}
    finally:
        admin.close()


def _partition_mismatches(admin, topics: list[str], keyed: set[str], wanted: int) -> list[TopicMismatch]:  # noqa: ANN001
    if not topics:
        return []
    described = admin.describe_topics(topics)
    return [TopicMismatch(d["name"], len(d["partitions"]), d["name"] in keyed) for d in described
            if len(d["partitions"]) != wanted]  # fmt: skip
