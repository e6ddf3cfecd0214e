"""Routing with stored events as its memory (the in-memory fake, chDB, the server): what a
restart must not forget."""

from __future__ import annotations

import asyncio

from vox.core.customers.engine import Router
from vox.worker.sink import IngestSink, Route
from tests.factories import encode, review, vote
from tests.integration.test_sink import TOPICS, DeadLetterLog
from vox.metrics import WorkerMetrics
from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.triage import RawMessage


class Published:
    def __init__(self) -> None:
        self.signals: list[S.Signal] = []

    async def __call__(self, batch) -> None:
        self.signals.extend(batch)


def routing_sink(tables) -> tuple[IngestSink, Published]:
    published = Published()
    sink = IngestSink(tables, TOPICS, DeadLetterLog(), WorkerMetrics(), routes=[Route(Router(ScoringConfig()), published)],
                      memory=tables)  # fmt: skip
    return sink, published


def received_votes(published: Published) -> list[tuple[str, str]]:
    return [(s.customer_id, s.giver) for s in published.signals if s.kind == S.VOTE_RECEIVED]


EARLY_VOTE = vote(event_id="v-early", customer_id="bob", target_id="r-late", target_author_id=None,
                  occurred_at="2026-03-01T10:05:00Z")  # fmt: skip
LATE_REVIEW = review(event_id="e-late", review_id="r-late", customer_id="alice", occurred_at="2026-03-01T10:00:00Z")


def test_a_vote_stored_before_its_content_is_resolved_by_the_next_worker(tables) -> None:
    first, published = routing_sink(tables)
    asyncio.run(first.write_batch([RawMessage("vox.votes", 0, 0, encode(EARLY_VOTE))]))
    first.close()
    assert received_votes(published) == []  # waiting for its content, in a process that then stops

    restarted, published = routing_sink(tables)
    asyncio.run(restarted.write_batch([RawMessage("vox.reviews", 0, 0, encode(LATE_REVIEW))]))
    restarted.close()
    assert received_votes(published) == [("alice", "bob")]


def test_a_vote_waiting_in_memory_and_in_clickhouse_is_resolved_once(tables) -> None:
    sink, published = routing_sink(tables)
    asyncio.run(sink.write_batch([RawMessage("vox.votes", 0, 0, encode(EARLY_VOTE))]))
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 0, encode(LATE_REVIEW))]))
    sink.close()
    assert received_votes(published) == [("alice", "bob")]


def cast_votes(published: Published) -> list[str]:
    return [s.customer_id for s in published.signals if s.kind == S.VOTE_CAST]


def test_votes_on_content_that_never_shows_up_credit_no_one_and_are_counted(tables) -> None:
    """20 votes on content that never exists do not raise the voter's implication (they did in
    the adversarial review); once they have waited `vote_wait_days` they are dropped and counted.
    A vote whose content does show up credits the voter then, and the author."""
    sink, published = routing_sink(tables)
    ghosts = [vote(event_id=f"ghost-{n}", customer_id="bob", target_id=f"nowhere-{n}", target_author_id=None,
                   occurred_at="2026-03-01T10:05:00Z") for n in range(20)]  # fmt: skip
    asyncio.run(sink.write_batch([RawMessage("vox.votes", 0, n, encode(v)) for n, v in enumerate(ghosts)]))
    assert cast_votes(published) == [] and received_votes(published) == []
    asyncio.run(sink.write_batch([RawMessage("vox.votes", 0, 20, encode(EARLY_VOTE))]))
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 0, encode(LATE_REVIEW))]))
    assert cast_votes(published) == ["bob"] and received_votes(published) == [("alice", "bob")]
    later = review(customer_id="carol", occurred_at="2026-04-01T10:06:00Z")  # 31 days on, in event time
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 1, encode(later))]))
    sink.close()
    assert sink.metrics.registry.get_sample_value("vox_votes_unresolved_total") == 20
    assert cast_votes(published) == ["bob"]  # the ghosts never credited, even when dropped
