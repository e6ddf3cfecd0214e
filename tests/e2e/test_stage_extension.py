"""The extension point: a keyed stage declared outside vox (tests/stages.py, events per
product) runs in the worker beside the customer scoring, survives a SIGKILL, and equals `vox
replay` of the same file, through real Kafka and chDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_e2e import kill_mid_stream, replayed_into, settle, stream_simulation
from vox.clickhouse.store import open_store
from vox.kafka.topics import create_topics
from vox.settings import parse_clickhouse_url

pytestmark = pytest.mark.e2e
STAGES = "customers,tests.stages:PRODUCT_EVENTS"


def product_events(url: str) -> dict[str, int]:
    with open_store(parse_clickhouse_url(url)) as store:
        rows = store.query(f"SELECT product_id, events FROM {store.database}.product_events FINAL")
    return {product: int(events) for product, events in rows}


def test_a_stage_added_by_declaration_is_streamed_and_replayed_alike(kafka_home: Path, chdb_dir: Path,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    events_file, lines, settings, stream_url = stream_simulation(kafka_home, chdb_dir, tmp_path, days=10, seed=5)
    settings = settings.model_copy(update={"stages": STAGES})
    assert settings.topic("product-events") in create_topics(settings)
    kill_mid_stream(settings, len(lines) // 2)
    settle(settings)
    streamed = product_events(stream_url)

    replay_url, report = replayed_into(chdb_dir, events_file, settings)
    with open_store(parse_clickhouse_url(stream_url)) as store:
        stored = {product: int(n) for product, n in store.query(
            f"SELECT product_id, count() FROM {store.database}.interactions WHERE product_id != '' GROUP BY product_id")}  # fmt: skip
    assert streamed == stored  # every stored event with a product counted once, after a kill
    assert product_events(replay_url) == streamed and report.events > 1000
