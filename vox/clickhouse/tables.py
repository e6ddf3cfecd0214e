"""vox's tables, as the rest of vox uses them: the one place that writes SQL against them.

`VoxTables` implements the protocols of `vox.core.ports` (what ingest, routing and the
continuity guards need) and the writes and reads of the scoring stage, `vox explain`, `vox
forget` and `vox demo`. Its callers never see a query or a row position; `vox.clickhouse.store`
below it only knows how to reach ClickHouse. (`vox sql` runs analysts' own statements through
`vox.clickhouse.analyst`, and `vox.clickhouse.migrations` owns the DDL.)
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Iterator, Sequence, TypeVar

from vox.clickhouse.store import Store, in_list, quote
from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS
from vox.core.interactions import DEAD_LETTER_COLUMNS, INTERACTION_COLUMNS
from vox.core.ports import Position
from vox.errors import VoxError

LOOKUP_CHUNK = 1000  # values per `IN (...)`: well under max_query_size for any id length
KEY_LOOKUP_CHUNK = 8000  # hashes per key look-up: about 170 KB of SQL, under max_query_size (256 KiB)
PROGRESS_COLUMNS = ("consumer_group", "topic", "partition", "next_offset", "updated_at")
MUTATION_WAIT_S = 120.0
ERASED_TABLES = ("customer_scores", "customer_score_history", "segment_transitions")
EXPLANATION_COLUMNS = ("cell", "competence", "implication", "role", "value", "toString(updated_at)", "action",
                       *(f"c_{n}" for n in COMPETENCE_COMPONENTS), *(f"i_{n}" for n in IMPLICATION_COMPONENTS),
                       "left_out", "competence_evidence", "implication_evidence", "not_observed",
                       "rfm_recency_days", "rfm_frequency", "rfm_monetary", "days_since_active", "is_staff",
                       "signals", "competence_evidence_amount", "observed_days")  # fmt: skip

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def event_key(event_id: str) -> int:
    """ClickHouse's halfMD5(event_id): the hash the `event_keys` table is sorted by."""
    return int.from_bytes(hashlib.md5(event_id.encode()).digest()[:8], "big")


