"""Rows of the `interactions` and `dead_letters` tables, built from events and rejections.

Pure: the caller passes the wall-clock time (`ingested_at`, `received_at`), so the same input
always gives the same rows.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from functools import lru_cache

from pydantic_core import to_json

from vox.schemas import Click, Event, Post, Review, Vote
from vox.core.sentiment.text import text_sentiment
from vox.core.triage import RawMessage, Rejection

INTERACTION_COLUMNS = (
    "event_id", "event_type", "customer_id", "actor_role", "occurred_at", "ingested_at",
    "product_id", "brand", "category", "topic", "rating", "kind", "action", "page_type",
    "vote_type", "target_kind", "target_id", "target_author_id", "content_id", "thread_id",
    "parent_post_id", "reply_to_customer_id", "session_id", "mentions", "title", "text",
    "text_length", "lang", "verified_purchase", "accepted", "dwell_ms", "order_value",
    "content_digest", "source_topic", "source_partition", "source_offset", "sentiment", "sentiment_lang",
)  # fmt: skip
#: Where a row holds its event id, its time, its content digest and its input position.
EVENT_ID, OCCURRED_AT = INTERACTION_COLUMNS.index("event_id"), INTERACTION_COLUMNS.index("occurred_at")
DIGEST = INTERACTION_COLUMNS.index("content_digest")
SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET = (INTERACTION_COLUMNS.index(c) for c in
                                                  ("source_topic", "source_partition", "source_offset"))  # fmt: skip

DEAD_LETTER_COLUMNS = (
    "source_topic", "source_partition", "source_offset", "message_timestamp", "received_at",
    "reason_class", "reason", "message_key", "payload_size", "payload_preview", "payload_base64",
)  # fmt: skip



def dead_letter_position(row: tuple) -> tuple[str, int, int]:
    """(topic, partition, offset) of the message a dead-letter row is about: its key."""
    return row[0], int(row[1]), int(row[2])


PREVIEW_CHARS = 2000


def interaction_row(event: Event, message: RawMessage, ingested_at: datetime, sentiment: bool = True) -> tuple:
    """One `interactions` row; family-specific columns are empty ('' / NULL) for other families.
    Last, the text's sentiment and the language it was read in (`event_sentiment`), or NULLs
    with `sentiment` off; they are derived, so not in the content digest."""
    f: dict = {}  # the family's own columns; the rest default below
    if isinstance(event, Review):
        f = dict(product_id=event.product_id, brand=event.brand or "", category=event.category,
                 rating=event.rating, content_id=event.review_id, title=event.title, text=event.text,
                 lang=event.lang or "", verified_purchase=int(event.verified_purchase))  # fmt: skip
    elif isinstance(event, Vote):
        f = dict(vote_type=event.vote_type, target_kind=event.target_kind, target_id=event.target_id,
                 target_author_id=event.target_author_id or "", topic=event.target_topic or "")  # fmt: skip
    elif isinstance(event, Post):
        f = dict(kind=event.kind, topic=event.topic, brand=event.brand or "", product_id=event.product_id or "",
                 content_id=event.post_id, thread_id=event.thread_id, parent_post_id=event.parent_post_id or "",
                 reply_to_customer_id=event.reply_to_customer_id or "", mentions=list(event.mentions),
                 text=event.text, lang=event.lang or "",
                 accepted=None if event.accepted is None else int(event.accepted))  # fmt: skip
    elif isinstance(event, Click):
        f = dict(session_id=event.session_id, page_type=event.page_type, action=event.action,
                 product_id=event.product_id or "", brand=event.brand or "", category=event.category or "",
                 dwell_ms=event.dwell_ms, order_value=event.order_value)  # fmt: skip
    text = f.get("text", "")
    said = (
        event.event_id, event.type, event.customer_id, event.actor_role, event.occurred_at,
        f.get("product_id", ""), f.get("brand", ""), f.get("category", ""), f.get("topic", ""),
        f.get("rating"), f.get("kind", ""), f.get("action", ""), f.get("page_type", ""),
        f.get("vote_type", ""), f.get("target_kind", ""), f.get("target_id", ""),
        f.get("target_author_id", ""), f.get("content_id", ""), f.get("thread_id", ""),
        f.get("parent_post_id", ""), f.get("reply_to_customer_id", ""), f.get("session_id", ""),
        f.get("mentions", []), f.get("title", ""), text, len(text), f.get("lang", ""),
        f.get("verified_purchase", 0), f.get("accepted"), f.get("dwell_ms"), f.get("order_value"),
    )  # fmt: skip
    derived = event_sentiment(event) if sentiment else (None, None)
    return (*said[:5], ingested_at, *said[5:], content_digest(said), message.topic, message.partition, message.offset,
            *derived)  # fmt: skip


def review_text(title: str, text: str) -> str:
    """What is read of a review: its title and text as one (the benchmark reads reviews so too)."""
    return f"{title}. {text}" if title else text


def event_sentiment(event: Event) -> tuple[float | None, str | None]:
    """(score in [-1, 1] or None, language used or None) of what a review or a post says: a
    review's title and text read as one (the title is often its most telling sentence), a post's
    text. Events with no text: (None, None)."""
    if isinstance(event, Review):
        text = review_text(event.title, event.text)
    elif isinstance(event, Post):
        text = event.text
    else:
        return None, None
    if not text.strip():
        return None, None
    return _read(text, event.lang)


@lru_cache(maxsize=16_384)
def _read(text: str, lang: str | None) -> tuple[float | None, str | None]:
    # the row and the sentiment stage's router read the same event in one batch: once
    read = text_sentiment(text, lang)
    return read.score, read.lang


def content_digest(said: tuple) -> int:
    """64 bits of what an event says (every column but when and where it was read): a resend
    of an id with other content is told from a plain resend by this. Never 0 (0 marks rows
    stored before digests existed)."""
    return int.from_bytes(hashlib.md5(to_json(said)).digest()[:8], "big") or 1


def dead_letter_row(rejection: Rejection, received_at: datetime) -> tuple:
    message = rejection.message
    payload = message.value or b""
    return (
        message.topic,
        message.partition,
        message.offset,
        datetime.fromtimestamp(message.timestamp_ms / 1000, tz=timezone.utc),
        received_at,
        rejection.reason_class,
        rejection.reason,
        (message.key or b"").decode("utf-8", errors="replace"),
        len(payload),
        payload[: PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:PREVIEW_CHARS],
        base64.b64encode(payload).decode("ascii"),
    )
