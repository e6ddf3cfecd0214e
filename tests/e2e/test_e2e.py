"""End to end through a real Kafka broker, a real `vox worker` process and real ClickHouse
(chDB and the Debian server): N valid and M invalid events in, exactly N rows and M dead
letters out, and the same counts after the worker re-reads part of the stream."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from tests.factories import FACTORIES, encode, review
from vox.core.leaders.config import LeadersConfig
from vox.core.sentiment.config import SentimentConfig
from vox.local.broker import LocalKafka
from vox.settings import Settings, parse_clickhouse_url
from vox.clickhouse.store import open_store
from vox.kafka.topics import create_topics, ingest_group, topic_names
from vox.local.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e

VALID_PER_FAMILY = 150
# (topic family, raw bytes, expected reason class): every kind of bad input the DLQ handles
INVALID = [
    ("review", b"not json at all", "not_json"),
    ("review", b'{"type": "review", "text": "caf\xe9"}', "not_utf8"),
    ("vote", b"[1, 2, 3]", "not_object"),
    ("post", b'"just a string"', "not_object"),
    ("click", b"", "empty"),
    ("review", encode(review(rating=0)), "invalid_field"),
    ("review", encode(review(rating=6)), "invalid_field"),
    ("review", encode(review(occurred_at="2026-03-01T10:00:00")), "invalid_field"),
    ("review", encode(review(text="x" * 25_000)), "too_large"),
    ("review", encode({k: v for k, v in review().items() if k != "category"}), "missing_field"),
    ("vote", encode(review(type="purchase")), "unknown_family"),
    ("click", encode(review()), "wrong_topic"),
]


def settings_for_test(kafka_home: Path, clickhouse_url: str, home: Path) -> Settings:
    """Own topics and consumer group per test, on the session's broker."""
    tag = uuid.uuid4().hex[:8]
    state = LocalKafka(Settings(home=kafka_home)).state()
    assert state is not None and state.running
    return Settings(home=home, kafka_bootstrap=state.bootstrap, clickhouse_url=clickhouse_url,
                    topic_prefix=f"e2e{tag}.", consumer_group=f"e2e-{tag}", topic_partitions=3,
                    batch_max_events=100, batch_max_wait_s=0.2, consumer_session_timeout_s=6)  # fmt: skip


def publish(settings: Settings) -> tuple[int, int]:
    names = topic_names(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    valid, bad = 0, iter(INVALID)
    for n in range(VALID_PER_FAMILY):
        for family, make in FACTORIES.items():
            event = make(event_id=f"{family}-{n}", customer_id=f"cust-{n % 37}")
            producer.send(names.for_family(family), key=event["customer_id"].encode(), value=encode(event))
            valid += 1
        # bad messages spread through the stream: the worker must keep going past each one
        if n % 12 == 0 and (case := next(bad, None)) is not None:
            family, raw, _ = case
            producer.send(names.for_family(family), value=raw)
    assert next(bad, None) is None, "every bad message was sent"
    producer.flush()
    producer.close()
    return valid, len(INVALID)


def table_counts(clickhouse_url: str) -> dict:
    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        db = store.database
        return {
            "interactions": int(store.scalar(f"SELECT count() FROM {db}.interactions")),
            "distinct_events": int(store.scalar(f"SELECT uniqExact(event_id) FROM {db}.interactions")),
            "dead_letters": int(store.scalar(f"SELECT count() FROM {db}.dead_letters")),
            "reasons": sorted(r for (r,) in store.query(f"SELECT reason_class FROM {db}.dead_letters")),
            "families": dict((f, int(c)) for f, c in store.query(
                f"SELECT event_type, count() FROM {db}.interactions GROUP BY event_type")),  # fmt: skip
        }


def dlq_messages(settings: Settings, expected: int) -> list:
    return topic_messages(settings, topic_names(settings).dlq, expected)


def topic_messages(settings: Settings, topic: str, expected: int | None = None) -> list:
    """Every message of a topic (or the first `expected`), read from the beginning."""
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)  # fmt: skip
    messages = []
    for message in consumer:
        messages.append(message)
        if expected is not None and len(messages) >= expected:
            break
    consumer.close()
    return messages


