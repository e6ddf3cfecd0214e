"""`vox produce FILE`: publish a JSON-lines file of events, each to its family's topic.

Lines are sent as they are (the worker, not the producer, validates), keyed by customer id so
one customer's events keep their order in one partition; reviews by product id, so that a
product's reviews do (see `vox.core.keys`). A line whose family cannot be told
(not JSON, or no known `type`) is not published unless `--topic` names where such lines go;
it is reported with its line number.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vox.core.keys import input_key
from vox.errors import VoxError
from vox.settings import Settings
from vox.kafka.topics import bootstrap, topic_names

MAX_REPORTED_LINES = 5


@dataclass
class ProduceReport:
    per_topic: Counter = field(default_factory=Counter)
    unroutable: list[int] = field(default_factory=list)
    failed: int = 0

    @property
    def published(self) -> int:
        return sum(self.per_topic.values())

    def summary(self) -> str:
        parts = ", ".join(f"{topic} {count}" for topic, count in sorted(self.per_topic.items()))
        text = f"published {self.published} messages ({parts or 'none'})"
        if self.unroutable:
            shown = ", ".join(map(str, self.unroutable[:MAX_REPORTED_LINES]))
            more = "..." if len(self.unroutable) > MAX_REPORTED_LINES else ""
            text += f"; {len(self.unroutable)} lines not published, no event family (lines {shown}{more})"
        if self.failed:
            text += f"; {self.failed} sends FAILED"
        return text


def route(line: bytes, family_topics: dict[str, str]) -> tuple[str | None, bytes | None]:
    """(topic, key) for one line; topic None when its family cannot be told."""
    try:
        event = json.loads(line)
    except ValueError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    topic = family_topics.get(event.get("type"))  # type: ignore[arg-type]
    key = input_key(event)
    return topic, key.encode() if isinstance(key, str) else None


def produce_file(path: Path, settings: Settings, fallback_topic: str | None = None, progress: bool = True) -> ProduceReport:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    from tqdm import tqdm

    if not path.is_file():
        raise VoxError(f"no such file: {path}")
    names = topic_names(settings)
    family_topics = {family: topic for topic, family in names.inputs.items()}
    servers = bootstrap(settings)
    try:
        producer = KafkaProducer(
            bootstrap_servers=servers.split(","), acks="all", linger_ms=20, batch_size=256 * 1024,
            max_request_size=4 * 1024 * 1024, request_timeout_ms=30_000, bootstrap_timeout_ms=int(settings.kafka_timeout_s * 1000),
        )  # fmt: skip
    except KafkaError:
        raise VoxError(f"cannot reach Kafka at {servers}: is the broker running (`vox kafka status`)?") from None
    report = ProduceReport()

    def failed(_exc: BaseException) -> None:
        report.failed += 1

    with open(path, "rb") as lines, tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=f"producing {path.name}", disable=not progress
    ) as bar:
        for number, line in enumerate(lines, start=1):
            bar.update(len(line))
            payload = line.rstrip(b"\r\n")
            if not payload.strip():
                continue
            topic, key = route(payload, family_topics)
            topic = topic or fallback_topic
            if topic is None:
                report.unroutable.append(number)
                continue
            try:
                producer.send(topic, value=payload, key=key).add_errback(failed)
            except KafkaError as exc:
                raise VoxError(f"cannot publish line {number} to {topic}: {exc}") from None
            report.per_topic[topic] += 1
    producer.flush()
    producer.close()
    return report
