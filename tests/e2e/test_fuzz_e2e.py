"""Hostile input through a real broker, a real worker and both ClickHouse kinds: every message
ends in `interactions` once per event id or in `dead_letters`, and the worker never stalls: a
valid canary sent after each hostile message is written within seconds.

The hostile messages are the adversarial review's cases as fixed examples, plus messages that
hypothesis makes by breaking valid events (fields replaced by any JSON value, removed, ids of
any Unicode, raw bytes)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings, strategies as st
from kafka import KafkaProducer

from tests.factories import FACTORIES, click, encode, post, review, vote
from tests.e2e.test_e2e import settings_for_test
from vox.settings import parse_clickhouse_url
from vox.clickhouse.store import open_store
from vox.kafka.topics import create_topics, topic_names
from vox.local.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e

CANARY_SECONDS = 15.0  # longest a canary may wait behind the hostile message before it


def hostile_examples() -> list[tuple[str, bytes]]:
    """(family topic, bytes): the cases that stalled, doubled or skewed the worker before."""
    cases = [("review", encode(review(occurred_at=when))) for when in
             ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
              "2106-03-01T00:00:00Z", "2200-01-01T00:00:00Z", "2099-06-01T00:00:00Z")]  # fmt: skip
    cases += [("review", encode(review(rating=True))), ("review", encode(review(rating="5"))),
              ("review", encode(review(occurred_at=0))), ("review", encode(review(verified_purchase="true"))),
              ("vote", encode(vote(customer_id="a\u202eb"))), ("post", encode(post(customer_id="nul\x00id"))),
              ("click", encode(click(session_id="\x01"))),
              ("review", b'{"type": "review", "type": "vote", ' + encode(review())[1:]),
              ("review", b'{"type": "review", "text": "' + b"x" * 1_048_000 + b'"}')]  # fmt: skip
    # one id resent with another time, customer and family, and "5" in every family
    first = review(event_id="resent-1")
    cases += [("review", encode(first)), ("review", encode(first | {"occurred_at": "2026-03-11T10:00:00Z"})),
              ("review", encode(first | {"customer_id": "mallory"})), ("vote", encode(vote(event_id="resent-1")))]
    cases += [(family, encode(make(event_id="5"))) for family, make in FACTORIES.items()]
    return cases


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def broken_event(draw: st.DrawFn) -> tuple[str, bytes]:
    family = draw(st.sampled_from(sorted(FACTORIES)))
    event = FACTORIES[family]()
    how = draw(st.sampled_from(["replace", "remove", "unicode id", "bytes"]))
    field = draw(st.sampled_from(sorted(event)))
    if how == "replace":
        event[field] = draw(json_values)
    elif how == "remove":
        del event[field]
    elif how == "unicode id":
        event[draw(st.sampled_from(["event_id", "customer_id"]))] = draw(st.text(min_size=1, max_size=12))
    else:
        return family, draw(st.binary(max_size=120))
    return family, json.dumps(event).encode()


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> list[tuple[str, bytes]]:
    drawn: list = []

    # many small examples rather than one big one: hypothesis starts from the simplest example
    @hypothesis_settings(max_examples=40, phases=[Phase.generate], deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(broken_event(), min_size=3, max_size=3))
    def draw(messages: list) -> None:
        drawn.extend(messages)

    draw()
    return hostile_examples() + drawn


def test_hostile_messages_never_stall_the_worker_and_each_lands_once(kafka_home: Path, clickhouse_url: str,
                                                                     tmp_path: Path, hostile: list) -> None:  # fmt: skip
    settings = settings_for_test(kafka_home, clickhouse_url, tmp_path)
    create_topics(settings)
    names = topic_names(settings)
    worker = WorkerProcess(settings)
    worker.start()
    sent: list[tuple[str, int, int, bytes]] = []  # topic, partition, offset, bytes
    canaries: dict[str, float] = {}  # event id -> when Kafka took it
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=2_000_000)
    try:
        for n, (family, raw) in enumerate(hostile):
            done = producer.send(names.for_family(family), value=raw).get(timeout=30)
            sent.append((done.topic, done.partition, done.offset, raw))
            canary = click(event_id=f"canary-{n}", customer_id=f"canary-{n % 5}",
                           occurred_at=datetime.now(timezone.utc).isoformat())  # fmt: skip
            meta = producer.send(names.for_family("click"), value=encode(canary)).get(timeout=30)
            canaries[canary["event_id"]] = meta.timestamp / 1000
        producer.close()
        worker.wait_consumed(2 * len(hostile), timeout_s=120)
        assert worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()

    with open_store(parse_clickhouse_url(clickhouse_url)) as store:
        db = store.database
        per_id = dict(store.query(f"SELECT event_id, count() FROM {db}.interactions GROUP BY event_id"))
        dead = {(t, int(p), int(o)) for t, p, o in store.query(
            f"SELECT source_topic, source_partition, source_offset FROM {db}.dead_letters")}  # fmt: skip
        canary_at = {e: ts for e, ts in store.query(
            f"SELECT event_id, toUnixTimestamp(ingested_at) FROM {db}.interactions WHERE event_id LIKE 'canary-%'")}  # fmt: skip
        whole = store.scalar(f"SELECT max(payload_size) FROM {db}.dead_letters")
    assert all(count == 1 for count in per_id.values()), {k: v for k, v in per_id.items() if v != 1}
    stored, lost = 0, []
    for topic, partition, offset, raw in sent:
        if (topic, partition, offset) in dead:
            continue
        event_id = json.loads(raw)["event_id"]  # not a dead letter: it must be a stored event
        if event_id in per_id:
            stored += 1
        else:
            lost.append((topic, offset, raw[:80]))
    assert not lost
    assert set(canary_at) == set(canaries), "every canary written"
    delays = [float(canary_at[e]) - canaries[e] for e in canaries]
    assert max(delays) < CANARY_SECONDS, max(delays)
    assert int(whole) > 1_048_000  # the oversized message kept whole in dead_letters
    print(f"\nfuzz ({parse_clickhouse_url(clickhouse_url).kind}): {len(sent)} hostile messages: "
          f"{len(sent) - stored} dead letters, {stored} stored ({len(per_id) - len(canaries)} distinct ids); "
          f"{len(canaries)} canaries, slowest {max(delays):.2f} s behind")