def drain(settings: Settings, expected: int, timeout_s: float = 120) -> None:
    """Run a worker process until it has consumed `expected` messages, then stop it cleanly."""
    worker = WorkerProcess(settings)
    worker.start()
    try:
        worker.wait_consumed(expected, timeout_s=timeout_s)
    finally:
        worker.stop()


def settle(settings: Settings, timeout_s: float = 180) -> None:
    """Run a worker process until every stage has caught up, then stop it cleanly."""
    worker = WorkerProcess(settings)
    worker.start()
    try:
        worker.wait_settled(timeout_s=timeout_s)
    finally:
        worker.stop()


def kill_mid_stream(settings: Settings, after: int) -> None:
    """Run a worker until it has consumed `after` messages, then SIGKILL it: no clean shutdown,
    no final commit. Killed on failure too, so no worker outlives the test."""
    worker = WorkerProcess(settings)
    worker.start()
    try:
        worker.wait_consumed(after, timeout_s=90)
    finally:
        assert worker.process is not None
        worker.process.kill()
        worker.process.wait()


def group_consumer(settings: Settings) -> tuple[KafkaConsumer, list[TopicPartition]]:
    """A consumer in the worker's ingest group (not subscribed: it only reads and moves offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=ingest_group(settings.consumer_group),
                             enable_auto_commit=False)  # fmt: skip
    partitions = [TopicPartition(topic, p) for topic in topic_names(settings).inputs
                  for p in range(settings.topic_partitions)]  # fmt: skip
    return consumer, partitions


def rewind_group(settings: Settings, fraction: float) -> int:
    """Move the (stopped) worker's committed offsets back, as an operator replaying would;
    return how many messages it will read again."""
    consumer, partitions = group_consumer(settings)
    consumer.assign(partitions)
    again, offsets = 0, {}
    for tp in partitions:
        committed = consumer.committed(tp) or 0
        target = int(committed * (1 - fraction))
        offsets[tp] = OffsetAndMetadata(target, "", -1)
        again += committed - target
    consumer.commit(offsets)
    consumer.close()
    return again


def test_events_land_once_with_dead_letters_and_survive_a_replay(kafka_home: Path, clickhouse_url: str,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    started = time.monotonic()
    settings = settings_for_test(kafka_home, clickhouse_url, tmp_path)
    create_topics(settings)
    valid, invalid = publish(settings)

    drain(settings, valid + invalid)

    first = table_counts(clickhouse_url)
    assert first["interactions"] == valid == first["distinct_events"]
    assert first["families"] == {family: VALID_PER_FAMILY for family in FACTORIES}
    assert first["dead_letters"] == invalid
    assert first["reasons"] == sorted(reason for _, _, reason in INVALID)

    dead = dlq_messages(settings, invalid)
    assert len(dead) == invalid
    originals = sorted(raw for _, raw, _ in INVALID)
    assert sorted(message.value for message in dead) == originals  # the original bytes, untouched
    headers = dict(dead[0].headers)
    assert {"vox-source-topic", "vox-source-partition", "vox-source-offset", "vox-reason", "vox-reason-class"} <= set(headers)

    # Replay: half of every partition is read again by a fresh worker process.
    replayed = rewind_group(settings, fraction=0.5)
    assert replayed > valid // 3
    worker = WorkerProcess(settings)
    worker.start()
    try:
        worker.wait_settled()  # every partition read to its end again
        reread = worker.consumed()
    finally:
        worker.stop()
    # Faust may skip a message or two of the re-read range around its start-up rebalance: they
    # sit below the stored watermark (written before), so they are rightly not read back.
    assert reread >= 0.9 * replayed
    second = table_counts(clickhouse_url)
    assert second == first
    print(f"\ne2e ({parse_clickhouse_url(clickhouse_url).kind}): {valid} valid + {invalid} invalid, "
          f"{replayed} replayed ({reread:.0f} read again), {time.monotonic() - started:.1f} s wall")  # fmt: skip


def publish_mixed(settings: Settings, total: int, id_prefix: str) -> None:
    """`total` valid events, the four families in turn, spread over 997 customers (keyed by customer)."""
    names = topic_names(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)
    for n in range(total):
        family = ("review", "vote", "post", "click")[n % 4]
        event = FACTORIES[family](event_id=f"{id_prefix}{n}", customer_id=f"c{n % 997}")
        producer.send(names.for_family(family), key=event["customer_id"].encode(), value=encode(event))
    producer.flush()
    producer.close()


def committed_total(settings: Settings) -> int:
    consumer, partitions = group_consumer(settings)
    total = sum(consumer.committed(tp) or 0 for tp in partitions)
    consumer.close()
    return total


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(kafka_home: Path, chdb_dir: Path, tmp_path: Path) -> None:
    """SIGKILL between batches or in the middle of one: offsets were committed only for what
    was written, and what is read again is not written twice."""
    url = f"chdb://{chdb_dir}?database=crash{uuid.uuid4().hex[:8]}"
    settings = settings_for_test(kafka_home, url, tmp_path)
    create_topics(settings)
    total = 20_000
    publish_mixed(settings, total, id_prefix="k")

    kill_mid_stream(settings, total // 4)

    left = total - committed_total(settings)
    assert left > 0, "the kill came after the last commit: make the stream longer"
    drain(settings, left)
    counts = table_counts(url)
    assert counts["interactions"] == counts["distinct_events"] == total
    assert counts["dead_letters"] == 0


def test_simulator_live_mode_publishes_every_message(kafka_home: Path, tmp_path: Path) -> None:
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import publish_simulation

    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/unused", tmp_path)
    create_topics(settings)
    counts = publish_simulation(SimConfig(customers=60, days=3, invalid_rate=0.05), settings, rate=0, progress=False)
    consumer = KafkaConsumer(*topic_names(settings).inputs, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=4000, group_id=None)  # fmt: skip
    received = list(consumer)
    consumer.close()
    assert len(received) == counts["published"] == counts["events"] + counts["duplicates"] + counts["invalid"]
    assert sum(1 for message in received if message.value == b"") > 0  # live mode carries empty messages


def scores_table(clickhouse_url: str) -> dict[str, tuple]:
    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        rows = store.query(
            f"SELECT customer_id, competence, implication, value, c_learning, i_depth, role, is_staff "
            f"FROM {store.database}.customer_scores FINAL"
        )
    return {row[0]: row[1:] for row in rows}


def stream_simulation(kafka_home: Path, chdb_dir: Path, tmp_path: Path, days: int, seed: int,
                      stream_url: str | None = None):  # noqa: ANN201
    """A simulated file (300 customers, some resent and late events), published as producers
    would (`vox produce`'s keys); returns (events file, its lines, settings, stream URL: chDB
    unless given)."""
    from vox.core.keys import input_key
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import write_simulation

    sim = tmp_path / "sim"
    write_simulation(SimConfig(customers=300, days=days, seed=seed, duplicate_rate=0.02, late_rate=0.05), sim,
                     progress=False)  # fmt: skip
    events_file = sim / "events.jsonl"
    lines = events_file.read_bytes().splitlines()
    stream_url = stream_url or f"chdb://{chdb_dir}?database=stream{uuid.uuid4().hex[:8]}"
    settings = settings_for_test(kafka_home, stream_url, tmp_path / "home")
    # the simulator's events arrive up to 600 s late: a subject that waits that long takes every
    # opinion in event-time order, in the stream as in replay (docs/sentiment.md)
    settings = settings.model_copy(update={"sentiment": SentimentConfig(lateness_s=600),
                                           "leaders": LeadersConfig(lateness_s=600)})  # the same for a topic
    create_topics(settings)
    names = topic_names(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=10)
    for line in lines:
        event = json.loads(line)
        producer.send(names.for_family(event["type"]), key=str(input_key(event)).encode(), value=line)
    producer.flush()
    producer.close()
    return events_file, lines, settings, stream_url


def replayed_into(chdb_dir: Path, events_file: Path, settings: Settings):  # noqa: ANN201
    """`vox replay` of the file into a fresh chDB database: (its URL, the replay report)."""
    from vox.clickhouse.migrations import migrate
    from vox.clickhouse.tables import VoxTables
    from vox.replay import replay_file
    from vox.stages import declared_stages

    replay_url = f"chdb://{chdb_dir}?database=replay{uuid.uuid4().hex[:8]}"
    with open_store(parse_clickhouse_url(replay_url)) as store:
        migrate(store, declared_stages(settings))
        report = replay_file(events_file, VoxTables(store), settings, progress=False)
    return replay_url, report


def test_streamed_scores_equal_replay_even_after_a_restart(kafka_home: Path, chdb_dir: Path, tmp_path: Path) -> None:
    """The worker's scores, with a SIGKILL and a restart in the middle of the stream, equal
    `vox replay` of the same events."""
    events_file, lines, settings, stream_url = stream_simulation(kafka_home, chdb_dir, tmp_path, days=20, seed=4)
    names = topic_names(settings)

    kill_mid_stream(settings, len(lines) // 3)
    settle(settings)
    streamed = scores_table(stream_url)
    moves = topic_messages(settings, names.segments)
    with open_store(parse_clickhouse_url(stream_url)) as store:
        stored_moves = {(c, f, t) for c, f, t in store.query(
            f"SELECT customer_id, from_cell, to_cell FROM {store.database}.segment_transitions FINAL")}  # fmt: skip
    announced = {(m["customer_id"], m["from"], m["to"]) for m in (json.loads(x.value) for x in moves)}
    assert stored_moves and stored_moves <= announced  # every move reached vox.segments (at least once)
    assert all(x.key.decode() == json.loads(x.value)["customer_id"] for x in moves)

    replay_url, _ = replayed_into(chdb_dir, events_file, settings)
    replayed = scores_table(replay_url)

    assert set(streamed) == set(replayed) and len(streamed) > 200
    for customer, expected in replayed.items():
        got = streamed[customer]
        assert got[:5] == pytest.approx(expected[:5], abs=2e-3), customer  # Float32 columns
        assert got[5:] == expected[5:], customer
    assert_same_sentiment(stream_url, replay_url)
    assert_same_leaders(stream_url, replay_url)


def test_a_second_worker_joining_and_leaving_mid_stream_loses_nothing(kafka_home: Path, clickhouse_server,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    """Scaling out and back in: two rebalances while a worker is mid-stream. Faust alone lost
    8 to 18 messages per partition here (see vox/core/continuity.py); every event must be written."""
    url = clickhouse_server.url(f"scale{uuid.uuid4().hex[:8]}")
    settings = settings_for_test(kafka_home, url, tmp_path / "a")
    create_topics(settings)
    names = topic_names(settings)
    total = 30_000
    publish_mixed(settings, total, id_prefix="s")

    first = WorkerProcess(settings)
    first.start()
    try:
        first.wait_consumed(total // 6, timeout_s=90)
        second = WorkerProcess(settings.model_copy(update={"home": tmp_path / "b"}))  # same group
        second.start()
        try:
            second.wait_consumed(500, timeout_s=90)
        finally:
            second.stop()
        first.wait_settled(timeout_s=180)

        def stored_progress() -> int:
            with open_store(parse_clickhouse_url(url)) as store:
                return sum(o for _, _, o in store.query(
                    f"SELECT topic, partition, max(next_offset) FROM {store.database}.ingest_progress "
                    f"WHERE topic IN ({', '.join(repr(t) for t in names.inputs)}) GROUP BY topic, partition"))  # fmt: skip

        # the running worker saves its watermarks every second: they reach the end of every
        # partition without relying on how fast it shuts down (a stop over 30 s is a kill)
        deadline = time.monotonic() + 30
        while stored_progress() < total and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        first.stop()
    counts = table_counts(url)
    assert counts["interactions"] == counts["distinct_events"] == total
    assert stored_progress() == total  # the stored watermarks reached the end of every partition


def sentiment_tables(clickhouse_url: str) -> tuple[dict, dict]:
    """The sentiment stage's output: windows by (kind, subject, start), alerts by id."""
    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        db = store.database
        windows = store.query(f"SELECT subject_kind, subject, toString(window_start), opinions, mean, share_negative "
                              f"FROM {db}.sentiment_windows FINAL")  # fmt: skip
        alerts = store.query(f"SELECT alert_id, status, direction, toString(started_at), toString(detected_at), "
                             f"events_since_change, evidence FROM {db}.sentiment_alerts FINAL")  # fmt: skip
    # times to the second: the server (18.16) has no DateTime64
    return ({(row[0], row[1], row[2][:19]): (int(row[3]), float(row[4]), float(row[5])) for row in windows},
            {row[0]: (row[1], row[2], row[3][:19], row[4][:19], int(row[5]), tuple(row[6])) for row in alerts})


