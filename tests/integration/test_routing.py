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
from vox.worker.sink import IngestSink, Route


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
