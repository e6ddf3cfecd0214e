"""The sink writes each event once, whatever is replayed: on the in-memory fake and on both
ClickHouse engines (what only ClickHouse does, its key table and refusals, on both engines)."""

from __future__ import annotations

import asyncio

import pytest
from datetime import datetime, timezone

from tests.fakes import MemoryTables
from vox.clickhouse.tables import VoxTables, event_key
from vox.core.interactions import DEAD_LETTER_COLUMNS, INTERACTION_COLUMNS
from vox.worker.sink import IngestSink
from tests.factories import click, encode, post, review, vote
from vox.errors import RefusedError
from vox.metrics import WorkerMetrics
from vox.core.triage import RawMessage

TOPICS = {"vox.reviews": "review", "vox.votes": "vote", "vox.posts": "post", "vox.clicks": "click"}


class DeadLetterLog:
    """Collects what the sink hands to the dead-letter publisher (the Kafka side is covered
    end to end in test_e2e.py)."""

    def __init__(self) -> None:
        self.published: list = []

    async def __call__(self, rejections) -> None:
        self.published.extend(rejections)


def make_sink(tables) -> tuple[IngestSink, DeadLetterLog, WorkerMetrics]:
    """A sink over `tables`: the in-memory fake, or a store (wrapped in the ClickHouse adapter)."""
    dead, metrics = DeadLetterLog(), WorkerMetrics()
    clock = lambda: datetime(2026, 3, 1, tzinfo=timezone.utc)  # noqa: E731
    tables = tables if isinstance(tables, (MemoryTables, VoxTables)) else VoxTables(tables)
    return IngestSink(tables, TOPICS, dead, metrics, clock=clock), dead, metrics


def stored(tables, sql_columns: str, columns: tuple[str, ...], where: tuple[str, str] | None = None,
           table: str = "interactions") -> list[tuple]:  # fmt: skip
    """Rows of `interactions` or `dead_letters` as either kind of tables holds them."""
    if isinstance(tables, MemoryTables):
        names = INTERACTION_COLUMNS if table == "interactions" else DEAD_LETTER_COLUMNS
        rows = [dict(zip(names, r)) for r in getattr(tables, table)]
        return [tuple(r[c] for c in columns) for r in rows if where is None or r[where[0]] == where[1]]
    store = tables.store if isinstance(tables, VoxTables) else tables
    condition = f" WHERE {where[0]} = '{where[1]}'" if where else ""
    return store.query(f"SELECT {sql_columns} FROM {store.database}.{table}{condition}")


def counts(tables) -> tuple[int, int]:
    return (len(stored(tables, "event_id", ("event_id",))),
            len(stored(tables, "source_offset", ("source_offset",), table="dead_letters")))  # fmt: skip


def batch() -> list[RawMessage]:
    values = [("vox.reviews", encode(review())), ("vox.reviews", b"{oops"), ("vox.votes", encode(vote())),
              ("vox.clicks", encode(click())), ("vox.clicks", encode(review())), ("vox.reviews", b"")]  # fmt: skip
    return [RawMessage(topic, 0, offset, value, timestamp_ms=1_772_400_000_000) for offset, (topic, value) in enumerate(values)]


def test_valid_rows_and_dead_letters_are_written(tables) -> None:
    sink, dead, metrics = make_sink(tables)
    report = asyncio.run(sink.write_batch(batch()))
    sink.close()
    assert (report.written, report.rejected, report.duplicates) == (3, 3, 0)
    assert counts(tables) == (3, 3)
    assert sorted(r.reason_class for r in dead.published) == ["empty", "not_json", "wrong_topic"]
    reasons = dict(stored(tables, "reason_class, reason", ("reason_class", "reason"), table="dead_letters"))
    assert reasons["wrong_topic"] == "a review event was published to vox.clicks, which carries click events only"
    assert metrics.registry.get_sample_value("vox_events_consumed_total", {"topic": "vox.reviews"}) == 3
    assert metrics.registry.get_sample_value("vox_events_valid_total", {"topic": "vox.reviews"}) == 1
    assert metrics.registry.get_sample_value(
        "vox_events_rejected_total", {"topic": "vox.clicks", "reason_class": "wrong_topic"}) == 1  # fmt: skip


def test_a_replayed_batch_adds_nothing(tables) -> None:
    messages = batch()
    sink, _, metrics = make_sink(tables)
    asyncio.run(sink.write_batch(messages))
    again = asyncio.run(sink.write_batch(messages))
    sink.close()
    assert (again.written, again.duplicates) == (0, 3)
    assert counts(tables) == (3, 3)
    assert metrics.registry.get_sample_value("vox_events_duplicate_total", {"table": "interactions"}) == 3
    assert metrics.registry.get_sample_value("vox_events_duplicate_total", {"table": "dead_letters"}) == 3


def test_a_resent_event_is_stored_once(tables) -> None:
    event = encode(review(event_id="same-id"))
    sink, _, _ = make_sink(tables)
    first = [RawMessage("vox.reviews", 0, 1, event), RawMessage("vox.reviews", 0, 2, event)]  # twice in one batch
    later = [RawMessage("vox.reviews", 3, 900, event)]  # again, elsewhere, later
    asyncio.run(sink.write_batch(first))
    report = asyncio.run(sink.write_batch(later))
    sink.close()
    assert report.duplicates == 1
    assert counts(tables) == (1, 0)


