"""Routing with stored events as its memory (the in-memory fake, chDB, the server): a restarted
worker rebuilds each product's rating consensus from the stored reviews, exactly."""

from __future__ import annotations

import asyncio

from tests.factories import encode, review
from tests.integration.test_sink import TOPICS, DeadLetterLog
from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.customers.engine import Router
from vox.core.triage import RawMessage
from vox.metrics import WorkerMetrics
from vox.schemas import EVENT_ADAPTER
from vox.core.keys import source_id
from vox.worker.sink import IngestSink, Route


class Published:
    def __init__(self) -> None:
        self.signals: list[S.Signal] = []
        self.marks: list[dict] = []

    async def __call__(self, batch, marks) -> None:  # noqa: ANN001
        self.signals.extend(batch)
        self.marks.append(marks)


def routing_sink(tables, positions=None) -> tuple[IngestSink, Published]:  # noqa: ANN001
    published = Published()
    sink = IngestSink(tables, TOPICS, DeadLetterLog(), WorkerMetrics(), routes=[Route(Router(ScoringConfig()), published)],
                      memory=tables, positions=positions)  # fmt: skip
    return sink, published


EARLY = [review(event_id=f"early-{n}", customer_id=f"c{n}", product_id="p1", rating=5,
                occurred_at=f"2026-03-0{n + 1}T10:00:00Z") for n in range(6)]  # fmt: skip
LATE = review(event_id="late", customer_id="dora", product_id="p1", rating=1, occurred_at="2026-03-09T10:00:00Z")


def accuracy_of(published: Published, customer: str) -> list[float]:
    return [s.x for s in published.signals if s.kind == S.ACCURACY and s.customer_id == customer]


def test_a_restarted_worker_rebuilds_the_consensus_from_the_stored_reviews(tables) -> None:
    first, _ = routing_sink(tables)
    asyncio.run(first.write_batch([RawMessage("vox.reviews", 0, n, encode(r)) for n, r in enumerate(EARLY)]))
    first.close()
    restarted, published = routing_sink(tables)  # nothing in memory: the consensus comes from the tables
    asyncio.run(restarted.write_batch([RawMessage("vox.reviews", 0, 6, encode(LATE))]))
    restarted.close()

    continuous = Router(ScoringConfig())
    expected = [s.x for r in [*EARLY, LATE] for s in continuous.signals(EVENT_ADAPTER.validate_json(encode(r))) if s.kind == S.ACCURACY
                and s.customer_id == "dora"]  # fmt: skip
    assert accuracy_of(published, "dora") == expected and expected and expected[0] > 3


def test_every_batch_carries_each_input_partition_s_progress_even_with_nothing_new(tables) -> None:
    async def positions(records):  # noqa: ANN001 - what the ingest loop knows: it reads vox.reviews/0 only
        return {("vox.reviews", 0): (1 + max((r.offset for r in records), default=6), not records),
                ("vox.reviews", 1): None}

    sink, published = routing_sink(tables, positions)
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, n, encode(r)) for n, r in enumerate(EARLY)]))
    asyncio.run(sink.write_batch([RawMessage("vox.reviews", 0, 0, encode(EARLY[0]))]))  # a resend: nothing new
    asyncio.run(sink.write_batch([]))  # idle: the marks alone
    sink.close()
    mine, theirs = source_id("vox.reviews", 0), source_id("vox.reviews", 1)
    latest = EVENT_ADAPTER.validate_json(encode(EARLY[-1])).occurred_at.timestamp()
    assert [m[theirs] for m in published.marks] == [None, None, None]  # known, read by another worker
    assert [(m[mine].offset, m[mine].latest, m[mine].caught_up) for m in published.marks] == \
        [(6, latest, False), (1, latest, False), (7, latest, True)]  # the latest event time never goes back