def cells_table(clickhouse_url: str) -> dict[str, tuple]:
    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        rows = store.query(f"SELECT customer_id, cell, competence_evidence, implication_evidence, "
                           f"competence, implication, version FROM {store.database}.customer_scores FINAL")  # fmt: skip
    return {row[0]: row[1:] for row in rows}


def test_two_workers_and_replay_place_every_customer_in_the_same_cell(kafka_home: Path, chdb_dir: Path,
                                                                      clickhouse_server, tmp_path: Path) -> None:  # fmt: skip
    """Issue 14 item 2: one population and one set of cut points. Two workers share the
    partitions (each cuts nothing from its own customers alone), and every customer's cell, its
    evidence levels, its scores and the sweep point they are as of equal `vox replay`'s. (The
    server: a chDB directory belongs to one process.)"""
    from vox.local.worker_process import wait_all_settled

    events_file, lines, settings, stream_url = stream_simulation(
        kafka_home, chdb_dir, tmp_path, days=20, seed=6, stream_url=clickhouse_server.url(f"two{uuid.uuid4().hex[:8]}"))
    workers = [WorkerProcess(settings), WorkerProcess(settings.model_copy(update={"home": tmp_path / "second"}))]
    try:
        for worker in workers:
            worker.start()
        wait_all_settled(workers, timeout_s=240)
    finally:
        for worker in workers:
            worker.stop()
    streamed = cells_table(stream_url)
    replay_url, _ = replayed_into(chdb_dir, events_file, settings)
    replayed = cells_table(replay_url)

    assert set(streamed) == set(replayed) and len(streamed) > 200
    other = [c for c in replayed if streamed[c][:3] != replayed[c][:3] or streamed[c][5] != replayed[c][5]]
    print(f"\ntwo workers: {len(other)} of {len(replayed)} customers placed otherwise than replay: {other[:10]}")
    assert not other, f"{len(other)} customers placed otherwise than replay, e.g. {other[:3]}"
    assert len({cell for cell, *_ in streamed.values()}) >= 6  # the population's cuts, not one cell for all
    assert_same_sentiment(stream_url, replay_url)  # whichever worker held each subject
    assert_same_leaders(stream_url, replay_url)  # and each topic


