"""The four event families vox accepts, and the envelope they share.

These models are the published contract with producers: JSON Schema files generated from them
live in `vox/schemas/json/` (see `vox schemas export`), so teams writing producers in other
languages validate against exactly what the worker validates.

Policy for fields vox does not know: they are *ignored* (accepted, not stored). A producer can
then add a field before vox learns to use it without its events being rejected; a misspelt
*required* field still fails, because the required one is then missing.

Sizes are bounded so that one event can never blow up a batch, a ClickHouse row or the
per-customer state: ids at most 128 characters without white space, free text at most 20,000
characters, titles 300, mention lists 50 ids.

Types are strict: a JSON `true` is not a rating, `"5"` is not 5, `0` is not a timestamp. Lax
coercion would let a producer's bug change scores silently; strict, it is a dead letter that
names the field. Ids and labels refuse control, invisible-format and bidirectional-override
characters: they end up in analysts' terminals and dashboards, where they hide or reorder
text. (`occurred_at` must also fall in a window that depends on the time of ingestion: that
check is in `vox/core/triage.py`.)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
)

SCHEMA_VERSION = 1

MAX_ID_CHARS = 128
MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 300
MAX_LABEL_CHARS = 200
MAX_MENTIONS = 50

# Characters no id or label may hold: C0/C1 controls, zero-width and joiner marks, the
# bidirectional embeddings, overrides and isolates, word joiners and the byte-order mark.
HIDDEN_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u061c\ufeff"
ID_PATTERN = rf"^[^\s{HIDDEN_CHARACTERS}]+$"
LABEL_PATTERN = f"^[^{HIDDEN_CHARACTERS}]+$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_CHARS, pattern=LABEL_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Title = Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]

ActorRole = Literal["customer", "staff", "partner", "anonymous"]


class Envelope(BaseModel):
    """What every event carries, whatever its family."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    event_id: Id = Field(description="Idempotency key: resending an event with the same id never counts it twice.")
    customer_id: Id = Field(description="The customer who acted (the author of a review, the voter, the poster, the visitor).")
    occurred_at: AwareDatetime = Field(
        description="When it happened, with a timezone (ISO 8601, e.g. 2026-03-01T12:00:00Z); "
        "normalised to UTC. Naive timestamps are rejected: their meaning depends on a server's clock. "
        "Must lie between 1970-01-02 and the time vox ingests it plus VOX_MAX_CLOCK_SKEW_S (a day by default)."
    )
    actor_role: ActorRole = Field("customer", description="staff and partner accounts are scored but never leaders; `anonymous` marks a placeholder identity "
                                        "(an unknown voter, a deleted account): evidence about others, never scored or placed.")
    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="Version of this envelope and family layout.")

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


class Review(Envelope):
    """A customer's review of a product: rating and text (docs/glossary.md)."""

    type: Literal["review"] = Field(description="Event family.")
    review_id: Id
    product_id: Id
    brand: Label | None = Field(None, description="The product's brand, if the source knows it; left out otherwise "
                                "(a placeholder such as 'unknown' would become a brand of its own).")
    category: Label
    rating: int = Field(ge=1, le=5, description="Stars, 1 to 5.")
    title: Title = ""
    text: Text = ""
    lang: Lang | None = Field(None, description="ISO 639 language code of the text, if known (en, fr, pt-BR).")
    verified_purchase: bool = False


class Vote(Envelope):
    """A vote cast by `customer_id` on someone's content; it is recognition *received* by the author."""

    type: Literal["vote"] = Field(description="Event family.")
    target_kind: Literal["review", "post", "idea"]
    target_id: Id
    target_author_id: Id | None = Field(None, description="Author of the target, when the producer knows it.")
    target_topic: Label | None = Field(
        None, description="Topic of the target (a post's topic, a review's category), when the producer knows it."
    )
    vote_type: Literal["up", "down", "helpful", "unhelpful", "accept", "favourite"] = Field(
        description="`accept` is an asker accepting an answer."
    )


class Post(Envelope):
    """A forum contribution: question, answer, comment or idea (community participation, co-creation)."""

    type: Literal["post"] = Field(description="Event family.")
    post_id: Id
    thread_id: Id
    parent_post_id: Id | None = None
    reply_to_customer_id: Id | None = Field(None, description="Whom this post answers, when known.")
    kind: Literal["question", "answer", "comment", "idea"]
    topic: Label
    brand: Label | None = None
    product_id: Id | None = None
    text: Text = ""
    lang: Lang | None = Field(None, description="ISO 639 language code of the text, if known (en, fr, pt-BR).")
    accepted: bool | None = Field(None, description="For answers: accepted by the asker.")
    mentions: list[Id] = Field(default_factory=list, max_length=MAX_MENTIONS, description="Customer ids mentioned.")


class Click(Envelope):
    """A clickstream hit: browsing, learning (docs, tutorials), purchases."""

    type: Literal["click"] = Field(description="Event family.")
    session_id: Id
    page_type: Literal[
        "product", "category", "search", "docs", "tutorial", "community", "cart", "checkout", "support", "other"
    ]
    action: Literal["view", "click", "search", "add_to_cart", "purchase", "share"]
    product_id: Id | None = None
    brand: Label | None = None
    category: Label | None = None
    dwell_ms: int | None = Field(None, ge=0, le=86_400_000, description="Time on page, at most a day.")
    order_value: float | None = Field(None, ge=0, le=1e9, description="Amount of a purchase, in the shop's currency.")


Event = Annotated[Union[Review, Vote, Post, Click], Field(discriminator="type")]
FAMILIES: dict[str, type[Envelope]] = {"review": Review, "vote": Vote, "post": Post, "click": Click}

#: One validator for every family: pydantic-core parses the raw bytes and picks the family from
#: `type` in a single pass, with no intermediate dict.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
