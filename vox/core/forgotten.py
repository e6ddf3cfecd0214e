"""Forgotten customers, as ingest sees them: which events to drop and which ids to strip.

Customers are recorded by a SHA-256 of their id (the id itself is not kept); see `vox.forget`
for what `vox forget` erases and what it cannot reach.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from vox.schemas import Event, Post, Vote


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