def assert_same_sentiment(stream_url: str, replay_url: str) -> None:
    """The sentiment stage's windows and alerts, streamed, equal `vox replay`'s."""
    (stream_windows, stream_alerts), (replay_windows, replay_alerts) = sentiment_tables(stream_url), sentiment_tables(replay_url)
    print(f"sentiment: {len(replay_windows)} windows, {len(replay_alerts)} alerts")
    assert len(replay_windows) > 500 and set(stream_windows) == set(replay_windows)
    for window, expected in replay_windows.items():
        assert stream_windows[window] == pytest.approx(expected, abs=1e-3), window  # Float32 columns
    assert stream_alerts == replay_alerts


def leaders_tables(clickhouse_url: str) -> tuple[dict, set]:
    """The leaders stage's output: standings by (topic, customer), entries and exits."""
    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        db = store.database
        standings = store.query(f"SELECT topic, customer_id, is_leader, rank, kind, score, who, what, whom, credibility, "
                                f"version FROM {db}.opinion_leaders FINAL")  # fmt: skip
        history = store.query(f"SELECT topic, customer_id, change, rank, toString(at), version "
                              f"FROM {db}.opinion_leader_history FINAL")  # fmt: skip
    return ({(r[0], r[1]): (int(r[2]), int(r[3]), r[4], int(r[10]), *map(float, r[5:10])) for r in standings},
            {(r[0], r[1], r[2], int(r[3]), r[4][:19], int(r[5])) for r in history})


