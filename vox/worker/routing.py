"""The routing stage of the worker: the pure `Router`, with ClickHouse as its memory.

The Router's own state (who wrote which content, each product's rating consensus) is keyed by
content and product, not by the customer partitions the worker reads. Rather than a second
repartition, the worker keeps it as a cache and fills the gaps from `interactions`, which holds
every event ever stored: after a restart or a rebalance, a vote on old content still finds its
author, and a product's consensus is rebuilt from its stored reviews, exactly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from vox.schemas import Event, Post, Review, Vote
from vox.core.customers.config import ScoringConfig
from vox.core.customers.consensus import ProductConsensus
from vox.core.customers.engine import Router
from vox.core.customers.signals import Signal, at_position
from vox.clickhouse.store import Store, in_list, quote

LOOKUP_CHUNK = 1000
CLOCK_SKEW_S = 86_400.0  # a vote may carry a time a little before its content's (producers' clocks)


def _seconds(value: object) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc).timestamp()


class StoreBackedRouter(Router):
    def __init__(self, config: ScoringConfig, store: Store):
        super().__init__(config)
        self.store = store
        self.released: list[tuple[Vote, str]] = []  # waiting votes whose content `recall` found

    def recall(self, events: Sequence[Event]) -> None:
        """Fetch from ClickHouse what the batch needs and the cache lacks (the worker runs this
        on the ClickHouse thread, and `signals_of`, pure Python, on its event loop)."""
        self._recall_authors({e.target_id for e in events if isinstance(e, Vote) and not e.target_author_id})
        self._recall_waiting_votes({(e.review_id if isinstance(e, Review) else e.post_id): e.occurred_at.timestamp()
                                    for e in events if isinstance(e, (Review, Post))})  # fmt: skip
        self._recall_consensus({e.product_id for e in events if isinstance(e, Review)})

    def signals_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Signal]:
        """Signals of a batch of new events, in order, each marked with the input position
        (source id, offset) of its event; first those of waiting votes whose content `recall`
        found stored by another worker (no position: the recent ids recognise them)."""
        signals: list[Signal] = []
        for vote, author in self.released:
            signals.extend(self.vote_signals(vote, author))
        self.released.clear()
        for event, (source, offset) in zip(events, positions):
            signals.extend(at_position(self.signals(event), source, offset))
        return signals

    def _recall_authors(self, content_ids: set[str]) -> None:
        missing = sorted(c for c in content_ids if c not in self.content.authors)
        db = self.store.database
        for start in range(0, len(missing), LOOKUP_CHUNK):
            chunk = missing[start : start + LOOKUP_CHUNK]
            rows = self.store.query(f"SELECT content_id, any(customer_id) FROM {db}.interactions "
                                    f"WHERE event_type IN ('review', 'post') AND content_id IN {in_list(chunk)} "
                                    "GROUP BY content_id")  # fmt: skip
            for content_id, author in rows:
                # votes waiting here for this content (another worker stored it) are resolved now
                self.released.extend((vote, author) for vote in self.content.remember(content_id, author))

    def _recall_waiting_votes(self, new_content: dict[str, float]) -> None:
        """Votes stored before their content, by a worker that has stopped since (or by another
        one), wait in `interactions` rather than in this process's memory: make them wait here,
        so that the content's arrival resolves them. Votes come after their content in event
        time, so only that stretch of `interactions` is read."""
        unseen = sorted(c for c in new_content if c not in self.content.authors)
        if not unseen:
            return
        since = datetime.fromtimestamp(min(new_content[c] for c in unseen) - CLOCK_SKEW_S, tz=timezone.utc)
        db = self.store.database
        for start in range(0, len(unseen), LOOKUP_CHUNK):
            chunk = unseen[start : start + LOOKUP_CHUNK]
            rows = self.store.query(
                f"SELECT event_id, customer_id, actor_role, vote_type, target_kind, target_id, occurred_at "
                f"FROM {db}.interactions WHERE event_type = 'vote' AND target_author_id = '' "
                f"AND occurred_at >= {quote(since.strftime('%Y-%m-%d %H:%M:%S'))} AND target_id IN {in_list(chunk)} "
                "ORDER BY occurred_at, event_id"
            )
            for event_id, voter, role, vote_type, target_kind, target_id, occurred_at in rows:
                self.content.wait(Vote.model_construct(
                    type="vote", event_id=event_id, customer_id=voter, actor_role=role, vote_type=vote_type,
                    target_kind=target_kind, target_id=target_id, target_author_id=None,
                    occurred_at=datetime.fromtimestamp(_seconds(occurred_at), tz=timezone.utc)))  # fmt: skip

    def _recall_consensus(self, product_ids: set[str]) -> None:
        missing = sorted(p for p in product_ids if p not in self.products)
        db = self.store.database
        c = self.config
        for start in range(0, len(missing), LOOKUP_CHUNK):
            chunk = missing[start : start + LOOKUP_CHUNK]
            rows = self.store.query(f"SELECT product_id, occurred_at, rating FROM {db}.interactions "
                                    f"WHERE event_type = 'review' AND product_id IN {in_list(chunk)} "
                                    "ORDER BY occurred_at, event_id")  # fmt: skip
            for product in chunk:
                self.products[product] = ProductConsensus()
            for product, occurred_at, rating in rows:
                self.products[product].observe(_seconds(occurred_at), int(rating), c.allowed_lateness_s,
                                               c.consensus_prior_reviews, c.consensus_min_reviews)  # fmt: skip
