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

`vox.core.forgotten.Forgotten` is the pure part; the SQL is in `vox.clickhouse.tables`.
"""

from __future__ import annotations

from typing import Sequence

from vox.clickhouse.store import Store
from vox.clickhouse.tables import VoxTables
from vox.core.forgotten import Forgotten, forget_key
from vox.core.ports import EventTables


def load_forgotten(tables: EventTables) -> Forgotten:
    return Forgotten(tables.forgotten_keys())


def forget_customer(store: Store, customer_id: str) -> tuple[dict[str, int], list[str]]:
    """Record the customer as forgotten, then erase them from every table; return the rows
    each table held for them (before erasure), and the ids of the content they wrote (whose
    states in the content stage name them as author)."""
    tables = VoxTables(store)
    content = tables.content_by(customer_id)
    return tables.forget_customer(customer_id, forget_key(customer_id)), content


def tombstone_states(bootstrap_servers: str, changelog_topic: str, keys: Sequence[str], timeout_s: float) -> bool:
    """A tombstone for each of these keys' states in a stage's compacted changelog (keyed, and
    so partitioned, as the table writes it); False when there is no changelog yet."""
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
        sent = [producer.send(changelog_topic, key=key.encode(), value=None) for key in keys]
        for future in sent:
            future.get(timeout=timeout_s)
    finally:
        producer.close()
    return True