def assert_same_leaders(stream_url: str, replay_url: str) -> None:
    """The leaders stage's standings and leader changes, streamed, equal `vox replay`'s."""
    (stream_standings, stream_history), (replay_standings, replay_history) = leaders_tables(stream_url), leaders_tables(replay_url)
    leaders = sum(1 for v in replay_standings.values() if v[0])
    print(f"leaders: {len(replay_standings)} standings, {leaders} leaders, {len(replay_history)} changes")
    assert leaders >= 5 and set(stream_standings) == set(replay_standings)
    for key, expected in replay_standings.items():
        assert stream_standings[key][:4] == expected[:4], key
        assert stream_standings[key][4:] == pytest.approx(expected[4:], abs=1e-3), key  # Float32 columns
    assert stream_history == replay_history


def test_a_silent_customer_s_implication_falls_once_the_watermark_passes_the_next_sweep_point(
        kafka_home: Path, chdb_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    """Issue 14 item 4, live: nothing more from ann, but event time moves on (bob's posts); once
    every source is past the next sweep point by the allowed lateness, ann's row in
    `customer_scores` is as of that point, and her implication has fallen."""
    from datetime import datetime, timedelta, timezone

    url = f"chdb://{chdb_dir}?database=silent{uuid.uuid4().hex[:8]}"
    settings = settings_for_test(kafka_home, url, tmp_path)
    create_topics(settings)
    names = topic_names(settings)
    start = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)

    def publish_posts(posts: list[tuple[str, datetime]]) -> None:
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        for who, at in posts:
            event = FACTORIES["post"](customer_id=who, kind="question", reply_to_customer_id=None, mentions=[],
                                      occurred_at=at.isoformat())  # fmt: skip
            producer.send(names.for_family("post"), key=who.encode(), value=encode(event))
        producer.flush()
        producer.close()

    def ann() -> tuple:
        with open_store(parse_clickhouse_url(url)) as store:
            return store.query(f"SELECT updated_at, implication, days_since_active FROM {store.database}.customer_scores "
                               "FINAL WHERE customer_id = 'ann'")[0]  # fmt: skip

    publish_posts([("ann", start + timedelta(minutes=m)) for m in (0, 5, 10)] +
                  [("bob", start + timedelta(hours=h)) for h in range(1, 4)])  # fmt: skip
    settle(settings)
    before = ann()
    publish_posts([("bob", start + timedelta(days=3))])  # event time moves on by three days
    settle(settings)
    after = ann()
    assert after[0] > before[0] and after[1] < before[1] and after[2] > before[2] + 1, (before, after)
