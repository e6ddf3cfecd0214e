"""Issue 16, live: a planted sentiment shift published to a running worker raises exactly one
alert per subject it touches, on `vox.alerts` and in ClickHouse, within seconds of the review
that decided it (real Kafka, chDB, default settings)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.e2e.test_e2e import settings_for_test
from vox.clickhouse.store import open_store
from vox.kafka.topics import create_topics, topic_names
from vox.local.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e

FRESHNESS_S = 2.0


def review(n: int, stars: int, text: str) -> dict:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"type": "review", "event_id": f"live-{n}", "customer_id": f"c{n % 40}", "occurred_at": now,
            "review_id": f"live-{n}", "product_id": "amp-1", "brand": "Acme", "category": "amplifiers",
            "rating": stars, "text": text, "lang": "en"}  # fmt: skip


def test_a_live_shift_raises_one_alert_per_subject_within_seconds(kafka_home: Path, tmp_path: Path) -> None:
    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb?database=live{uuid.uuid4().hex[:8]}", tmp_path)
    settings = settings.model_copy(update={"batch_max_wait_s": 0.1})
    create_topics(settings)
    names = topic_names(settings)
    received: list[tuple[float, dict]] = []
    stop = threading.Event()

    def listen() -> None:
        consumer = KafkaConsumer(settings.topic("alerts"), bootstrap_servers=settings.kafka_bootstrap,
                                 auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=500)  # fmt: skip
        while not stop.is_set():
            for message in consumer:
                received.append((time.time(), json.loads(message.value)))
        consumer.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    worker = WorkerProcess(settings)
    worker.start()
    published: dict[str, float] = {}
    rng = random.Random(4)
    try:
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=0)
        happy = ["Great amp, warm tone.", "Love it, works perfectly.", "Excellent value, sounds great."]
        angry = ["Broke after a day, awful.", "Terrible hum, I returned it.", "Dead on arrival, useless."]
        plan = [rng.choice([5, 5, 4, 4, 3]) for _ in range(150)] + [rng.choice([1, 1, 2, 3]) for _ in range(80)]
        for n, stars in enumerate(plan):
            event = review(n, stars, rng.choice(happy if stars >= 4 else angry))
            producer.send(names.for_family("review"), key=b"amp-1", value=json.dumps(event).encode())
            producer.flush()
            published[event["event_id"]] = time.time()
            time.sleep(0.05)
        deadline = time.time() + 30
        while time.time() < deadline and len({a["subject"] for _, a in received if a["status"] == "open"}) < 3:
            time.sleep(0.2)
        producer.close()
    finally:
        stop.set()
        listener.join(timeout=5)
        worker.stop()

    raised = [(at, a) for at, a in received if a["status"] == "open"]
    by_subject: dict[str, list] = {}
    for at, alert in raised:
        by_subject.setdefault(f"{alert['subject_kind']}:{alert['subject']}", []).append((at, alert))
    assert set(by_subject) == {"brand:Acme", "product:amp-1", "category:amplifiers"}
    assert all(len({a["alert_id"] for _, a in alerts}) == 1 for alerts in by_subject.values()), by_subject  # one each
    delays = []
    for alerts in by_subject.values():
        at, alert = alerts[0]
        assert alert["direction"] == "negative" and alert["evidence_event_ids"]
        assert int(alert["detected_event_id"].split("-")[1]) >= 150  # after the shift began, not before
        delays.append(at - published[alert["detected_event_id"]])
    print(f"\nalert delays after the deciding review was published: {[round(d, 2) for d in delays]} s")
    assert max(delays) <= FRESHNESS_S

    with open_store(settings.clickhouse) as store:
        rows = store.query(f"SELECT subject_kind, subject, status FROM {store.database}.sentiment_alerts FINAL")
    assert sorted((k, s) for k, s, _ in rows) == sorted(tuple(key.split(":", 1)) for key in by_subject)