def seconds(value: object) -> float:
    """A DateTime column's value (a datetime from the server, text from chDB) in epoch seconds."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc).timestamp()


class VoxTables:
    def __init__(self, store: Store):
        self.store = store

    @property
    def db(self) -> str:
        return self.store.database

    # --- ingest (`vox.core.ports.EventTables`) ---

    def stored_digests(self, event_ids: Sequence[str]) -> dict[str, int]:
        # `event_keys` (migration 6) holds every stored id by its hash; the id itself is compared
        # by the caller (a hash collision is another event)
        keys = list({event_key(e) for e in event_ids})
        stored: dict[str, int] = {}
        for chunk in chunks(keys, KEY_LOOKUP_CHUNK):
            stored.update((event_id, int(digest)) for event_id, digest in self.store.query(
                f"SELECT event_id, max(content_digest) FROM {self.db}.event_keys "
                f"WHERE key IN ({','.join(map(str, chunk))}) GROUP BY event_id"))  # fmt: skip
        return stored

    def insert_interactions(self, rows: Sequence[tuple]) -> None:
        self.store.insert("interactions", INTERACTION_COLUMNS, rows)

    def stored_dead_letters(self, positions: Sequence[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
        by_partition: dict[tuple[str, int], list[int]] = {}
        for topic, partition, offset in positions:
            by_partition.setdefault((topic, partition), []).append(offset)
        stored: set[tuple[str, int, int]] = set()
        for (topic, partition), offsets in sorted(by_partition.items()):
            for chunk in chunks(sorted(offsets)):
                stored.update((t, int(p), int(o)) for t, p, o in self.store.query(
                    f"SELECT source_topic, source_partition, source_offset FROM {self.db}.dead_letters "
                    f"WHERE source_topic = {quote(topic)} AND source_partition = {int(partition)} "
                    f"AND source_offset IN {in_list(chunk)}"))  # fmt: skip
        return stored

    def insert_dead_letters(self, rows: Sequence[tuple]) -> None:
        self.store.insert("dead_letters", DEAD_LETTER_COLUMNS, rows)

    def forgotten_keys(self) -> set[str]:
        return {key for (key,) in self.store.query(f"SELECT DISTINCT key FROM {self.db}.forgotten_customers")}

    # --- routing (`vox.core.ports.RoutingMemory`) ---

    def ratings_of(self, product_ids: Sequence[str]) -> list[tuple[str, float, int]]:
        ratings: list[tuple[str, float, int]] = []
        for chunk in chunks(sorted(product_ids)):  # a product is in one chunk: its reviews stay in order
            ratings.extend((product, seconds(at), int(rating)) for product, at, rating in self.store.query(
                f"SELECT product_id, occurred_at, rating FROM {self.db}.interactions "
                f"WHERE event_type = 'review' AND product_id IN {in_list(chunk)} ORDER BY occurred_at, event_id"))  # fmt: skip
        return ratings

    # --- continuity (`vox.core.ports.ProgressTable`) ---

    def load_progress(self, group: str, partitions: Sequence[Position]) -> dict[Position, int]:
        topics = sorted({topic for topic, _ in partitions})
        rows = self.store.query(
            f"SELECT topic, partition, max(next_offset) FROM {self.db}.ingest_progress "
            f"WHERE consumer_group = {quote(group)} AND topic IN {in_list(topics)} GROUP BY topic, partition")
        wanted = set(partitions)
        return {(topic, int(p)): int(offset) for topic, p, offset in rows if (topic, int(p)) in wanted}

    def save_progress(self, group: str, moved: dict[Position, int]) -> None:
        now = datetime.now(timezone.utc)
        self.store.insert("ingest_progress", PROGRESS_COLUMNS, [(group, t, p, o, now) for (t, p), o in moved.items()])

    # --- keyed stages (`vox.core.ports.StageTables`), and what `vox explain` reads ---

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """A keyed stage's rows (`vox.core.stage.StageOutput`): deterministic keys, so writing
        the same rows twice changes nothing."""
        self.store.insert(table, columns, rows)

    def explanation(self, customer_id: str) -> dict | None:
        """A customer's row of the `customer_explanation` view, by column, or None."""
        rows = self.store.query(f"SELECT {', '.join(EXPLANATION_COLUMNS)} FROM {self.db}.customer_explanation "
                                f"WHERE customer_id = {quote(customer_id)} LIMIT 1")  # fmt: skip
        return dict(zip(EXPLANATION_COLUMNS, rows[0])) if rows else None

    def recent_moves(self, customer_id: str, limit: int = 5) -> list[tuple[str, str, str]]:
        return self.store.query(f"SELECT toString(at), from_cell, to_cell FROM {self.db}.segment_transitions FINAL "
                                f"WHERE customer_id = {quote(customer_id)} ORDER BY at DESC LIMIT {int(limit)}")  # fmt: skip

    # --- `vox demo` ---

    def landed(self) -> dict[str, list[tuple]]:
        """What the demo shows of a run: events per family, ratings of the ten most reviewed
        brands, the typology, the dead letters by topic and reason (with one of the reasons)."""
        db = self.db
        return {
            "families": self.store.query(f"SELECT event_type, count(), uniqExact(customer_id) FROM {db}.interactions "
                                         "GROUP BY event_type ORDER BY event_type"),  # fmt: skip
            "brands": self.store.query(f"SELECT brand, count() AS n, round(avg(rating), 2) FROM {db}.interactions "
                                       "WHERE event_type = 'review' GROUP BY brand ORDER BY n DESC, brand LIMIT 10"),  # fmt: skip
            "cells": self.store.query(f"SELECT cell, customers, mean_competence, mean_implication "
                                      f"FROM {db}.typology_matrix ORDER BY customers DESC"),  # fmt: skip
            "dead_letters": self.store.query(f"SELECT source_topic, reason_class, count(), min(reason) "
                                             f"FROM {db}.dead_letters GROUP BY source_topic, reason_class "
                                             "ORDER BY source_topic, reason_class"),  # fmt: skip
        }

    # --- `vox forget` ---

    def content_by(self, customer_id: str) -> list[str]:
        return [c for (c,) in self.store.query(f"SELECT DISTINCT content_id FROM {self.db}.interactions "
                                               f"WHERE customer_id = {quote(customer_id)} AND content_id != ''")]  # fmt: skip

    def forget_customer(self, customer_id: str, key: str) -> dict[str, int]:
        """Record the customer as forgotten (by `key`), then erase them from every table; return
        the rows each table held for them (before erasure)."""
        db, who = self.db, quote(customer_id)
        dead = self._dead_letter_filter(customer_id)
        found = {
            "own events": self._count("interactions", f"customer_id = {who}"),
            "mentions in others' events": self._count("interactions", f"target_author_id = {who} OR "
                                                      f"reply_to_customer_id = {who} OR has(mentions, {who})"),  # fmt: skip
            "dead letters": self._count("dead_letters", dead),
            **{table: self._count(table, f"customer_id = {who}") for table in ERASED_TABLES},
        }
        # first: from now on no ingest stores or scores them again
        self.store.insert("forgotten_customers", ("key", "forgotten_at"),
                          [(key, datetime.now(timezone.utc).replace(microsecond=0))])  # fmt: skip
        event_ids = [e for (e,) in self.store.query(f"SELECT event_id FROM {db}.interactions WHERE customer_id = {who}")]
        for chunk in chunks(event_ids):
            self.store.execute(f"ALTER TABLE {db}.event_keys DELETE WHERE event_id IN {in_list(chunk)}")
        for statement in (f"interactions DELETE WHERE customer_id = {who}",
                          f"interactions UPDATE target_author_id = '' WHERE target_author_id = {who}",
                          f"interactions UPDATE reply_to_customer_id = '' WHERE reply_to_customer_id = {who}",
                          f"interactions UPDATE mentions = arrayFilter(m -> m != {who}, mentions) WHERE has(mentions, {who})",
                          f"dead_letters DELETE WHERE {dead}",
                          *(f"{table} DELETE WHERE customer_id = {who}" for table in ERASED_TABLES)):  # fmt: skip
            self.store.execute(f"ALTER TABLE {db}.{statement}")
        self._wait_for_mutations()
        return found

    @staticmethod
    def _dead_letter_filter(customer_id: str) -> str:
        # as a JSON string value: `"c1"`, not every payload holding the characters c and 1
        return (f"message_key = {quote(customer_id)} "
                f"OR position(payload_preview, {quote(json.dumps(customer_id))}) > 0")  # fmt: skip

    def _count(self, table: str, where: str) -> int:
        return int(self.store.scalar(f"SELECT count() FROM {self.db}.{table} WHERE {where}") or 0)

    def _wait_for_mutations(self) -> None:
        """ALTER ... DELETE / UPDATE run in the background: wait until they are done."""
        deadline = time.monotonic() + MUTATION_WAIT_S
        while self.store.scalar(f"SELECT count() FROM system.mutations WHERE database = {quote(self.db)} AND is_done = 0"):
            if time.monotonic() > deadline:
                raise VoxError(f"ClickHouse has not finished erasing after {MUTATION_WAIT_S:.0f} s; "
                               "see system.mutations (the rows go when the mutations finish)")  # fmt: skip
            time.sleep(0.2)


def has_tables(store: Store, *names: str) -> bool:
    found = store.scalar(f"SELECT count() FROM system.tables WHERE database = {quote(store.database)} "
                         f"AND name IN {in_list(names)}")  # fmt: skip
    return int(found or 0) == len(names)


def require_tables(store: Store, what: str, *names: str, stage: str | None = None) -> None:
    """One line naming what to do, instead of ClickHouse's unknown-table error."""
    if not has_tables(store, *names):
        running = f" (with the {stage} stage in VOX_STAGES)" if stage else ""
        raise VoxError(f"no {what} in database {store.database}: run `vox db migrate`, or start the worker{running} "
                       "and give it events")  # fmt: skip