def test_big_batches_are_looked_up_in_chunks(tables) -> None:
    messages = [RawMessage("vox.clicks", 1, n, encode(click(customer_id=f"c{n % 300}"))) for n in range(2500)]
    sink, _, _ = make_sink(tables)
    assert asyncio.run(sink.write_batch(messages)).written == 2500
    assert asyncio.run(sink.write_batch(messages[1000:])).duplicates == 1500
    sink.close()
    assert counts(tables) == (2500, 0)


def test_the_key_table_matches_what_python_hashes_and_a_hash_alone_never_drops_an_event(store) -> None:
    """The look-up trusts `event_keys` to say "new", never a hash alone to say "stored": an event
    whose hash is there under another id (here planted, as a collision would) is still written."""
    db = store.database
    sink, _, _ = make_sink(store)
    stored = encode(review(event_id="stored-before"))
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 1, stored)]))
    assert int(store.scalar(f"SELECT key FROM {db}.event_keys")) == event_key("stored-before")
    store.insert("event_keys", ("key", "event_id", "content_digest"), [(event_key("new-one"), "colliding-id", 7)])
    fresh = encode(review(event_id="new-one"))
    report = asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 2, fresh), RawMessage("vox.reviews", 0, 3, stored)]))
    sink.close()
    assert (report.written, report.duplicates) == (1, 1)
    assert counts(store) == (2, 0)


def test_an_event_id_is_stored_once_whatever_the_resent_copy_says(tables) -> None:
    """First copy wins: a resend with another time, customer or family, alone in its batch or
    not, adds no row, and each resend that says something else is counted."""
    sink, _, metrics = make_sink(tables)
    first = encode(review(event_id="5"))
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 1, first)]))
    variants = [("vox.reviews", review(event_id="5", occurred_at="2026-02-19T10:00:00Z")),
                ("vox.reviews", review(event_id="5", customer_id="mallory")),
                ("vox.votes", vote(event_id="5")), ("vox.posts", post(event_id="5")),
                ("vox.clicks", click(event_id="5"))]  # fmt: skip
    for offset, (topic, event) in enumerate(variants, start=2):  # each alone in its batch
        assert asyncio.run(sink.write_batch([RawMessage(topic, 0, offset, encode(event))])).written == 0
    mixed = [RawMessage(topic, 1, n, encode(event)) for n, (topic, event) in enumerate(variants)]
    report = asyncio.run(sink.write_batch([*mixed, RawMessage("vox.clicks", 1, 9, encode(click(event_id="6")))]))
    again = asyncio.run(sink.write_batch([RawMessage("vox.reviews", 2, 0, first)]))
    sink.close()
    assert (report.written, report.duplicates, again.duplicates) == (1, 5, 1)
    assert counts(tables) == (2, 0)
    assert stored(tables, "event_type, customer_id", ("event_type", "customer_id"), ("event_id", "5")) == [("review", "alice")]
    # 5 alone + 5 in the mixed batch say something else; the identical resend (`again`) does not
    assert metrics.registry.get_sample_value("vox_events_resent_changed_total") == 10


class RefusingStore:
    """The real store, except that ClickHouse refuses any insert holding a 'poison' row (as it
    would a value out of its range): what a refusal that one row causes looks like."""

    def __init__(self, store, refuse_all: bool = False) -> None:
        self.store, self.refuse_all = store, refuse_all

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def insert(self, table, columns, rows) -> None:
        if table == "interactions" and (self.refuse_all or any(r[0].startswith("poison") for r in rows)):
            raise RefusedError("ClickHouse server rejected a query: Code: 321. Value out of range")
        self.store.insert(table, columns, rows)


def test_rows_clickhouse_refuses_go_to_the_dead_letters_and_the_rest_is_written(store) -> None:
    dead, metrics = DeadLetterLog(), WorkerMetrics()
    sink = IngestSink(VoxTables(RefusingStore(store)), TOPICS, dead, metrics, clock=lambda: datetime(2026, 3, 1, tzinfo=timezone.utc))
    ids = [f"ok-{n}" for n in range(40)]
    ids[7], ids[30] = "poison-1", "poison-2"
    report = asyncio.run(sink.write_batch([RawMessage("vox.clicks", 0, n, encode(click(event_id=i))) for n, i in enumerate(ids)]))
    sink.close()
    assert (report.written, report.rejected) == (38, 2)
    assert counts(store) == (38, 2)
    assert sorted(r.message.offset for r in dead.published) == [7, 30]
    assert {r.reason_class for r in dead.published} == {"store_refused"}
    assert "Value out of range" in dead.published[0].reason
    assert metrics.registry.get_sample_value(
        "vox_events_rejected_total", {"topic": "vox.clicks", "reason_class": "store_refused"}) == 2  # fmt: skip


def test_a_table_that_refuses_everything_stops_the_stage_instead_of_dead_lettering_all(store) -> None:
    sink, dead, _ = make_sink(store)
    sink.tables = VoxTables(RefusingStore(store, refuse_all=True))
    with pytest.raises(RefusedError, match="Value out of range"):
        asyncio.run(sink.write_batch([RawMessage("vox.clicks", 0, n, encode(click())) for n in range(100)]))
    sink.close()
    assert dead.published == [] and counts(store) == (0, 0)
