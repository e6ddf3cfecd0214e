"""`vox forget` end to end: after it, and after a replay of every input topic, no row, score or
state holds the customer's id; everyone else is still there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.factories import encode, post, review, vote
from tests.e2e.test_e2e import rewind_group, settings_for_test, settle, topic_messages
from vox.core.forgotten import Forgotten, forget_key
from vox.settings import Settings, parse_clickhouse_url
from vox.clickhouse.store import open_store, quote
from vox.kafka.topics import create_topics, topic_names

WHO = "zoe"


def traces(settings: Settings, who: str) -> dict[str, int]:
    with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
        db, q = store.database, quote(who)
        checks = {
            "own events": f"SELECT count() FROM {db}.interactions WHERE customer_id = {q}",
            "named in others' events": f"SELECT count() FROM {db}.interactions WHERE target_author_id = {q} "
                                       f"OR reply_to_customer_id = {q} OR has(mentions, {q})",
            "dead letters": f"SELECT count() FROM {db}.dead_letters WHERE position(payload_preview, '\"{who}\"') > 0",
            "scores": f"SELECT count() FROM {db}.customer_scores WHERE customer_id = {q}",
            "history": f"SELECT count() FROM {db}.customer_score_history WHERE customer_id = {q}",
            "transitions": f"SELECT count() FROM {db}.segment_transitions WHERE customer_id = {q}",
        }  # fmt: skip
        return {what: int(store.scalar(sql)) for what, sql in checks.items()}


def scored(settings: Settings, who: str) -> int:
    """Customers scored under this id (one, once merged: their votes resolved by the content
    stage may be scored in a later batch than the rest, a second version of the row)."""
    with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
        return int(store.scalar(f"SELECT count() FROM {store.database}.customer_scores FINAL WHERE customer_id = {quote(who)}"))


def publish(settings: Settings) -> int:
    names = topic_names(settings)
    events = [review(event_id="z1", customer_id=WHO, review_id="zr1"), post(event_id="z2", customer_id=WHO, post_id="zp1",
              reply_to_customer_id="bob", mentions=["bob"]),
              vote(event_id="b1", customer_id="bob", target_id="zr1", target_author_id=WHO),
              vote(event_id="b2", customer_id="bob", target_kind="post", target_id="zp1", target_author_id=None),
              post(event_id="c1", customer_id="carol", reply_to_customer_id=WHO, mentions=[WHO, "bob"]),
              review(event_id="c2", customer_id="carol"),
              # event time moves on: the sweep of the point after the others is run, they are scored
              post(event_id="t1", customer_id="tick", reply_to_customer_id=None, mentions=[],
                   occurred_at="2026-03-01T14:00:00+01:00")]  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for event in events:
        producer.send(names.for_family(event["type"]), key=event["customer_id"].encode(), value=encode(event))
    producer.send(names.for_family("review"), value=encode(review(customer_id=WHO, rating=9)))  # a dead letter
    producer.flush()
    producer.close()
    return len(events) + 1


@pytest.mark.e2e
def test_a_forgotten_customer_leaves_no_trace_even_after_a_replay(kafka_home: Path, clickhouse_server,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    from tests.conftest import fresh_database

    settings = settings_for_test(kafka_home, clickhouse_server.url(fresh_database()), tmp_path)
    create_topics(settings)
    publish(settings)
    settle(settings)
    before = traces(settings, WHO)
    assert all(before.values()) or before["transitions"] == 0, before  # they were everywhere

    done = subprocess.run([sys.executable, "-m", "vox", "forget", WHO], capture_output=True, text=True,
                          env={**os.environ, **settings.as_env()}, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "forgot 'zoe'" in done.stdout and "tombstoned" in done.stdout
    assert traces(settings, WHO) == dict.fromkeys(before, 0)
    assert traces(settings, "carol")["own events"] == 2 and scored(settings, "bob") == 1

    rewind_group(settings, fraction=1.0)  # every input topic read again from the start
    settle(settings)
    assert traces(settings, WHO) == dict.fromkeys(before, 0)
    assert traces(settings, "carol")["own events"] == 2
    changelog = topic_messages(settings, f"{settings.consumer_group}-vox-customers-changelog")
    states = [m.value for m in changelog if m.key == WHO.encode()]
    assert states and states[-1] is None, "the last word on their state is a tombstone"
    # who wrote which content (the content stage): their content's states are gone or redacted
    content = {m.key: m.value for m in topic_messages(settings, f"{settings.consumer_group}-vox-content-changelog")}
    assert content and not [key for key, value in content.items() if WHO.encode() in (value or b"")], content


def test_forgotten_ids_are_dropped_and_stripped_from_others_events() -> None:
    from vox.schemas import EVENT_ADAPTER

    forgotten = Forgotten([forget_key(WHO)])
    assert forgotten.redact(EVENT_ADAPTER.validate_json(encode(review(customer_id=WHO)))) is None
    reply = forgotten.redact(EVENT_ADAPTER.validate_json(encode(post(reply_to_customer_id=WHO, mentions=[WHO, "bob"]))))
    assert reply is not None and reply.reply_to_customer_id is None and reply.mentions == ["bob"]
    voted = forgotten.redact(EVENT_ADAPTER.validate_json(encode(vote(target_author_id=WHO))))
    assert voted is not None and voted.target_author_id is None and voted.customer_id == "bob"
    untouched = EVENT_ADAPTER.validate_json(encode(review()))
    assert forgotten.redact(untouched) is untouched and WHO not in forgotten.keys


@pytest.mark.parametrize("bad", ["", "a b", "x\u202ey"])
def test_forget_refuses_what_is_not_a_customer_id_in_one_line(bad: str, tmp_path: Path) -> None:
    from tests.integration.test_cli import assert_one_line_error, vox

    done = vox("forget", bad, env={"VOX_HOME": str(tmp_path), "CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}"})
    assert done.returncode == 1
    assert_one_line_error(done, "is not a customer id")
