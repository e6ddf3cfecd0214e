"""Ten SIGKILLs in one stream: every event stored once, and every customer's scores equal
`vox replay` of the same file. (Cells are compared and counted, not asserted: placements are
still evaluated at batch ends, so a kill can leave a customer in a neighbouring cell; issue 14's
fixed event-time placement points make them equal.)"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.test_e2e import kill_mid_stream, settings_for_test
from vox.settings import parse_clickhouse_url
from vox.store import open_store
from vox.topics import create_topics, topic_names
from vox.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e
KILLS = 10


def scores_and_cells(url: str) -> dict[str, tuple]:
    with open_store(parse_clickhouse_url(url)) as store:
        rows = store.query(f"SELECT customer_id, competence, implication, value, cell FROM {store.database}.customer_scores FINAL")
    return {row[0]: row[1:] for row in rows}


def counts(url: str) -> tuple[int, int]:
    with open_store(parse_clickhouse_url(url)) as store:
        rows, distinct = store.query(f"SELECT count(), uniqExact(event_id) FROM {store.database}.interactions")[0]
    return int(rows), int(distinct)


def test_ten_kills_lose_and_double_nothing_and_scores_equal_replay(kafka_home: Path, chdb_dir: Path,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    from vox.migrations import migrate
    from vox.produce import partition_key
    from vox.scoring.engine import ScoringEngine
    from vox.scoring.replay import replay_file
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import write_simulation

    sim = tmp_path / "sim"
    write_simulation(SimConfig(customers=300, days=30, seed=9, duplicate_rate=0.02, late_rate=0.05), sim, progress=False)
    events_file = sim / "events.jsonl"
    lines = events_file.read_bytes().splitlines()
    url = f"chdb://{chdb_dir}?database=kills{uuid.uuid4().hex[:8]}"
    settings = settings_for_test(kafka_home, url, tmp_path / "home")
    create_topics(settings)
    names = topic_names(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=10)
    for line in lines:
        event = json.loads(line)
        producer.send(names.for_family(event["type"]), key=str(partition_key(event)).encode(), value=line)
    producer.flush()
    producer.close()

    for _ in range(KILLS):  # each life reads a fourteenth of the stream or more, then dies
        kill_mid_stream(settings, len(lines) // 14)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        worker.wait_settled(timeout_s=240)
    finally:
        worker.stop()
    streamed = scores_and_cells(url)

    replay_url = f"chdb://{chdb_dir}?database=replay{uuid.uuid4().hex[:8]}"
    with open_store(parse_clickhouse_url(replay_url)) as store:
        migrate(store)
        report = replay_file(events_file, store, ScoringEngine(settings.scoring), settings.batch_max_events, progress=False)
    replayed = scores_and_cells(replay_url)

    assert counts(url) == (report.events, report.events)  # every valid event once, after ten kills
    assert set(streamed) == set(replayed) and len(streamed) > 200
    worst = 0.0
    for customer, expected in replayed.items():
        got = streamed[customer]
        assert got[:3] == pytest.approx(expected[:3], abs=1e-4), customer
        worst = max(worst, *(abs(a - b) for a, b in zip(got[:3], expected[:3])))
    other_cell = sum(streamed[c][3] != replayed[c][3] for c in replayed)
    print(f"\n{KILLS} kills: {report.events} events stored once; {len(replayed)} customers, scores within "
          f"{worst:.1e} of replay; {other_cell} in another cell than replay")
