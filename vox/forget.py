"""Forgetting a customer: `vox forget CUSTOMER_ID` (a right to erasure).

What it reaches: the customer's own rows in `interactions` (and their event ids in
`event_keys`), their id in other customers' rows (the author of content voted on, the customer
replied to, mentions), dead letters whose key or first 2,000 characters name them, their scores,
score history and transitions, and their state in the scoring stage's compacted changelog
(a tombstone). What it cannot reach: the producers' own input topics and vox's internal ones
(`vox.signals`, `vox.segments`, `vox.dlq`) keep what they hold until their retention deletes it,
and dead-letter payloads past their first 2,000 characters.

So that a replay of those topics does not bring the customer back, the customer is recorded in
`forgotten_customers` by a SHA-256 of their id (the id itself is not kept), and every ingest
(the worker, `vox replay`) drops their events and strips their id from others' events.

`Forgotten` is the pure part; the functions below it are the ClickHouse and Kafka side.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Iterable

from vox.schemas import Event, Post, Vote
from vox.errors import VoxError
from vox.clickhouse.store import Store, in_list, quote

MUTATION_WAIT_S = 120.0
ERASED_TABLES = ("customer_scores", "customer_score_history", "segment_transitions")


def forget_key(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()


class Forgotten:
    """The forgotten customers, by key: which events to drop, and which ids to strip."""

    def __init__(self, keys: Iterable[str] = ()):
        self.keys = set(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def knows(self, customer_id: str | None) -> bool:
        return bool(customer_id) and forget_key(customer_id) in self.keys  # type: ignore[arg-type]

    def named_in(self, raw: bytes | None) -> bool:
        """Whether a message that failed validation names a forgotten customer in a field that
        holds customer ids (its dead letter would keep them otherwise)."""
        try:
            payload = json.loads(raw or b"")
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(payload, dict):
            return False
        ids = [payload.get(field) for field in ("customer_id", "target_author_id", "reply_to_customer_id")]
        mentions = payload.get("mentions")
        ids += mentions if isinstance(mentions, list) else []
        return any(isinstance(i, str) and self.knows(i) for i in ids)

    def redact(self, event: Event) -> Event | None:
        """None for a forgotten customer's own event; otherwise the event without their id."""
        if self.knows(event.customer_id):
            return None
        update: dict = {}
        if isinstance(event, Vote) and self.knows(event.target_author_id):
            update["target_author_id"] = None
        if isinstance(event, Post):
            if self.knows(event.reply_to_customer_id):
                update["reply_to_customer_id"] = None
            mentions = [m for m in event.mentions if not self.knows(m)]
            if len(mentions) < len(event.mentions):
                update["mentions"] = mentions
        return event.model_copy(update=update) if update else event


def load_forgotten(store: Store) -> Forgotten:
    return Forgotten(key for (key,) in store.query(f"SELECT DISTINCT key FROM {store.database}.forgotten_customers"))


def forget_customer(store: Store, customer_id: str) -> dict[str, int]:
    """Record the customer as forgotten, then erase them from every table; return the rows
    each table held for them (before erasure)."""
    db, who = store.database, quote(customer_id)
    found = {
        "own events": _count(store, f"{db}.interactions", f"customer_id = {who}"),
        "mentions in others' events": _count(store, f"{db}.interactions",
                                             f"target_author_id = {who} OR reply_to_customer_id = {who} "
                                             f"OR has(mentions, {who})"),  # fmt: skip
        "dead letters": _count(store, f"{db}.dead_letters", _dead_letter_filter(customer_id)),
        **{table: _count(store, f"{db}.{table}", f"customer_id = {who}") for table in ERASED_TABLES},
    }
    # first: from now on no ingest stores or scores them again
    store.insert("forgotten_customers", ("key", "forgotten_at"),
                 [(forget_key(customer_id), datetime.now(timezone.utc).replace(microsecond=0))])  # fmt: skip
    event_ids = [e for (e,) in store.query(f"SELECT event_id FROM {db}.interactions WHERE customer_id = {who}")]
    for start in range(0, len(event_ids), 1000):
        store.execute(f"ALTER TABLE {db}.event_keys DELETE WHERE event_id IN {in_list(event_ids[start:start + 1000])}")
    store.execute(f"ALTER TABLE {db}.interactions DELETE WHERE customer_id = {who}")
    store.execute(f"ALTER TABLE {db}.interactions UPDATE target_author_id = '' WHERE target_author_id = {who}")
    store.execute(f"ALTER TABLE {db}.interactions UPDATE reply_to_customer_id = '' WHERE reply_to_customer_id = {who}")
    store.execute(f"ALTER TABLE {db}.interactions UPDATE mentions = arrayFilter(m -> m != {who}, mentions) "
                  f"WHERE has(mentions, {who})")  # fmt: skip
    store.execute(f"ALTER TABLE {db}.dead_letters DELETE WHERE {_dead_letter_filter(customer_id)}")
    for table in ERASED_TABLES:
        store.execute(f"ALTER TABLE {db}.{table} DELETE WHERE customer_id = {who}")
    _wait_for_mutations(store)
    return found


def tombstone_state(bootstrap_servers: str, changelog_topic: str, customer_id: str, timeout_s: float) -> bool:
    """A tombstone for the customer's state in the scoring stage's compacted changelog (keyed,
    and so partitioned, as the table writes it); False when there is no changelog yet."""
    from kafka import KafkaConsumer, KafkaProducer

    probe = KafkaConsumer(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000) + 1000)
    try:
        exists = changelog_topic in probe.topics()
    finally:
        probe.close()
    if not exists:
        return False
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    try:
        producer.send(changelog_topic, key=customer_id.encode(), value=None).get(timeout=timeout_s)
    finally:
        producer.close()
    return True


def _dead_letter_filter(customer_id: str) -> str:
    # as a JSON string value: `"c1"`, not every payload holding the characters c and 1
    return (f"message_key = {quote(customer_id)} "
            f"OR position(payload_preview, {quote(json.dumps(customer_id))}) > 0")  # fmt: skip


def _count(store: Store, table: str, where: str) -> int:
    return int(store.scalar(f"SELECT count() FROM {table} WHERE {where}") or 0)


def _wait_for_mutations(store: Store) -> None:
    """ALTER ... DELETE / UPDATE run in the background: wait until they are done."""
    deadline = time.monotonic() + MUTATION_WAIT_S
    while store.scalar(f"SELECT count() FROM system.mutations WHERE database = {quote(store.database)} AND is_done = 0"):
        if time.monotonic() > deadline:
            raise VoxError(f"ClickHouse has not finished erasing after {MUTATION_WAIT_S:.0f} s; "
                           "see system.mutations (the rows go when the mutations finish)")  # fmt: skip
        time.sleep(0.2)
