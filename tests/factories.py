"""Valid events of every family, as dicts, for tests to tweak."""

from __future__ import annotations

import json
from itertools import count

_ids = count(1)


def review(**overrides: object) -> dict:
    n = next(_ids)
    return {"type": "review", "event_id": f"ev-{n}", "customer_id": "alice", "occurred_at": "2026-03-01T10:00:00Z",
            "review_id": f"r-{n}", "product_id": "p1", "brand": "Acme", "category": "guitars", "rating": 4,
            "title": "Good", "text": "Good sound", "lang": "en", "verified_purchase": True} | overrides  # fmt: skip


def vote(**overrides: object) -> dict:
    n = next(_ids)
    return {"type": "vote", "event_id": f"ev-{n}", "customer_id": "bob", "occurred_at": "2026-03-01T10:05:00Z",
            "target_kind": "review", "target_id": "r-1", "target_author_id": "alice", "vote_type": "helpful"} | overrides  # fmt: skip


def post(**overrides: object) -> dict:
    n = next(_ids)
    return {"type": "post", "event_id": f"ev-{n}", "customer_id": "carol", "occurred_at": "2026-03-01T11:00:00+01:00",
            "post_id": f"t-{n}", "thread_id": "t-1", "parent_post_id": "t-1", "reply_to_customer_id": "dave",
            "kind": "answer", "topic": "setup", "text": "Try a new string", "mentions": ["dave"]} | overrides  # fmt: skip


def click(**overrides: object) -> dict:
    n = next(_ids)
    return {"type": "click", "event_id": f"ev-{n}", "customer_id": "erin", "occurred_at": "2026-03-01T12:00:00Z",
            "session_id": "s1", "page_type": "checkout", "action": "purchase", "product_id": "p1",
            "order_value": 129.5, "dwell_ms": 4000} | overrides  # fmt: skip


FACTORIES = {"review": review, "vote": vote, "post": post, "click": click}


def encode(event: dict) -> bytes:
    return json.dumps(event).encode()
